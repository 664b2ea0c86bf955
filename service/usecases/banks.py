"""The banks Paystack pays into, cached per country, and the bank a household means by what it
types after ``BANK``.

- ``refresh`` keeps the ``banks`` table in step with Paystack's list (a daily job): new banks are
  added, renamed ones changed, ones no longer listed marked inactive. Never deleted: payout
  accounts name them.
- ``stale`` says when the list is due again (empty, or a day old).
- ``match`` reads "GTB", "gt bank", "058", "Zenit" or "guaranty trust" forgivingly, against the
  active banks only, and answers one bank, a few choices when the words fit several equally (never
  a guess), or nothing.
- ``display`` is the short name a text uses ("GTBank", "First Bank", "OPay"): at most 16 GSM-7
  characters, so every template that names a bank stays one segment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

import sms
from service.models import banks_t

DISPLAY_MAX = 16  # GSM-7 characters a text gives a bank's name
MAX_CHOICES = 3

# Words that say nothing about which bank: "Zenith Bank Plc" is "Zenith", "Sparkle Microfinance
# Bank" is "Sparkle", "First Bank of Nigeria" is "First".
FILLER = frozenset(
    {"BANK", "BANKS", "PLC", "LIMITED", "LTD", "NIGERIA", "NIG", "NG", "MICROFINANCE", "MFB", "OF"}
    | {"THE", "AND", "PSB"}
)


class Listed(Protocol):
    """A bank as the payout provider lists it (``service.providers.payouts.Bank``)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def active(self) -> bool: ...


class Found(NamedTuple):
    """A bank found in the cached list."""

    code: str  # Paystack's bank code, what a transfer recipient is made with
    name: str  # as Paystack lists it: "Guaranty Trust Bank"
    display: str  # as a text says it: "GTBank"


@dataclass(frozen=True)
class Match:
    """What ``match`` made of the words: one ``bank``; or ``choices`` (two or three) when they fit
    several banks equally; or neither when no active bank fits. ``rule`` says which rule found
    it: "code", "short", "name", "prefix" or "typo"."""

    bank: Found | None = None
    choices: tuple[Found, ...] = ()
    rule: str | None = None


class Refreshed(NamedTuple):
    """How many banks ``refresh`` added, changed (renamed, re-listed, ...) and retired."""

    added: int
    changed: int
    retired: int


@dataclass(frozen=True)
class ShortName:
    """A bank as people text it in Nigeria. ``words`` are what they type; ``names`` are the names
    (or slugs) Paystack has listed it under, old and new, so a renamed bank still resolves: the
    words are matched to the cached list by name, never by a code written here. A bank that is
    not ``fuzzy`` is found only by its own words (Access Bank (Diamond) by DIAMOND), never by a
    prefix or a typo of another's ("ACCES" is Access Bank)."""

    display: str
    words: tuple[str, ...]
    names: tuple[str, ...]
    fuzzy: bool = True


