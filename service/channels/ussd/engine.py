"""How a USSD session runs: screens on a stack, one answer at a time, the state kept in Redis, and
what a session does committed once, on its last screen.

A screen shows itself (``show``: its text) and takes an answer (``take``): to another screen
(``Go``, pushed on the stack), the same screen again with what was wrong (``Wrong``), or the end
of the session (``End``, its last text). ``0`` pops the stack (back) and ``00`` empties it to the
menu (top), on every screen. The state (the stack, each frame with the values gathered so far,
and the answers it has read) is JSON in Redis under the session's id, for ``STATE_TTL``.

Africa's Talking sends every answer of the session so far with each request. So a request whose
answers extend the stored ones runs only the new one; one that repeats them (the network sent it
again) gets the stored screen again; and when Redis has nothing (expired, or down), the session is
replayed from the menu, answer by answer. Only the last answer of a session can commit anything,
since committing ends it: a replay never commits twice what an earlier request did, and the
commit itself is keyed by the session's id (``commit``), so a session commits at most once
whatever is resent, replayed or raced.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.channels.conversation import Conversation
from service.db import insert_ignoring_conflict
from service.models import inbound_t, outbox_t
from service.outbox import Answering, language_of
from service.runtime import Runtime
from service.settings import Settings
from service.usecases import Refused, phones
from service.usecases.households import Member, member_by_phone
from service.usecases.roles import role_of
from sms import ussd

log = logging.getLogger("service").getChild("ussd")

PROVIDER = "ussd"
STATE_TTL = 300  # seconds: Africa's Talking ends a session after about three minutes
KEY_PREFIX = "kolekt:ussd:"

Data = dict[str, Any]


@dataclass(frozen=True)
class Go:
    screen: str
    data: Data = field(default_factory=dict)


@dataclass(frozen=True)
class Wrong:
    """The answer was refused: the screen again, led by ``error`` (its text, already said)."""

    error: str


@dataclass(frozen=True)
class End:
    text: str


Step = Go | Wrong | End


class Screen(Protocol):
    def show(self, ctx: Ctx, data: Data) -> str | End: ...

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step: ...


@dataclass
class Frame:
    screen: str
    data: Data


@dataclass
class State:
    answers: list[str]
    stack: list[Frame]
    last: str  # the last response sent, CON or END included
    ended: bool = False

    def dump(self) -> str:
        return json.dumps(
            {
                "answers": self.answers,
                "stack": [[frame.screen, frame.data] for frame in self.stack],
                "last": self.last,
                "ended": self.ended,
            }
        )

    @classmethod
    def load(cls, raw: bytes | str) -> State:
        found = json.loads(raw)
        return cls(
            list(found["answers"]),
            [Frame(screen, dict(data)) for screen, data in found["stack"]],
            str(found["last"]),
            bool(found["ended"]),
        )


@dataclass(frozen=True)
class Request:
    """One request of Africa's Talking's USSD API, read."""

    session_id: str
    service_code: str
    phone: str  # E.164
    network: str
    answers: list[str]


class UssdConversation(Conversation):
    """A handler's conversation whose reply to the dialler is the session's last screen, not a
    text: ``screen`` holds it. Texts to anyone else (a household's receipt) go as ever."""

    screen: str | None = None

    def reply(self, template: str, /, **values: object) -> None:
        if self.screen is None:
            programme = self.uow.settings.programme_name
            self.screen = sms.render(template, self.language, programme=programme, **values)


@dataclass
class Ctx:
    """What a screen may use: who dials, in which language, a read session, and ``commit``."""

    runtime: Runtime
    session: Session
    request: Request
    role: sms.Role
    actor_id: int | None
    language: str
    household: Member | None
    screens: Mapping[str, Screen]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def phone(self) -> str:
        return self.request.phone

    def say(self, key: str, /, **values: object) -> str:
        return sms.render(key, self.language, programme=self.settings.programme_name, **values)

    def commit(self, body: str, act: Callable[[UssdConversation], None], *, command: str) -> End:
        """Do what the session asked, once: ``act`` runs a handler (or a use case) in one unit of
        work with a row of ``inbound_messages`` keyed by the session's id, so a second try of the
        same session (resent, replayed, raced) finds the row and changes nothing. ``body`` is what
        the row shows (the dashboard's list of what a number sent). The handler's reply is the
        session's last screen; a refusal, why. If the database fails, nothing was done."""
        request = self.request

        def work(uow: Any) -> str | None:
            session = uow.session
            inbound_id = insert_ignoring_conflict(
                session,
                inbound_t,
                {
                    "provider": PROVIDER,
                    "provider_message_id": _key(request.session_id),
                    "sender": request.phone,
                    "recipient": request.service_code[:32],
                    "body": body[:2000],
                    "received_at": uow.now,
                    "status": "processed",
                    "processed_at": uow.now,
                    "command": command[:40],
                },
                conflict=("provider", "provider_message_id"),
                returning=inbound_t.c.id,
            )
            if inbound_id is None:
                return None
            role, actor_id = role_of(session, request.phone)
            language = phones.touch(session, request.phone, uow.now)  # locks the number's row
            uow.outbox.answering = Answering(int(inbound_id), request.phone)
            conversation = UssdConversation(
                uow=uow,
                sender=request.phone,
                role=role,
                language=language,
                household=member_by_phone(session, request.phone),
                inbound_id=int(inbound_id),
                actor_id=actor_id,
                channel="ussd",
            )
            try:
                act(conversation)
            except Refused as refusal:  # the use case wrote nothing: say why
                conversation.refused(refusal)
            uow.outbox.release()
            # A use case's own answer by text (JOIN's welcome, with the member code): shown too.
            return conversation.screen or _texted(session, uow.outbox.written, request.phone)

        try:
            self.session.close()  # no read transaction stays open beside the write
            said = self.runtime.transact(work)
        except Exception:
            log.exception("USSD session %s could not commit %s", request.session_id, command)
            return End(self.say("ussd_failed"))
        return End(said if said is not None else self.say("ussd_done_already"))


def _texted(session: Session, written: list[int], phone: str) -> str | None:
    """The last text this unit of work wrote to ``phone``, if any."""
    if not written:
        return None
    body = session.execute(
        select(outbox_t.c.body)
        .where(outbox_t.c.id.in_(written), outbox_t.c.to_phone == phone)
        .order_by(outbox_t.c.id.desc())
        .limit(1)
    ).scalar()
    return None if body is None else str(body)


def _key(session_id: str) -> str:
    """The session's id as ``inbound_messages`` keys it (64 characters at most)."""
    if len(session_id) <= 64:
        return session_id
    return "sha256:" + hashlib.sha256(session_id.encode()).hexdigest()[:57]


# --- running a request ---------------------------------------------------------------------------


def _show(ctx: Ctx, state: State, error: str | None = None) -> str:
    frame = state.stack[-1]
    shown = ctx.screens[frame.screen].show(ctx, frame.data)
    if isinstance(shown, End):
        state.ended = True
        return ussd.answer(shown.text, end=True)
    body = shown if error is None else ussd.with_error(error, shown, ctx.say("ussd_again"))
    return ussd.answer(body, end=False)


def _step(ctx: Ctx, state: State, root: str, answer: str) -> str:
    """One answer taken on the screen at the top of the stack; the response it gets."""
    state.answers.append(answer)
    if answer == ussd.TOP:
        state.stack = [Frame(root, {})]
        return _show(ctx, state)
    if answer == ussd.BACK:
        if len(state.stack) > 1:
            state.stack.pop()
        return _show(ctx, state)
    if len(answer) > ussd.MAX_ANSWER:
        return _show(ctx, state, ctx.say("ussd_too_long", limit=ussd.MAX_ANSWER))
    frame = state.stack[-1]
    taken = ctx.screens[frame.screen].take(ctx, dict(frame.data), answer)
    if isinstance(taken, End):
        state.ended = True
        return ussd.answer(taken.text, end=True)
    if isinstance(taken, Wrong):
        return _show(ctx, state, taken.error)
    state.stack.append(Frame(taken.screen, taken.data))
    return _show(ctx, state)


def _load(runtime: Runtime, session_id: str) -> State | None:
    try:
        raw = runtime.redis.get(KEY_PREFIX + session_id)
    except RedisError:
        log.warning("USSD state of %s unreadable: Redis is down; replaying", session_id)
        return None
    if raw is None:
        return None
    try:
        return State.load(raw)
    except (ValueError, KeyError, TypeError):
        log.warning("USSD state of %s unreadable; replaying", session_id)
        return None


def _save(runtime: Runtime, session_id: str, state: State) -> None:
    try:
        runtime.redis.set(KEY_PREFIX + session_id, state.dump(), ex=STATE_TTL)
    except RedisError:
        log.warning("USSD state of %s not kept: Redis is down (the next request replays)", session_id)


def respond_with(
    runtime: Runtime,
    request: Request,
    menus: Mapping[str, str],
    screens: Mapping[str, Screen],
) -> str:
    """The response to one request: ``CON ...`` or ``END ...``. ``menus`` names the first screen
    of each role (a role without one is told USSD is not for it)."""
    with runtime.readers() as session:
        role, actor_id = role_of(session, request.phone)
        ctx = Ctx(
            runtime=runtime,
            session=session,
            request=request,
            role=role,
            actor_id=actor_id,
            language=language_of(session, request.phone),
            household=member_by_phone(session, request.phone) if role == "household" else None,
            screens=screens,
        )
        root = menus.get(role)
        if root is None:
            return ussd.answer(ctx.say("ussd_not_for_role"), end=True)
        stored = _load(runtime, request.session_id)
        answers = request.answers
        if stored is not None and stored.answers == answers:
            return stored.last  # sent again by the network: the same screen, nothing done again
        if stored is not None and not stored.ended and answers[: len(stored.answers)] == stored.answers:
            state, new = stored, answers[len(stored.answers) :]
        else:
            state = State([], [Frame(root, {})], "")
            state.last = _show(ctx, state)
            new = answers
        for answer in new:
            if state.ended:
                break  # answers after the end of a session (a network's oddity) are not read
            state.last = _step(ctx, state, root, answer)
        _save(runtime, request.session_id, state)
        return state.last
