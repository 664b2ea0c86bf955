"""Holds under concurrency on the store under test (two workers, each its own runtime): a hold is
decided once whoever races for it (two operators, an operator and the release job, an operator
and the collector's UNDO), held points are never spendable before their approval, and the ledger
still adds up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import ledger
from ledger import TransferRequest
from service.accounts import HOLDS, member_account
from service.cli.demo import seed_demo
from service.db import transaction
from service.models import collectors_t, households_t
from service.runtime import Runtime
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, holds, pickups
from service.usecases.households import get_member
from service.usecases.roles import get_collector
from service.usecases.screening import Screening
from sms import Line
from tests.fakes import FakeQueue

JOIN_TIMEOUT = 60.0
ROUNDS = 4
NOW = datetime.now(UTC).replace(microsecond=0)


def race(runtimes: list[Runtime], works: list[Callable[[UnitOfWork], str]]) -> list[str]:
    """Each work in its own runtime, started together; what each says happened."""
    barrier, results, errors = threading.Barrier(len(works)), [], []

    def run(runtime: Runtime, work: Callable[[UnitOfWork], str]) -> None:
        barrier.wait()
        try:
            results.append(runtime.transact(work, now=NOW))
        except BaseException as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(runtimes, works, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    assert errors == []
    return sorted(results)


def decided(action: Callable[[UnitOfWork], object]) -> Callable[[UnitOfWork], str]:
    def work(uow: UnitOfWork) -> str:
        try:
            action(uow)
        except (holds.HoldError, Refused):
            return "refused"
        return "done"

    return work


def release(uow: UnitOfWork, reference: str) -> None:
    """The release job's step for one hold (it says False when an operator got there first)."""
    if not holds.release(uow, reference):
        raise holds.HoldError("decided meanwhile")


def spend(code: str, amount: int, key: str) -> Callable[[UnitOfWork], str]:
    """A redemption's debit: the household's account may not go below nothing."""

    def work(uow: UnitOfWork) -> str:
        request = TransferRequest(member_account(code), "rewards:airtime", amount, "redemption", key)
        try:
            ledger.post(uow.session, request, now=uow.now)
        except ledger.InsufficientFunds:
            return "refused"
        return "spent"

    return work


class Programme:
    """The demo programme, with collector 1 living at household 1's address: each pickup of his
    there is held."""

    def __init__(self, settings: Settings) -> None:
        self.runtimes = [Runtime(settings, queue=lambda _redis: FakeQueue()) for _ in range(2)]
        with transaction(self.runtimes[0].sessions) as session:
            seed_demo(session)
            self.collector_id, self.household_id = 1, 1
            address = "4 Race Course Road"
            session.execute(collectors_t.update().where(collectors_t.c.id == 1).values(home_address=address))
            session.execute(households_t.update().where(households_t.c.id == 1).values(address=address))
            self.code = get_member(session, 1).member_code
        self.count = 0

    def held(self) -> str:
        self.count += 1

        def work(uow: UnitOfWork) -> str:
            collector = get_collector(uow.session, self.collector_id)
            assert collector is not None
            logged = pickups.log_pickup(
                uow.session,
                collector=collector,
                household=get_member(uow.session, self.household_id),
                lines=[Line("PET", 3000)],
                occurred_at=uow.now,
                received_at=uow.now,
                channel="app",
                dedupe_key=f"race:{self.count}",
                any_zone=True,
                screening=Screening(ZoneInfo("Africa/Lagos"), 7),
            )
            assert logged.held
            return logged.reference

        return str(self.runtimes[0].transact(work, now=NOW))

    def balance(self, code: str) -> int:
        with transaction(self.runtimes[0].sessions) as session:
            return ledger.balance(session, code).credit_balance

    def verify(self) -> None:
        with transaction(self.runtimes[0].sessions) as session:
            assert ledger.balance(session, HOLDS).credit_balance >= 0
            ledger.seal_all(session)
            report = ledger.verify(session)
        assert report.ok, report.problem

    def close(self) -> None:
        for runtime in self.runtimes:
            runtime.close()


def test_a_hold_is_decided_once_whoever_races_for_it(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    programme = Programme(make_settings(fresh_database()))
    try:
        rivals: list[tuple[Callable[[str], Callable[[UnitOfWork], object]], ...]] = [
            (
                lambda ref: lambda uow: holds.approve(uow, ref, "ada@hub"),
                lambda ref: lambda uow: holds.reject(uow, ref, "bola@hub", "not at the hub"),
            ),
            (
                lambda ref: lambda uow: holds.approve(uow, ref, "ada@hub"),
                lambda ref: lambda uow: release(uow, ref),
            ),
            (
                lambda ref: lambda uow: holds.reject(uow, ref, "bola@hub", "not at the hub"),
                lambda ref: lambda uow: pickups.undo(uow, programme.collector_id, ref),
            ),
        ]
        for first, second in rivals:
            for _ in range(ROUNDS):
                reference = programme.held()
                outcome = race(programme.runtimes, [decided(first(reference)), decided(second(reference))])
                assert outcome == ["done", "refused"], reference
        assert programme.balance(HOLDS) == 0
        programme.verify()
    finally:
        programme.close()


def test_held_points_are_never_spendable_before_their_approval(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    programme = Programme(make_settings(fresh_database()))
    try:
        account = member_account(programme.code)
        for round_number in range(ROUNDS):
            reference = programme.held()
            before = programme.balance(account)
            wanted = before + 1  # only affordable once the held credit (30 pts) is approved
            # Two spends at once while it is held: neither gets the held points.
            assert race(
                programme.runtimes,
                [
                    spend(programme.code, wanted, f"a:{round_number}"),
                    spend(programme.code, wanted, f"b:{round_number}"),
                ],
            ) == ["refused", "refused"]
            # A spend racing the approval: it gets them only if the approval committed first.
            outcome = race(
                programme.runtimes,
                [
                    decided(lambda uow, ref=reference: holds.approve(uow, ref, "ada@hub")),
                    spend(programme.code, wanted, f"c:{round_number}"),
                ],
            )
            spent = wanted if "spent" in outcome else 0
            assert "done" in outcome
            assert programme.balance(account) == before + 30 - spent >= 0
        programme.verify()
    finally:
        programme.close()