SHORT_NAMES: tuple[ShortName, ...] = (
    ShortName("GTBank", ("GTB", "GTBANK", "GT", "GUARANTY", "GTCO"), ("Guaranty Trust Bank",)),
    ShortName("UBA", ("UBA",), ("United Bank For Africa",)),
    ShortName("First Bank", ("FIRST", "FIRSTBANK", "FBN"), ("First Bank of Nigeria",)),
    ShortName("Zenith", ("ZENITH",), ("Zenith Bank",)),
    ShortName("Access", ("ACCESS",), ("Access Bank",)),
    ShortName("Access (Diamond)", ("DIAMOND",), ("Access Bank (Diamond)", "Diamond Bank"), fuzzy=False),
    ShortName("OPay", ("OPAY",), ("OPay Digital Services Limited (OPay)", "OPay", "paycom")),
    ShortName("PalmPay", ("PALMPAY", "PALM"), ("PalmPay",)),
    ShortName("Moniepoint", ("MONIEPOINT", "MONIE"), ("Moniepoint MFB",)),
    ShortName("Kuda", ("KUDA",), ("Kuda Bank", "Kuda Microfinance Bank")),
    ShortName("Fidelity", ("FIDELITY",), ("Fidelity Bank",)),
    ShortName("FCMB", ("FCMB", "FIRSTCITY"), ("First City Monument Bank",)),
    ShortName("Sterling", ("STERLING",), ("Sterling Bank",)),
    ShortName("Union Bank", ("UNION", "UBN"), ("Union Bank of Nigeria",)),
    ShortName("Wema", ("WEMA",), ("Wema Bank",)),
    ShortName("ALAT", ("ALAT",), ("ALAT by WEMA",)),
    ShortName("Stanbic", ("STANBIC", "IBTC"), ("Stanbic IBTC Bank",)),
    ShortName("Ecobank", ("ECOBANK", "ECO"), ("Ecobank Nigeria",)),
    ShortName("Polaris", ("POLARIS", "SKYE"), ("Polaris Bank", "Skye Bank")),
    ShortName("Keystone", ("KEYSTONE",), ("Keystone Bank",)),
    ShortName("Providus", ("PROVIDUS",), ("Providus Bank",)),
    ShortName("Jaiz", ("JAIZ",), ("Jaiz Bank",)),
    ShortName("Carbon", ("CARBON",), ("Carbon",)),
    ShortName("VFD", ("VFD", "VBANK"), ("VFD Microfinance Bank Limited", "vfd")),
    ShortName("Unity", ("UNITY",), ("Unity Bank",)),
    ShortName("Heritage", ("HERITAGE",), ("Heritage Bank",)),
    ShortName("Citibank", ("CITIBANK", "CITI"), ("Citibank Nigeria",)),
    ShortName("StanChart", ("STANCHART", "SCB"), ("Standard Chartered Bank",)),
    ShortName("Globus", ("GLOBUS",), ("Globus Bank",)),
    ShortName("Titan Trust", ("TITAN", "TITANTRUST"), ("Titan Bank", "Titan Trust Bank")),
    ShortName("Lotus Bank", ("LOTUS",), ("Lotus Bank",)),
    ShortName("TAJBank", ("TAJ", "TAJBANK"), ("TAJ Bank",)),
    ShortName("PremiumTrust", ("PREMIUMTRUST", "PREMIUM"), ("PremiumTrust Bank",)),
    ShortName("FairMoney", ("FAIRMONEY",), ("Fairmoney Microfinance Bank",)),
    ShortName("MoMo PSB", ("MOMO", "MTNMOMO", "MTN"), ("MTN Momo PSB",)),
    ShortName("SmartCash PSB", ("SMARTCASH",), ("Airtel Smartcash PSB",)),
    ShortName("9PSB", ("9PSB", "9MOBILE"), ("9mobile 9Payment Service Bank",)),
    ShortName("HopePSB", ("HOPE", "HOPEPSB"), ("HopePSB",)),
    ShortName("ReadyCash", ("READYCASH", "PARKWAY"), ("Parkway - ReadyCash",)),
    ShortName("Paga", ("PAGA",), ("Paga",)),
)


# --- words -----------------------------------------------------------------------------------------

_ALNUM = re.compile(r"[A-Z0-9]+")
_TYPED_MAX = 80  # a bank's words are short; anything longer is cut before matching


def _words(text: str) -> list[str]:
    """The letters and digits of ``text`` as upper-case ASCII words: case, spaces, dots, dashes,
    "&" and accents ignored ("g.t.-bank" is G, T, BANK; "Zénith" is ZENITH)."""
    folded = unicodedata.normalize("NFKD", text[:_TYPED_MAX]).encode("ascii", "ignore").decode()
    return _ALNUM.findall(folded.upper())


def _key(text: str) -> str:
    """The words that tell banks apart, run together: "Guaranty Trust Bank Plc" is GUARANTYTRUST,
    "first-bank-of-nigeria" is FIRST."""
    return "".join(word for word in _words(text) if word not in FILLER)


