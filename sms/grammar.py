"""Reading what people type on basic phones, in a hurry (docs/sms-protocol.md, "How a text is
read").

``parse(text, role)`` returns a command (``sms.commands``) or a ``ParseError``, never raises, and
never guesses wrong: a keyword one typo away from exactly one command is taken, a member code
whose check letter fails is refused, a weight with more than three decimals is an error and not
a rounding. Opting out is never guessed: only a whole message that is an opt-out word stops texts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from .commands import (
    CASH,
    LANGUAGES,
    Balance,
    Bank,
    Check,
    Command,
    Confirm,
    Dispute,
    Help,
    History,
    Impact,
    Join,
    Language,
    Line,
    Log,
    Member,
    ParseError,
    Pickup,
    Pin,
    Rate,
    Redeem,
    Register,
    Rewards,
    Role,
    Route,
    Skip,
    Start,
    Statement,
    Stop,
    Suggest,
    Terms,
    Today,
    TopUp,
    Undo,
    Verify,
    Vote,
    Zone,
)
from .gsm import LOOKALIKES
from .member_codes import looks_like_member_code, parse_member_code
from .phones import DEFAULT_REGION, looks_like_phone, normalise_phone

MAX_LENGTH = 1600
MAX_LINES = 12
REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # the ledger's (a test keeps the two equal)
PIN_LENGTHS = range(4, 7)  # service.tokens's (a test keeps the two equal)
# LANG takes a language's code or its name.
LANGUAGE_WORDS = {
    **{code: code for code in LANGUAGES},
    **{"ENGLISH": "EN", "PIDGIN": "PCM", "YORUBA": "YO", "HAUSA": "HA", "IGBO": "IG"},
    # what people call them in their own words: Naija (Pidgin), English in Yoruba, Hausa and Igbo
    **{"NAIJA": "PCM", "GEESI": "EN", "TURANCI": "EN", "BEKEE": "EN"},
}

HOUSEHOLD_COMMANDS = (
    "JOIN",
    "BAL",
    "HIST",
    "PICKUP",
    "SKIP",
    "REWARDS",
    "REDEEM",
    "BANK",
    "NO",
    "YES",
    "CHECK",
    "RATE",
    "LANG",
    "HELP",
    "TERMS",
    "TOPUP",
    "IMPACT",
    "ZONE",
    "STATEMENT",
    "SUGGEST",
    "VOTE",
    "STOP",
    "START",
)
COLLECTOR_COMMANDS = (
    "LOG",
    "UNDO",
    "NEW",
    "ROUTE",
    "TODAY",
    "ZONE",
    "PIN",
    "CHECK",
    "BAL",
    "LANG",
    "HELP",
    "TERMS",
    "STOP",
    "START",
)
PARTNER_COMMANDS = ("VERIFY", "CHECK", "LANG", "HELP", "TERMS", "STOP", "START")
ALLOWED: Mapping[str, tuple[str, ...]] = {
    "household": HOUSEHOLD_COMMANDS,
    "collector": COLLECTOR_COMMANDS,
    "partner": PARTNER_COMMANDS,
}

# Whole messages that opt out of every text, and that opt back in: the carriers' and Twilio's
# words, and each language's word for stop and start. Never matched with a typo, never as the first
# word of a longer text ("TOP UP", "STOP the noise"): as the whole message only.
OPT_OUT_WORDS: Mapping[str, str | None] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), None),
    "DURO": "YO",
    "TSAYA": "HA",
    "KWUSI": "IG",
}
OPT_IN_WORDS: Mapping[str, str | None] = {
    **dict.fromkeys(("START", "UNSTOP", "YES"), None),
    "BERE": "YO",
    "FARA": "HA",
    "MALITE": "IG",
}

# Words that mean a command, beyond its own name, in the languages households use, and the
# language of each that is not English (a household that JOINs in Hausa words is answered in
# Hausa). Defaults to be read by native speakers; a material word may not be one of them.
LOCAL_KEYWORDS: Mapping[str, tuple[str, str | None]] = {
    "BALANCE": ("BAL", None),
    "POINTS": ("BAL", None),
    "HISTORY": ("HIST", None),
    "REGISTER": ("JOIN", None),
    "REWARD": ("REWARDS", None),
    "INFO": ("HELP", None),
    "PICK": ("PICKUP", None),
    "LANGUAGE": ("LANG", None),
    "TERM": ("TERMS", None),
    "RULES": ("TERMS", None),
    "TOP": ("TOPUP", None),
    "RECHARGE": ("TOPUP", None),
    "AIRTIME": ("TOPUP", None),
    # Nigerian Pidgin
    "WETIN": ("BAL", "PCM"),
    "HELEP": ("HELP", "PCM"),
    "CARRY": ("PICKUP", "PCM"),
    "ABEG": ("HELP", "PCM"),
    # Yoruba
    "OWO": ("BAL", "YO"),
    "DARAPO": ("JOIN", "YO"),
    "ITAN": ("HIST", "YO"),
    "IRANLOWO": ("HELP", "YO"),
    "EBUN": ("REWARDS", "YO"),
    "GBE": ("PICKUP", "YO"),
    "EDE": ("LANG", "YO"),
    # Hausa
    "KUDI": ("BAL", "HA"),
    "SHIGA": ("JOIN", "HA"),
    "TARIHI": ("HIST", "HA"),
    "TAIMAKO": ("HELP", "HA"),
    "KYAUTA": ("REWARDS", "HA"),
    "DAUKA": ("PICKUP", "HA"),
    "HARSHE": ("LANG", "HA"),
    # Igbo
    "EGO": ("BAL", "IG"),
    "SONYE": ("JOIN", "IG"),
    "AKUKO": ("HIST", "IG"),
    "ENYEMAKA": ("HELP", "IG"),
    "ONYINYE": ("REWARDS", "IG"),
    "BURU": ("PICKUP", "IG"),
    "ASUSU": ("LANG", "IG"),
}
DEFAULT_KEYWORDS: Mapping[str, str] = {word: command for word, (command, _) in LOCAL_KEYWORDS.items()}
KEYWORD_LANGUAGES: Mapping[str, str] = {
    word: language for word, (_, language) in LOCAL_KEYWORDS.items() if language is not None
}

# Material words of Pidgin and Nigerian English, Yoruba, Hausa and Igbo (migration 0009 gives them
# to programmes made before them). Defaults to be read by native speakers.
LOCAL_MATERIALS: Mapping[str, str] = {
    # Pidgin and Nigerian English
    "TIN": "ALU",
    "TINS": "ALU",
    "RUBBER": "HDPE",
    "KEG": "HDPE",
    "KEGS": "HDPE",
    # Yoruba
    "IGO": "PET",
    "ORA": "SACHET",
    "AGOLO": "ALU",
    "IWE": "PAPER",
    "GILAASI": "GLASS",
    # Hausa
    "KWALBA": "PET",
    "LEDA": "SACHET",
    "GWANGWANI": "ALU",
    "JARKA": "HDPE",
    "TAKARDA": "PAPER",
    "GILASHI": "GLASS",
    # Igbo
    "KARAMA": "PET",
    "NAILON": "SACHET",
    "AKWUKWO": "PAPER",
    "IKO": "GLASS",
}

DEFAULT_MATERIALS: Mapping[str, str] = {
    **dict.fromkeys(("PET", "BOTTLE", "BOTTLES", "PLASTIC", "PLASTICS"), "PET"),
    **dict.fromkeys(
        ("SACHET", "SACHETS", "PURE WATER", "PUREWATER", "PW", "NYLON SACHET", "NYLON"), "SACHET"
    ),
    **dict.fromkeys(("ALU", "CAN", "CANS", "ALUMINIUM", "ALUMINUM"), "ALU"),
    **dict.fromkeys(("HDPE", "JERRYCAN", "JERRYCANS"), "HDPE"),
    **dict.fromkeys(("PAPER", "CARTON", "CARTONS", "CARDBOARD"), "PAPER"),
    **dict.fromkeys(("GLASS", "JAR", "JARS"), "GLASS"),
    **LOCAL_MATERIALS,
}


@dataclass(frozen=True)
class Vocabulary:
    """What a programme's people may type: materials and their synonyms (upper case, one or two
    words), extra command words, the largest weight one line may carry, the phone region."""

    materials: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MATERIALS))
    keywords: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    max_grams_per_line: int = 200_000
    region: str = DEFAULT_REGION


DEFAULT_VOCABULARY = Vocabulary()

# Quotes, dashes and spaces a phone's keyboard or autocorrect puts in place of the plain ones.
_LOOKALIKES = str.maketrans(LOOKALIKES)


def clean(text: str) -> str:
    """Drop what carries no meaning: invisible format characters, emoji and other symbols; unify
    look-alike quotes, dashes and spaces; NFKC (full-width digits become digits)."""
    text = unicodedata.normalize("NFKC", text.translate(_LOOKALIKES))
    kept = []
    for character in text:
        category = unicodedata.category(character)
        if category in ("Cf", "Co", "Cs", "Cn", "So", "Sk") or (category == "Cc" and character not in "\n\t"):
            continue
        kept.append(" " if category == "Zs" or character in "\n\t" else character)
    return "".join(kept).strip()


# Separators between words; '.' and ',' only when not between two digits (4.5 and 4,5 are weights).
_SEPARATORS = re.compile(r"[:;\s\"'()]+|(?<!\d)[.,]+|[.,]+(?!\d)|(?<![\d])-+|-+(?![\d])")
_KEYWORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> list[str]:
    return [word for word in _SEPARATORS.split(text) if word]


def _one_typo(a: str, b: str) -> bool:
    """Within one edit: a letter changed, added or dropped, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


