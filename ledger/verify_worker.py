"""One segment of ``ledger.verify``'s chain walk, in a process of its own.

Started by ``verify(session, workers=n)`` as ``python -m ledger.verify_worker``: reads the task
(database URL, exported snapshot, first and last link) pickled on stdin and writes what it found,
pickled, on stdout. Not for running by hand.
"""

from __future__ import annotations

import pickle
import sys

from .walk import walk_in_snapshot


def main() -> None:
    url, snapshot, low, high = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 (from our parent)
    segment = walk_in_snapshot(url, snapshot, low, high)
    sys.stdout.buffer.write(pickle.dumps((segment.accounts, segment.problem)))


if __name__ == "__main__":
    main()
