#!/usr/bin/env python3
"""Set up and run Kolekt, or its tests, on a machine with nothing but Python 3.11+.

    python3 service/bootstrap.py run    # .venv, requirements.txt, migrations, demo data; web + worker
    python3 service/bootstrap.py test   # .venv, requirements-dev.txt; the whole suite (pytest args pass on)

Standard library only: it runs before anything is installed. ``run`` installs what running needs
(requirements.txt), ``test`` that and the test tools (requirements-dev.txt: pytest, Playwright,
schemathesis, ruff, mypy ...); each again only when its files change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# What each command installs; the dev file includes the runtime's (-r requirements.txt).
REQUIREMENTS = {"run": ROOT / "requirements.txt", "test": ROOT / "requirements-dev.txt"}
DEMO_SMS_NUMBER = "35350"  # a short code, as Nigerian programmes have; set SMS_NUMBER for a real one
USAGE = "usage: python3 service/bootstrap.py run [--port N] | test [pytest arguments]"


def say(message: str) -> None:
    print(f"[kolekt] {message}", flush=True)


def run(*command: str | Path) -> None:
    result = subprocess.run([str(part) for part in command], cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"[kolekt] failed ({result.returncode}): {' '.join(map(str, command))}")


def ensure_environment(command: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"[kolekt] Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        say("creating the virtual environment in .venv")
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as error:
            sys.exit(
                f"[kolekt] could not create .venv ({error}); on Debian/Ubuntu: apt-get install python3-venv"
            )
    requirements = REQUIREMENTS[command]
    wanted = hashlib.sha256(b"".join(path.read_bytes() for path in REQUIREMENTS.values())).hexdigest()
    stamp = VENV / f".requirements-{command}.sha256"
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        what = "what running needs" if command == "run" else "what running and testing need"
        say(f"installing {what} from {requirements.name} (first time, or it changed)")
        run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-r", requirements)
        stamp.write_text(wanted)


def exec_in_venv(*arguments: str) -> None:
    """Replace this process, so signals (Ctrl-C) and the exit status belong to the command."""
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), *arguments])


def main(arguments: list[str]) -> None:
    if not arguments or arguments[0] not in {"run", "test"}:
        sys.exit(USAGE)
    ensure_environment(arguments[0])
    # The replies' translations, compiled from their catalogues (sms/locale).
    run(PYTHON, "-m", "sms.locale", "compile", "--quiet")
    if arguments[0] == "test":
        exec_in_venv("-m", "pytest", *arguments[1:])
    # The demo's own SMS number, so the collector app's "send by SMS" has one to offer.
    os.environ.setdefault("SMS_NUMBER", DEMO_SMS_NUMBER)
    say("migrating the database and loading demo data")
    run(PYTHON, "-m", "flask", "--app", "wsgi", "db", "upgrade")
    run(PYTHON, "-m", "flask", "--app", "wsgi", "seed-demo")
    exec_in_venv("-m", "flask", "--app", "wsgi", "serve", *arguments[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
