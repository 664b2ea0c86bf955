#!/usr/bin/env python3
"""Set up and run Kolekt, or its tests, on a machine with nothing but Python 3.11+.

    python3 service/bootstrap.py run    # .venv, requirements, migrations, demo data; web + worker
    python3 service/bootstrap.py test   # .venv, requirements; the whole test suite (pytest args pass on)

Standard library only: it runs before anything is installed. Requirements are installed again
only when requirements.txt changes.
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
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
USAGE = "usage: python3 service/bootstrap.py run [--port N] | test [pytest arguments]"


def say(message: str) -> None:
    print(f"[kolekt] {message}", flush=True)


def run(*command: str | Path) -> None:
    result = subprocess.run([str(part) for part in command], cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"[kolekt] failed ({result.returncode}): {' '.join(map(str, command))}")


def ensure_environment() -> None:
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
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        say("installing requirements (first run, or requirements.txt changed)")
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PYTHON, "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS)
        STAMP.write_text(wanted)


def exec_in_venv(*arguments: str) -> None:
    """Replace this process, so signals (Ctrl-C) and the exit status belong to the command."""
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), *arguments])


def main(arguments: list[str]) -> None:
    if not arguments or arguments[0] not in {"run", "test"}:
        sys.exit(USAGE)
    ensure_environment()
    # The replies' translations, compiled from their catalogues (sms/locale).
    run(PYTHON, "-m", "sms.locale", "compile", "--quiet")
    if arguments[0] == "test":
        exec_in_venv("-m", "pytest", *arguments[1:])
    say("migrating the database and loading demo data")
    run(PYTHON, "-m", "flask", "--app", "wsgi", "db", "upgrade")
    run(PYTHON, "-m", "flask", "--app", "wsgi", "seed-demo")
    exec_in_venv("-m", "flask", "--app", "wsgi", "serve", *arguments[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