# Filler people run onto a name without a space (ZENITHBANK, KUDAMFB); not the short ones, which
# end too many words (STERLING does not end in NG).
_RUN_ON = ("BANK", "PLC", "LTD", "LIMITED", "MFB", "NIGERIA", "MICROFINANCE")


def _strip_run_on(squashed: str) -> str:
    """ZENITHBANKPLC -> ZENITH."""
    changed = True
    while changed:
        changed = False
        for filler in _RUN_ON:
            if squashed.endswith(filler) and len(squashed) >= len(filler) + 2:
                squashed = squashed[: -len(filler)]
                changed = True
    return squashed


def _typed_keys(text: str) -> list[str]:
    """The ways to read what was typed, best first: filler words dropped, everything run
    together, filler run onto the end dropped. Empty when nothing but filler was typed."""
    words = _words(text)
    first = "".join(word for word in words if word not in FILLER)
    if not first:
        return []
    keys = [first, "".join(words), _strip_run_on(first)]
    return list(dict.fromkeys(keys))


_SHORT_BY_WORD: dict[str, ShortName] = {}
_SHORT_BY_KEY: dict[str, ShortName] = {}
for _short in SHORT_NAMES:
    for _word in _short.words:
        if _word != "".join(_words(_word)) or _word in _SHORT_BY_WORD:
            raise ValueError(f"short name word {_word!r} is not plain or is listed twice")
        _SHORT_BY_WORD[_word] = _short
    for _name in _short.names:
        _SHORT_BY_KEY.setdefault(_key(_name), _short)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by at most one letter added, dropped, changed or two
    neighbours swapped (GTBNK/GTBANK, ACESS/ACCESS, ZENTIH/ZENITH)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        first, *rest = diffs
        return rest == [first + 1] and a[first] == b[first + 1] and a[first + 1] == b[first]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


# --- display ---------------------------------------------------------------------------------------

_DROPPED = frozenset({"BANK", "PLC", "LIMITED", "LTD"})
_DANGLING = frozenset({"OF", "AND", "FOR", "THE", "BY"})
_MICROFINANCE = frozenset({"MICROFINANCE", "MIRCOFINANCE", "MICROFINANACE"})


def _fits(text: str) -> bool:
    return sms.is_gsm7(text) and sms.segments(text).units <= DISPLAY_MAX


def display(name: str) -> str:
    """A bank's short name for a text, at most 16 GSM-7 characters: the known short name
    ("GTBank", "First Bank", "OPay"), else the name with Bank, Plc and Limited dropped,
    Microfinance said MFB, and cut at a word ("Sparkle MFB", "Lagos Building")."""
    known = _SHORT_BY_KEY.get(_key(name))
    if known is not None:
        return known.display
    plain = re.sub(r"\([^)]*\)", " ", sms.to_gsm7(name))
    words = []
    for word in plain.split():
        bare = word.strip(".,-&").upper()
        if bare and bare not in _DROPPED:
            words.append("MFB" if bare in _MICROFINANCE else word.rstrip(","))
    while words and words[0].upper() in _DANGLING:
        words.pop(0)
    if not words:  # nothing but "Bank", "Plc" ...: say the name as it is
        words = [word for word in sms.to_gsm7(name).split() if word.strip(".,-&")] or ["Bank"]
    kept: list[str] = []
    for word in words:
        if not _fits(" ".join([*kept, word])):
            break
        kept.append(word)
    while len(kept) > 1 and kept[-1].strip(".").upper() in _DANGLING:
        kept.pop()
    if kept:
        return " ".join(kept)
    first = words[0]  # one word longer than a text allows
    while not _fits(first):
        first = first[:-1]
    return first or "Bank"


# --- the cache -------------------------------------------------------------------------------------


