"""``flask --app wsgi ussd simulate``: dial Kolekt's USSD menus from a terminal, as a phone does.

Each request goes through ``ussd.respond``, as Africa's Talking's callback does (the simulator's
code path: a new session per run, the answers so far sent whole each time). What a session's last
screen does (a redemption, a pickup logged) is done for real, in the database this runs on.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, ProgrammingError

import sms
from service.channels.simulator import USSD_SERVICE_CODE, dial_ussd, new_ussd_session
from service.cli.common import fail, no_schema, phone_of, runtime


@click.group("ussd", cls=AppGroup, help="USSD: try the menus from a terminal.")
def ussd_group() -> None:
    pass


class _Session:
    """One dialled session: each ``send`` sends every answer so far and prints the screen."""

    def __init__(self, phone: str) -> None:
        self.phone = phone
        self.session_id = new_ussd_session("CLI")
        self.answers: list[str] = []
        self.ended = False

    def send(self, answers: list[str]) -> None:
        try:
            screen = dial_ussd(runtime(), self.phone, self.session_id, answers)
        except (OperationalError, ProgrammingError) as error:
            no_schema(error)
        self.answers = answers
        self.ended = screen.startswith("END ")
        click.echo(screen)


def _read_answer(prompting: bool) -> str | None:
    """The next line typed, or None at the end of the input or on an empty line (hang up)."""
    if prompting:
        click.echo("> ", nl=False)
    line = sys.stdin.readline()
    if not line:
        return None
    typed = line.rstrip("\r\n")
    if not typed:
        return None
    if not prompting:
        click.echo(f"> {typed}")  # piped in: show what was answered beside each screen
    return typed


@ussd_group.command(
    "simulate",
    help="Dial the USSD code as --phone and print each screen. Without --answers, type each answer "
    "(an empty line or the end of the input hangs up); with --answers '1*4*1', send them in turn.",
)
@click.option("--phone", required=True, help="The phone that dials, e.g. +2348031234567.")
@click.option("--answers", default=None, help="Every answer of the session joined by *, e.g. 1*4*1.")
def ussd_simulate(phone: str, answers: str | None) -> None:
    dialled = _Session(phone_of(phone))
    click.echo(f"{dialled.phone} dials {USSD_SERVICE_CODE}")
    dialled.send([])
    if answers is not None:
        given = sms.ussd.inputs(answers)
        for count, answer in enumerate(given, 1):
            if dialled.ended:
                left = "*".join(given[count - 1 :])
                fail(f"the session ended at answer {count - 1}; not sent: {left}")
            click.echo(f"> {answer}")
            dialled.send(given[:count])
        return
    prompting = sys.stdin.isatty()
    while not dialled.ended:
        typed = _read_answer(prompting)
        if typed is None:
            click.echo("(hung up)")
            return
        dialled.send([*dialled.answers, typed])


USSD_GROUPS = (ussd_group,)
