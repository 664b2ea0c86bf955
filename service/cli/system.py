"""``flask --app wsgi ...`` commands of the system: migrations, the ledger, demo data, the worker,
the embedded run, and the SMS channel (try a text, sweep the outbox).

Each command refuses bad arguments with a message and a non-zero exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from alembic import command
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

import ledger
import sms
from service import migrate
from service.channels.simulator import replies_to, simulate
from service.cli.common import fail, no_schema, runtime
from service.cli.demo import (
    COLLECTORS,
    DEMO_PASSWORD,
    DEMO_PIN,
    DEMO_USERS,
    seed_dashboard_demo,
    seed_demo,
    seed_demo_broadcast,
)
from service.jobs.sending import sweep_outbox
from service.jobs.worker import run_worker
from service.models import InboundMessage
from service.runtime import redis_url_of
from service.usecases import expiry, reports
from service.usecases.users import demo_users


@click.group("db", cls=AppGroup, help="Build or inspect the schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply every migration not yet applied (safe to repeat).")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    migrate.upgrade(runtime().settings.database_url, revision=revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade", help="Undo migrations down to REVISION (e.g. base). Development only.")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(runtime().settings.database_url, revision)
    click.echo(f"database at {revision}")


@db_group.command("current", help="Show the applied revision.")
def db_current() -> None:
    command.current(migrate.alembic_config(runtime().settings.database_url))


@click.group("ledger", cls=AppGroup, help="The points ledger: seal, verify, show the head.")
def ledger_group() -> None:
    pass


@ledger_group.command("seal", help="Chain every committed transfer that waits to be sealed.")
def ledger_seal() -> None:
    try:
        with runtime().unit_of_work() as uow:
            result = ledger.seal_all(uow.session)
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    click.echo(f"sealed {result.sealed}; head {result.head.count} {result.head.hash}")


@ledger_group.command("head", help="Print the published head: count and hash.")
def ledger_head() -> None:
    try:
        with runtime().unit_of_work() as uow:
            top = ledger.head(uow.session)
            pending = ledger.pending_count(uow.session)
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    click.echo(f"{top.count} {top.hash}" + (f" ({pending} waiting to be sealed)" if pending else ""))


@ledger_group.command("verify", help="Recompute the chain and every balance; non-zero exit if broken.")
@click.option("--no-seal", is_flag=True, help="Verify as it stands, without sealing waiting transfers first.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=os.cpu_count() or 1,
    show_default="the CPU count",
    help="Walk the chain in this many segments at once (PostgreSQL).",
)
def ledger_verify(no_seal: bool, workers: int) -> None:
    started = time.perf_counter()
    try:
        report = reports.check_and_record(runtime(), "cli", seal=not no_seal, workers=workers)
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    seconds = time.perf_counter() - started
    if report.ok:
        waiting = f", {report.pending} waiting to be sealed" if report.pending else ""
        click.echo(f"OK {report.count} transfers, head {report.head_hash} ({seconds:.2f}s{waiting})")
        return
    click.echo(f"BROKEN: {reports.problem_of(report)}", err=True)
    sys.exit(1)


@ledger_group.command(
    "expiring", help="What the next expiry date takes (POINTS_EXPIRE_MONTHS), and who was warned."
)
def ledger_expiring() -> None:
    current = runtime()
    months, local = current.settings.points_expire_months, current.settings.zone
    if not months:
        click.echo("points do not expire (POINTS_EXPIRE_MONTHS is 0)")
        return
    try:
        with current.unit_of_work() as uow:
            seen = expiry.outlook(uow.session, months, local, uow.now)
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    on, before = seen.expires_at.astimezone(local), seen.before.astimezone(local)
    click.echo(
        f"{on:%Y-%m-%d}: {seen.points:,} points of {seen.households:,} households expire unless spent "
        f"(earned before {before:%Y-%m-%d}; {months} months)"
    )
    click.echo(", ".join(f"warned {days} days before: {count:,}" for days, count in seen.warned.items()))


@click.command(
    "seed-demo",
    help="Add demo data: zones, collectors, households, rates, rewards, a shop, pickups (idempotent).",
)
@with_appcontext
def seed_demo_command() -> None:

    try:
        with runtime().unit_of_work() as uow:
            count = seed_demo(uow.session)
            seed_dashboard_demo(uow.session)
            seed_demo_broadcast(uow)
            result = ledger.seal_all(uow.session)
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    click.echo(
        f"demo data ready: {count} new demo pickups; ledger head {result.head.count} {result.head.hash[:16]}"
    )
    emails = ", ".join(email for email, _role in DEMO_USERS)
    click.echo(f"dashboard (/dashboard): {emails}; password {DEMO_PASSWORD}")
    phones = ", ".join(phone for phone, _name, _zone in COLLECTORS)
    click.echo(f"collector app (/app): phone {phones}; PIN {DEMO_PIN}")


@click.command("worker", help="Run an RQ worker on high, default and low, with the schedulers.")
@click.option(
    "--no-cron",
    is_flag=True,
    help="Do not run the clock for recurring jobs here (of several workers' clocks one leads anyway).",
)
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then stop.")
@with_appcontext
def worker(no_cron: bool, burst: bool) -> None:
    run_worker(runtime(), with_cron=not no_cron, burst=burst)


@click.command("serve", help="Run web, worker and schedulers together on this machine (the embedded run).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=lambda: int(os.environ.get("PORT", "5000")))
@click.option("--web-workers", type=click.IntRange(1, 16), default=2, show_default=True)
@with_appcontext
def serve(host: str, port: int, web_workers: int) -> None:
    # Holding the Redis connection here keeps the embedded server up for the children's lifetime.
    connection = runtime().redis
    try:
        connection.ping()
    except Exception as error:  # noqa: BLE001 - say what is wrong and stop
        fail(f"Redis is not reachable: {error}")
    env = {**os.environ, "REDIS_URL": redis_url_of(connection)}
    python = sys.executable
    commands = {
        "web": [
            python,
            "-m",
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            # Threads: a long export or "Verify ledger" holds up no other request, and gunicorn's
            # timeout only checks that the process is alive.
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "wsgi:app",
        ],
        "worker": [python, "-m", "flask", "--app", "wsgi", "worker"],
    }
    # The processes' own logs go to files: the console keeps the banner and what goes wrong.
    logs = runtime().settings.instance_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    files = {name: (logs / f"{name}.log").open("ab") for name in commands}
    children = {
        name: subprocess.Popen(command, env=env, stdout=files[name], stderr=subprocess.STDOUT)
        for name, command in commands.items()
    }

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    click.echo(banner(f"http://{host}:{port}", logs))
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        stopped = [name for name, child in children.items() if child.poll() is not None]
        for name in stopped:
            click.echo(f"--- the end of {logs / f'{name}.log'}:", err=True)
            click.echo(_tail(logs / f"{name}.log"), err=True)
        fail("stopped: " + ", ".join(stopped))
    except KeyboardInterrupt:
        click.echo("stopping Kolekt")
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        for file in files.values():
            file.close()


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def banner(base: str, logs: Path) -> str:
    """What the embedded run prints once: every way in, the demo's logins when the demo data is
    there, and where the logs are."""
    demo = demo_loaded()
    rows = [
        ("home", f"{base}/", ""),
        (
            "dashboard",
            f"{base}/dashboard",
            f"{DEMO_USERS[0][0]} (or operator@, checker@, auditor@), password {DEMO_PASSWORD}"
            if demo
            else "",
        ),
        ("phone simulator", f"{base}/simulator", "text as any phone, see every reply"),
        ("collector app", f"{base}/app", f"phone {COLLECTORS[0][0]}, PIN {DEMO_PIN}" if demo else ""),
        ("API docs", f"{base}/api/v1/docs", ""),
        ("logs", str(logs), "web.log, worker.log"),
    ]
    width = max(len(url) for _, url, _ in rows)
    lines = [f"    {name:<16}{url:<{width}}   {note}".rstrip() for name, url, note in rows]
    return "\n  Kolekt is running (Ctrl-C stops it)\n\n" + "\n".join(lines) + "\n"


def demo_loaded() -> bool:
    """Whether seed-demo ran on this database (its first dashboard user is there)."""
    with runtime().sessions() as session:
        return bool(demo_users(session))


@click.group("sms", cls=AppGroup, help="The SMS channel: try a text, look at the outbox.")
def sms_group() -> None:
    pass


@sms_group.command("simulate", help="Inject TEXT as if the phone --from sent it, and print every reply.")
@click.option("--from", "sender", required=True, help="The phone that sends it, e.g. +2348031234567.")
@click.argument("text")
def sms_simulate(sender: str, text: str) -> None:
    current = runtime()
    phone = sms.normalise_phone(sender, current.settings.phone_region)
    if phone is None:
        fail(f"--from {sender!r} is not a phone number (e.g. +2348031234567 or 08031234567)", 2)
    try:
        with current.unit_of_work() as uow:  # the schema is there (no traceback if not)
            uow.session.execute(select(InboundMessage.id).limit(0))
        result = simulate(current, phone, text)
        with current.unit_of_work() as uow:
            replies = replies_to(uow.session, result.inbound_id)
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    click.echo(f"{phone} > {text}   [{result.command}]")
    for reply in replies:
        click.echo(f"{reply.to_phone} < {reply.body}   [{reply.status}, {reply.segments} x {reply.encoding}]")
    if not replies:
        click.echo("(no reply)")


@sms_group.command(
    "sweep", help="Enqueue every outbox row no job is going to send (what the worker does each minute)."
)
def sms_sweep() -> None:
    try:
        count = sweep_outbox()
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)
    click.echo(f"enqueued {count} outbox rows")


SYSTEM_GROUPS = (db_group, ledger_group, sms_group, seed_demo_command, worker, serve)