ALLOWED_NAMES: Mapping[str, str] = {command: command for commands in ALLOWED.values() for command in commands}


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


# Words of three letters or more by what each becomes with one letter dropped (or none): two words
# one typo apart always share one of these, so only those few are compared. Per set of words.
_NEAR: dict[int, tuple[Mapping[str, str], dict[str, set[str]]]] = {}


def _near(word: str, names: Mapping[str, str]) -> set[str]:
    """The words of ``names`` that may be one typo from ``word`` (a superset; ``_one_typo`` says)."""
    cached = _NEAR.get(id(names))
    if cached is None or cached[0] is not names:
        index: dict[str, set[str]] = {}
        for name in names:
            if len(name) >= 3:
                for key in _deletions(name):
                    index.setdefault(key, set()).add(name)
        if len(_NEAR) > 64:
            _NEAR.clear()
        cached = _NEAR[id(names)] = (names, index)
    found: set[str] = set()
    for key in _deletions(word):
        found |= cached[1].get(key, set())
    return found


_NAMES: dict[int, tuple[Mapping[str, str], Mapping[str, str]]] = {}


def _all_names(keywords: Mapping[str, str]) -> Mapping[str, str]:
    """Every command's name and every other word for one, for one vocabulary's keywords (kept)."""
    cached = _NAMES.get(id(keywords))
    if cached is None or cached[0] is not keywords:
        if len(_NAMES) > 64:
            _NAMES.clear()
        cached = _NAMES[id(keywords)] = (keywords, {**ALLOWED_NAMES, **keywords})
    return cached[1]