def refresh(session: Session, banks: Sequence[Listed], country: str, now: datetime) -> Refreshed:
    """Brings the cached list of ``country``'s banks in step with ``banks`` (the provider's list):
    adds new codes, updates changed ones (name, slug, type, currency, active), marks banks no
    longer listed inactive, and stamps every listed bank ``refreshed_at = now``. A handful of
    statements whatever the list's length. An empty list is taken for a provider's hiccup, not
    for every bank closing: nothing changes and the list stays stale."""
    country = country.strip().lower()
    given: dict[str, Listed] = {}
    for bank in banks:
        code = bank.code.strip()
        if code and len(code) <= 20:
            given.setdefault(code, bank)
    if not given:
        return Refreshed(0, 0, 0)

    cached = {
        row.code: row
        for row in session.execute(
            select(
                banks_t.c.id,
                banks_t.c.code,
                banks_t.c.name,
                banks_t.c.slug,
                banks_t.c.kind,
                banks_t.c.currency,
                banks_t.c.active,
            ).where(banks_t.c.country == country)
        )
    }

    def values(bank: Listed) -> dict[str, object]:
        return {
            "name": bank.name.strip()[:120],
            "slug": bank.slug.strip()[:120],
            "kind": bank.type.strip()[:20],
            "currency": bank.currency.strip().upper()[:3],
            "active": bool(bank.active),
        }

    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for code, bank in given.items():
        new = values(bank)
        row = cached.get(code)
        if row is None:
            inserts.append({"country": country, "code": code, "refreshed_at": now, **new})
        elif any(getattr(row, column) != value for column, value in new.items()):
            updates.append({"row_id": row.id, **{f"new_{k}": v for k, v in new.items()}})
    retired = [row.id for code, row in cached.items() if row.active and code not in given]

    if inserts:
        session.execute(insert(banks_t), inserts)
    if updates:
        session.execute(
            update(banks_t)
            .where(banks_t.c.id == bindparam("row_id"))
            .values(
                name=bindparam("new_name"),
                slug=bindparam("new_slug"),
                kind=bindparam("new_kind"),
                currency=bindparam("new_currency"),
                active=bindparam("new_active"),
            ),
            updates,
        )
    if retired:
        session.execute(update(banks_t).where(banks_t.c.id.in_(retired)).values(active=False))
    session.execute(
        update(banks_t)
        .where(banks_t.c.country == country, banks_t.c.code.in_(list(given)))
        .values(refreshed_at=now)
    )
    return Refreshed(len(inserts), len(updates), len(retired))


def stale(session: Session, country: str, now: datetime, max_age: timedelta = timedelta(days=1)) -> bool:
    """Whether ``country``'s list is due a refresh: no active bank cached, or the last refresh
    ``max_age`` ago or more."""
    latest = session.execute(
        select(func.max(banks_t.c.refreshed_at)).where(
            banks_t.c.country == country.strip().lower(), banks_t.c.active.is_(True)
        )
    ).scalar_one()
    return latest is None or now - latest >= max_age


def listed(session: Session, country: str = "nigeria") -> list[Found]:
    """The active banks of ``country``, by name (for a picker on a page)."""
    rows = session.execute(
        select(banks_t.c.code, banks_t.c.name)
        .where(banks_t.c.country == country.strip().lower(), banks_t.c.active.is_(True))
        .order_by(banks_t.c.name, banks_t.c.code)
    )
    return [Found(code, name, display(name)) for code, name in rows]


def by_code(session: Session, code: str, country: str = "nigeria") -> Found | None:
    """The active bank with this code, or None."""
    row = session.execute(
        select(banks_t.c.code, banks_t.c.name).where(
            banks_t.c.country == country.strip().lower(),
            banks_t.c.code == code.strip(),
            banks_t.c.active.is_(True),
        )
    ).first()
    return None if row is None else Found(row.code, row.name, display(row.name))


# --- matching --------------------------------------------------------------------------------------


