"""Short human references: 4 to 6 characters a person can read out over the phone and type back.

The alphabet leaves out 0/O and 1/I so that none can be mistaken for another.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MIN_LENGTH = 4
MAX_LENGTH = 6
_ALLOWED = frozenset(ALPHABET)

# Candidates tried per transfer, shortest first. At a million transfers the 4-character space
# (about a million codes) is full and the 5-character ones take over; lengths grow with the ledger.
CANDIDATE_LENGTHS = (4, 4, 4, 5, 5, 6, 6)


def random_ref(length: int) -> str:
    # 256 is a multiple of 32: each random byte picks a character uniformly.
    return "".join(ALPHABET[byte % 32] for byte in secrets.token_bytes(length))


def candidates() -> list[str]:
    """One draw from the system's randomness for all of a transfer's candidates."""
    pool = secrets.token_bytes(sum(CANDIDATE_LENGTHS))
    found, start = [], 0
    for length in CANDIDATE_LENGTHS:
        found.append("".join(ALPHABET[byte % 32] for byte in pool[start : start + length]))
        start += length
    return found


def normalise(text: str) -> str | None:
    """The reference as stored, or None if the text cannot be one (wrong length or letters)."""
    ref = "".join(text.split()).upper()
    if not MIN_LENGTH <= len(ref) <= MAX_LENGTH or not set(ref) <= _ALLOWED:
        return None
    return ref
