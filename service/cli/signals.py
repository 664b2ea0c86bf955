"""``flask --app wsgi signals ...``: pickups that may not be what they claim (issue 24), each with
its reasons in words, and the thresholds the programme's own data set."""

from __future__ import annotations

import click
from flask.cli import AppGroup

import sms
from service.cli.common import print_table, unit_of_work
from service.usecases import signals

NAMES = {"heavy": "a pickup's kg / the household's usual",
         "big_day": "a collector's day / the usual collector's day",
         "too_fast": "seconds between two households"}  # fmt: skip


@click.group("signals", cls=AppGroup, help="Pickups that may not be what they claim, with their reasons.")
def signals_group() -> None:
    pass


@signals_group.command("recent", help="The pickups of the last days that raise a signal, newest first.")
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True, help="How many days back.")
def signals_recent(days: int) -> None:
    with unit_of_work() as uow:
        local, p = uow.settings.zone, uow.settings.signal_percentile
        _, flagged = signals.recent(uow.session, uow.now, local, days=days, p=p)
    rows = [
        (f.pickup.reference or f"#{f.pickup.id}", f"{f.pickup.occurred_at.astimezone(local):%Y-%m-%d %H:%M}",
         f.collector, f.member_code or "-", sms.kg(f.pickup.grams), "; ".join(s.reason for s in f.signals))
        for f in flagged
    ]  # fmt: skip
    print_table(
        ("ref", "when", "collector", "member", "kg", "signals"), rows, f"no signals in the last {days} days"
    )


@signals_group.command("thresholds", help="Each signal's threshold, and how many it was learned from.")
def signals_thresholds() -> None:
    with unit_of_work() as uow:
        p = uow.settings.signal_percentile
        learned = signals.learn(signals.measure(signals.window(uow.session, uow.now), uow.settings.zone), p)
    rows = []
    for name, label in NAMES.items():
        value = getattr(learned, name)
        shown = f"{value:.1f}"
        samples = learned.samples[name]
        source = (
            f"{100 - p if name == 'too_fast' else p:g}th percentile of {samples:,}"
            if samples
            else "starting point"
        )
        rows.append((name, label, shown, source))
    usual = learned.usual_day
    rows.append(
        ("usual_day", "the median collector's day, kg", sms.kg(usual) if usual else "-", "last 28 days")
    )
    print_table(("signal", "measure", "threshold", "from"), rows, "")


SIGNALS_GROUPS = (signals_group,)
