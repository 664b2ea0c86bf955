"""Kolekt's command line, run by the tests in processes of their own without paying Python's start-up
each time.

``python -m flask --app wsgi ...`` spends about four seconds importing Flask, SQLAlchemy, Twilio,
RQ and Kolekt before it reads its arguments; the CLI tests run it hundreds of times. This helper
process imports those once and then, for each command the tests ask for, forks a child that runs it
exactly as ``python -m flask`` would: ``flask.cli``'s own entry point with the arguments, the
environment, the working directory and the standard input asked for, its output in files, its exit
status reported. ``wsgi`` (which builds the app from the environment) is imported by the child, so
every command reads its own settings; nothing the parent configured is inherited but the imported
libraries. ``KOLEKT_CLI_SUBPROCESS=1`` makes the tests start a whole new interpreter each time instead.

Protocol (one JSON object a line on stdin; answers likewise on stdout): a request
``{"args", "env", "cwd", "stdin", "stdout", "stderr"}`` (paths; ``stdin`` may be null for an empty
input) is answered ``{"pid": n}`` when the child starts, then ``{"status": n}`` when it ends
(negative: killed by that signal).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import sys
import traceback
from typing import Any

# What ``python -m flask --app wsgi`` imports before it runs anything; none of it reads settings.
PRELOAD = ("flask.cli", "service", "service.cli", "service.jobs.worker", "twilio.rest")


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o600)
    os.dup2(opened, fd)
    os.close(opened)


def _exit_status(error: SystemExit) -> int:
    """What the interpreter makes of ``sys.exit(code)``."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)
    return 1


def _child(request: dict[str, Any]) -> None:
    """Run one command in this forked process, as ``python -m flask ARGS`` would, then exit."""
    status = 1
    try:
        _redirect(0, request["stdin"] or os.devnull, os.O_RDONLY)
        _redirect(1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        _redirect(2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["python -m flask", *request["args"]]
        from flask.cli import cli

        try:
            cli.main(args=request["args"], prog_name="python -m flask")
            status = 0
        except SystemExit as error:
            status = _exit_status(error)
        except BaseException:  # noqa: BLE001 - as the interpreter would: the traceback, exit 1
            traceback.print_exc()
            status = 1
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(status)


def serve() -> None:
    for name in PRELOAD:
        __import__(name)
    requests = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    while line := requests.readline():
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        _, wait_status = os.waitpid(pid, 0)
        answers.write(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}) + "\n")


if __name__ == "__main__":
    serve()