def _command_for(word: str, role: Role, vocabulary: Vocabulary) -> str | ParseError:
    allowed = ALLOWED[role]
    names = _all_names(vocabulary.keywords)
    exact = names.get(word)
    if exact is not None:
        if exact in allowed:
            return exact
        if exact == "PIN":
            # Someone who is not a collector has no app PIN: say what PIN is for.
            return ParseError("pin_not_for_role", {}, command=exact)
        return ParseError("not_for_role", {"command": exact}, command=exact)
    if len(word) >= 3:
        # A typo never opts anyone out (nor in): those words count only whole and exact. A
        # command's own name is tried before the other words (LGO is LOG before it is EGO).
        open_to = set(allowed) - {"STOP", "START"}
        for candidates in (ALLOWED_NAMES, names):
            close = {candidates[name] for name in _near(word, candidates) if _one_typo(word, name)}
            close &= open_to
            if len(close) == 1:
                return close.pop()
            if close:
                break
    return ParseError("unknown_command", {"word": word[:20]})


def _ref(word: str | None, command: str) -> str | ParseError:
    if word is None:
        return ParseError("missing_ref", {"command": command}, command=command)
    ref = word.upper()
    if not 4 <= len(ref) <= 6 or not set(ref) <= set(REF_ALPHABET):
        return ParseError("bad_ref", {"command": command, "ref": ref[:8]}, command=command)
    return ref


def _rest_after(words: list[str], count: int, original: str) -> str | None:
    """The text after the first ``count`` words, as the person typed it (case and commas kept)."""
    position = 0
    for word in words[:count]:
        position = original.index(word, position) + len(word)
    rest = original[position:].strip(" :;,.-")
    return rest or None