class _Candidates:
    """The active banks, indexed by the keys of their names and slugs, and by the short names
    that fit them (``SHORT_NAMES`` are Nigeria's: elsewhere, none)."""

    def __init__(self, rows: Iterable[tuple[str, str, str]], short_names: bool) -> None:
        self.banks: list[Found] = []
        self.short: list[ShortName | None] = []
        self.by_key: dict[str, set[int]] = {}
        self.by_short: dict[ShortName, set[int]] = {}
        for index, (code, name, slug) in enumerate(rows):
            self.banks.append(Found(code, name, display(name)))
            keys = {_key(name), _key(slug)} - {""}
            short = next((_SHORT_BY_KEY[k] for k in sorted(keys) if k in _SHORT_BY_KEY), None)
            short = short if short_names else None
            self.short.append(short)
            for k in keys:
                self.by_key.setdefault(k, set()).add(index)
            if short is not None:
                self.by_short.setdefault(short, set()).add(index)
        # What a prefix or a typo may reach: names, slugs and short words, but a bank that is
        # not fuzzy only by its own short words.
        fuzzy = [short is None or short.fuzzy for short in self.short]
        self.pool: list[tuple[str, int]] = [
            (k, index) for k, indexes in self.by_key.items() for index in indexes if fuzzy[index]
        ]
        for word, known in _SHORT_BY_WORD.items():
            self.pool.extend((word, index) for index in self.by_short.get(known, ()))

    def answer(self, found: set[int], rule: str) -> Match:
        if len(found) == 1:
            return Match(bank=self.banks[found.pop()], rule=rule)
        ranked = sorted(
            found,
            key=lambda i: (self.short[i] is None, len(self.banks[i].name), self.banks[i].name),
        )
        return Match(choices=tuple(self.banks[i] for i in ranked[:MAX_CHOICES]), rule=rule)


def match(session: Session, words: str, country: str = "nigeria") -> Match:
    """The active bank ``words`` name, tried in this order: a bank code typed exactly ("058"); a
    short name people text in Nigeria (GTB, UBA, FIRST, OPAY, ...: ``SHORT_NAMES``; a bank the
    table knows that is not listed is not looked for further); the bank's name or slug
    with Bank, Plc, Nigeria, Limited, Microfinance ... ignored; the start of a name (ZENIT); one
    letter wrong, missing, extra or swapped (GTBNK, ACESS). Case, spaces, dots, dashes and "&"
    never matter. Words that fit several banks equally give ``choices``, never a guess."""
    country = country.strip().lower()
    typed = "".join(words[:_TYPED_MAX].split()).upper()
    rows = session.execute(
        select(banks_t.c.code, banks_t.c.name, banks_t.c.slug).where(
            banks_t.c.country == country, banks_t.c.active.is_(True)
        )
    ).all()
    short_names = country == "nigeria"
    candidates = _Candidates(((code, name, slug) for code, name, slug in rows), short_names)

    if typed:
        coded = {i for i, bank in enumerate(candidates.banks) if bank.code.upper() == typed}
        if coded:
            return candidates.answer(coded, "code")

    keys = _typed_keys(words)
    if not keys:
        return Match()

    known_elsewhere = False
    for k in keys if short_names else ():
        short = _SHORT_BY_WORD.get(k)
        if short is not None:
            found = set(candidates.by_short.get(short, ()))
            if found:
                return candidates.answer(found, "short")
            known_elsewhere = True  # a bank people know, not (or no longer) on the list
            break

    for k in keys:
        if k in candidates.by_key:
            return candidates.answer(set(candidates.by_key[k]), "name")
    if known_elsewhere:
        return Match()

    for k in keys:
        if len(k) >= 3:
            found = {index for key, index in candidates.pool if key.startswith(k)}
            if found:
                return candidates.answer(found, "prefix")
    for k in keys:
        if len(k) >= 4:
            found = {index for key, index in candidates.pool if _one_edit(k, key)}
            if found:
                return candidates.answer(found, "typo")
    return Match()