def _name_and_address(text: str | None, command: str) -> tuple[str, str | None] | ParseError:
    if not text:
        return ParseError("missing_name", {"command": command}, command=command)
    typed_name, _, typed_address = text.partition(",")
    name = " ".join(typed_name.split())[:60]
    address = " ".join(typed_address.split())[:120]
    if not any(character.isalpha() for character in name):
        return ParseError("missing_name", {"command": command}, command=command)
    return name, address or None


def _phone_at_start(words: list[str], region: str) -> tuple[str, int] | None:
    """A phone number typed as one word or spread over up to four (0803 123 4567)."""
    for count in range(min(4, len(words)), 0, -1):
        joined = "".join(words[:count])
        if looks_like_phone(joined):
            phone = normalise_phone(joined, region)
            if phone is not None:
                return phone, count
    return None


# --- LOG -------------------------------------------------------------------------------------------

_NUMBER = r"\d+(?:[.,]\d+)?"
_UNITS = {"KG": "KG", "KGS": "KG", "KILO": "KG", "KILOS": "KG", "G": "G"}
_WEIGHT = re.compile(rf"^({_NUMBER})([A-Z]*)$")
_MATERIAL_THEN_WEIGHT = re.compile(rf"^([A-Z]+)({_NUMBER})([A-Z]*)$")
_SEQ = re.compile(r"^#(\d{1,9})$")


def _grams(number: str, unit: str, limit: int) -> int | ParseError:
    try:
        value = Decimal(number.replace(",", "."))
    except InvalidOperation:
        return ParseError("bad_weight", {"weight": number}, command="LOG")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        return ParseError("too_many_decimals", {"weight": number}, command="LOG")
    grams = value if unit == "G" else value * 1000
    if grams != grams.to_integral_value():
        return ParseError("too_many_decimals", {"weight": number}, command="LOG")
    if grams <= 0:
        return ParseError("bad_weight", {"weight": number}, command="LOG")
    if grams > limit:
        return ParseError("weight_too_large", {"weight": number, "limit": str(limit // 1000)}, command="LOG")
    return int(grams)


@dataclass
class _Weight:
    number: str
    unit: str = ""


def _items(words: list[str], vocabulary: Vocabulary) -> tuple[list[str | _Weight], int | None] | ParseError:
    """The words of a LOG as materials (codes) and weights, glued ones split, and the #seq."""
    items: list[str | _Weight] = []
    seq: int | None = None
    upper = [word.upper() for word in words]
    index = 0
    while index < len(upper):
        word = upper[index]
        if word == "#" and index + 1 < len(upper) and upper[index + 1].isdigit():
            index += 1
            word = "#" + upper[index]
        two = f"{word} {upper[index + 1]}" if index + 1 < len(upper) else ""
        if seq_match := _SEQ.match(word):
            seq = int(seq_match.group(1))
        elif word in _UNITS and items and isinstance(items[-1], _Weight) and not items[-1].unit:
            items[-1].unit = _UNITS[word]  # "4.5 kg": the unit apart from its number
        elif two in vocabulary.materials:
            items.append(vocabulary.materials[two])
            index += 1
        elif word in vocabulary.materials:
            items.append(vocabulary.materials[word])
        elif weight := _WEIGHT.match(word):
            letters = weight.group(2)
            # 4.5, 4.5KG, 4.5PET, 4.5KGPET: the letters are a unit, a material, or both.
            splits = [(letters[: len(u)], letters[len(u) :]) for u in ("", *_UNITS) if letters.startswith(u)]
            for unit, material in splits:
                if (unit == "" or unit in _UNITS) and (material == "" or material in vocabulary.materials):
                    items.append(_Weight(weight.group(1), _UNITS.get(unit, "")))
                    if material:
                        items.append(vocabulary.materials[material])
                    break
            else:
                return ParseError("unknown_material", {"material": letters[:20]}, command="LOG")
        elif glued := _MATERIAL_THEN_WEIGHT.match(word):
            material, number, unit = glued.groups()
            if material not in vocabulary.materials:
                return ParseError("unknown_material", {"material": material[:20]}, command="LOG")
            if unit and unit not in _UNITS:
                return ParseError("bad_weight", {"weight": word[:20]}, command="LOG")
            items += [vocabulary.materials[material], _Weight(number, _UNITS.get(unit, ""))]
        else:
            return ParseError("unknown_material", {"material": words[index][:20]}, command="LOG")
        index += 1
    return items, seq


def _lines(words: list[str], vocabulary: Vocabulary) -> tuple[tuple[Line, ...], int | None] | ParseError:
    """Material and weight pairs in either order (PET 4.5 or 4.5 PET), glued or apart."""
    found = _items(words, vocabulary)
    if isinstance(found, ParseError):
        return found
    items, seq = found
    if not items:
        return ParseError("missing_lines", {}, command="LOG")
    if len(items) % 2:
        return ParseError("unpaired_weight", {}, command="LOG")
    weight_first = isinstance(items[0], _Weight)
    totals: dict[str, int] = {}
    for first, second in zip(items[::2], items[1::2], strict=True):
        weight, material = (first, second) if weight_first else (second, first)
        if not isinstance(weight, _Weight) or not isinstance(material, str):
            return ParseError("unpaired_weight", {}, command="LOG")
        grams = _grams(weight.number, weight.unit, vocabulary.max_grams_per_line)
        if isinstance(grams, ParseError):
            return grams
        totals[material] = totals.get(material, 0) + grams
        if totals[material] > vocabulary.max_grams_per_line:
            limit = str(vocabulary.max_grams_per_line // 1000)
            return ParseError("weight_too_large", {"weight": material, "limit": limit}, command="LOG")
    if len(totals) > MAX_LINES:
        return ParseError("too_many_lines", {"limit": str(MAX_LINES)}, command="LOG")
    return tuple(Line(material, grams) for material, grams in totals.items()), seq


def _log(words: list[str], vocabulary: Vocabulary) -> Command | ParseError:
    if not words:
        return ParseError("missing_member", {}, command="LOG")
    member: Member
    phone = _phone_at_start(words, vocabulary.region)
    if phone is not None:
        member, used = Member(phone=phone[0]), phone[1]
    else:
        code = parse_member_code(words[0])
        if code is None:
            if looks_like_member_code(words[0]):
                return ParseError("bad_member_code", {"code": words[0].upper()[:12]}, command="LOG")
            return ParseError("missing_member", {"word": words[0][:20]}, command="LOG")
        member, used = Member(code=code), 1
    lines = _lines(words[used:], vocabulary)
    if isinstance(lines, ParseError):
        return lines
    return Log(member, *lines)


# --- PIN ---------------------------------------------------------------------------------------------


def _pin(words: list[str]) -> Command | ParseError:
    """PIN and 4 to 6 digits, nothing else. A refusal never carries what was typed: its reply
    must not repeat a PIN, even a mistyped one."""
    if not words:
        return ParseError("missing_pin", {}, command="PIN")
    digits = words[0]
    if len(words) > 1 or not (digits.isascii() and digits.isdigit()) or len(digits) not in PIN_LENGTHS:
        return ParseError("bad_pin", {}, command="PIN")
    return Pin(digits)


# --- BANK --------------------------------------------------------------------------------------------

NUBAN_DIGITS = 10  # a Nigerian account number (NUBAN)
# An account number as one word: 0123456789, 012-345-6789, 012.345.6789 (dashes and dots between
# digits do not split a word).
_DIGITS_WORD = re.compile(r"[0-9]+(?:[-.][0-9]+)*")
# Or typed apart as a phone number is: 0123 456 789, 012 345 6789, 01234 56789.
_DIGIT_GROUP = re.compile(r"[0-9]{2,5}")
_MAX_GROUPS = 4
# Words people put between the bank and the number that name no bank: dropped.
_BANK_FILLERS = frozenset({"ACCOUNT", "ACCT", "ACC", "AC", "A/C", "NO", "NUMBER", "NUM", "NUBAN"})


def _account_number(words: list[str], at_end: bool) -> tuple[str, int] | None:
    """Ten digits at the end of ``words`` (or at their start): one word, or two to four groups of 2
    to 5 digits typed apart; and how many words they took. None when the digits there make
    anything but 10, so that no digit of another word is ever borrowed to make up a number."""
    ordered = words[::-1] if at_end else words
    if ordered and _DIGITS_WORD.fullmatch(ordered[0]):
        single = ordered[0].replace("-", "").replace(".", "")
        if len(single) == NUBAN_DIGITS:
            return single, 1
    digits = ""
    for count, word in enumerate(ordered[:_MAX_GROUPS], start=1):
        if not _DIGIT_GROUP.fullmatch(word):
            return None
        digits = word + digits if at_end else digits + word
        if len(digits) >= NUBAN_DIGITS:
            return (digits, count) if len(digits) == NUBAN_DIGITS and count > 1 else None
    return None


def _names_a_bank(words: list[str]) -> bool:
    """Words that may name a bank: with a letter, or one bank code (3 to 6 digits, 058 or 50211)."""
    if any(character.isalpha() for word in words for character in word):
        return True
    return len(words) == 1 and words[0].isascii() and words[0].isdigit() and 3 <= len(words[0]) <= 6


def _bank(words: list[str]) -> Command | ParseError:
    """BANK, the bank's words, and the account number: last, as the protocol asks, or first
    (BANK 0123456789 GTB), which is as clear. Never a guess: a reading whose other words name no
    bank is not taken, and when the number could be read at either end, each leaving words that may
    name a bank (BANK 058 0123 456 789: is 789 a bank's code?), nothing is (the reply asks for the
    bank's name)."""
    readings: list[Bank] = []
    number_seen = False
    for at_end in (True, False):
        found = _account_number(words, at_end)
        if found is None:
            continue
        number_seen = True
        account, used = found
        rest = words[: len(words) - used] if at_end else words[used:]
        named = [word for word in rest if word.upper() not in _BANK_FILLERS]
        if _names_a_bank(named):
            readings.append(Bank(" ".join(named)[:60].strip(), account))
    if len(readings) == 1 or (len(readings) == 2 and readings[0] == readings[1]):
        return readings[0]
    return ParseError("bank_missing" if number_seen or not words else "bank_bad_number", {}, command="BANK")


# --- REDEEM's amount ----------------------------------------------------------------------------------

# Naira as people write them, and as replies do: 500, 20000, 20,000 (commas between thousands only:
# 2,5 is no amount).
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
MAX_AMOUNT = 10**7


def _amount(word: str) -> int | None:
    """A whole amount above 0 and at most ``MAX_AMOUNT``, or None. Decimal digits of any script
    (as int() reads them); ``isdigit`` alone would let through digits int() refuses (U+1369)."""
    if _THOUSANDS.fullmatch(word):
        word = word.replace(",", "")
    if not word.isdecimal() or len(word) > 12:
        return None
    amount = int(word)
    return amount if 0 < amount <= MAX_AMOUNT else None


# --- the rest --------------------------------------------------------------------------------------


def _parse_command(
    command: str, words: list[str], rest: Callable[[int], str | None], vocabulary: Vocabulary
) -> Command | ParseError:
    first = words[0] if words else None
    if command == "JOIN":
        named = _name_and_address(rest(0), command)
        return named if isinstance(named, ParseError) else Join(*named)
    if command == "NEW":
        phone = _phone_at_start(words, vocabulary.region)
        if phone is None:
            return ParseError("bad_phone", {"phone": (first or "")[:20]}, command=command)
        used, language = phone[1], None
        if len(words) > used + 1 and words[used].upper() in LANGUAGE_WORDS:
            used, language = used + 1, LANGUAGE_WORDS[words[used].upper()]
        named = _name_and_address(rest(used), command)
        return named if isinstance(named, ParseError) else Register(phone[0], *named, language=language)
    if command == "LOG":
        return _log(words, vocabulary)
    if command == "PIN":
        return _pin(words)
    if command == "VERIFY":
        code = "".join(character for character in "".join(words).upper() if character.isalnum())
        if not code:
            return ParseError("missing_voucher", {}, command=command)
        return Verify(code[:16])
    simple: dict[str, Command] = {
        "TERMS": Terms(),
        "TOPUP": TopUp(),
        "BAL": Balance(),
        "HIST": History(),
        "SKIP": Skip(),
        "REWARDS": Rewards(),
        "TODAY": Today(),
        "IMPACT": Impact(),
        "ZONE": Zone(),
    }
    if command in simple:
        return simple[command]
    if command == "HELP":
        return Help(first.upper()[:10] if first else None)
    if command == "ROUTE":
        return _route(first)
    if command == "SUGGEST":
        idea = rest(0)
        if not idea:
            return ParseError("missing_suggestion", {}, command=command)
        return Suggest(" ".join(idea.split())[:160])
    if command == "VOTE":
        return Vote((first or "").strip(".,;:!#")[:10])
    if command == "STATEMENT":
        said = (first or "").upper()
        return Statement(True if said in ("ON", "YES") else False if said in ("OFF", "NO", "STOP") else None)
    if command == "PICKUP":
        note = rest(0)
        return Pickup(note[:100] if note else None)
    if command == "START":
        return Start(command)
    if command == "LANG":
        if first is None or first.upper() not in LANGUAGE_WORDS:
            return ParseError("bad_language", {"language": (first or "")[:10]}, command=command)
        return Language(LANGUAGE_WORDS[first.upper()])
    if command == "BANK":
        return _bank(words)
    if command == "REDEEM":
        if first is None:
            return ParseError("missing_item", {}, command=command)
        if len(words) == 1 and first.upper() == CASH:
            # Cash has no default amount: a payout is never of a sum the person did not type.
            return ParseError("cash_amount_missing", {}, command=command)
        amount: int | None = None
        if len(words) > 1:
            amount = _amount(words[1])
            if amount is None:
                return ParseError("bad_amount", {"amount": words[1][:10]}, command=command)
        return Redeem(first.upper()[:20], amount)
    if command == "RATE":
        ref = _ref(first, command)
        if isinstance(ref, ParseError):
            return ref
        if len(words) < 2 or words[1] not in ("1", "2", "3", "4", "5"):
            return ParseError("bad_rating", {"ref": ref}, command=command)
        return Rate(ref, int(words[1]))
    ref = _ref(first, command)
    if isinstance(ref, ParseError):
        return ref
    if command == "NO":
        reason = rest(1)
        return Dispute(ref, reason[:160] if reason else None)
    if command == "YES":
        return Confirm(ref)
    if command == "CHECK":
        return Check(ref)
    if command == "UNDO":
        return Undo(ref)
    raise AssertionError(f"no reading for {command}")  # every allowed command is handled above


def _route(first: str | None) -> Command | ParseError:
    """ROUTE, ROUTE 2, ROUTE MORE (or NEXT)."""
    if first is None:
        return Route()
    if first.upper() in ("MORE", "NEXT"):
        return Route(more=True)
    if first.isascii() and first.isdigit() and 1 <= int(first) <= 99:
        return Route(page=int(first))
    return ParseError("bad_route_page", {}, command="ROUTE")


def whole_word(text: str) -> str | None:
    """A message of letters only, as one upper-case word ("Stop all." -> "STOPALL"): what an
    opt-out or opt-in word is matched against. None when it holds a digit or no letter."""
    if any(character.isdigit() for character in text):
        return None
    letters = "".join(character for character in text.upper() if character.isalpha())
    return letters or None


def reserved_words() -> frozenset[str]:
    """Every word that means a command, opts out or in, or is a weight's unit, and CASH (REDEEM
    CASH): none of them may be made a material word (``LOG K0001E BAL 4`` must not read BAL as a
    material)."""
    commands = {command for commands in ALLOWED.values() for command in commands}
    return frozenset(
        {*commands, *DEFAULT_KEYWORDS, *OPT_OUT_WORDS, *OPT_IN_WORDS, *_UNITS, "MORE", "NEXT", CASH}
    )


def parse(
    text: str, role: Role = "household", vocabulary: Vocabulary = DEFAULT_VOCABULARY
) -> Command | ParseError:
    """The command a message asks for, or why it could not be read. Never raises."""
    if len(text) > MAX_LENGTH:
        return ParseError("too_long", {"limit": str(MAX_LENGTH)})
    cleaned = clean(text)
    whole = whole_word(cleaned)
    if whole is not None and whole in OPT_OUT_WORDS:
        return Stop(whole)
    if whole is not None and whole in OPT_IN_WORDS:
        return Start(whole)
    start = cleaned.lstrip(" :;,.-#*\"'(")
    keyword = _KEYWORD.match(start)
    if keyword is None:
        return ParseError("empty" if not start else "unknown_command", {"word": start[:20]})
    word = keyword.group(0).upper()
    after = start[keyword.end() :]
    if word in OPT_OUT_WORDS:
        # "STOP sending" is not an opt-out: only the word alone is (and it is said how).
        return ParseError("stop_alone", {"word": word[:12]}, command="STOP")
    if word in OPT_IN_WORDS and word != "YES":
        return Start(word)
    command = _command_for(word, role, vocabulary)
    if isinstance(command, ParseError):
        return command
    words = _words(after)
    parsed = _parse_command(command, words, lambda count: _rest_after(words, count, after), vocabulary)
    if isinstance(parsed, Join) and word in KEYWORD_LANGUAGES:
        return replace(parsed, language=KEYWORD_LANGUAGES[word])
    return parsed
