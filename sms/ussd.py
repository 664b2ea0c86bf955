"""USSD: the menus a basic phone dials (Africa's Talking's USSD API), in the same languages and
catalogues as the texts.

A USSD screen is at most 182 characters and, like a text, GSM-7. Every screen here is a template
of ``sms.templates`` (its key starts ``ussd_``), translated in the same gettext catalogues and
held to one SMS segment (160) at worst-case values, which leaves room for the ``CON `` or ``END ``
that leads it and for a line saying what was wrong with the last answer.

Africa's Talking sends, with each request of a session, everything typed so far joined by ``*``
(``text``: "" when the code is dialled, then "1", then "1*2"...). ``inputs`` splits it; ``BACK``
and ``TOP`` are the two answers every screen takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .gsm import is_gsm7, to_gsm7

MAX_SCREEN = 182
BACK = "0"
TOP = "00"
# The longest answer a screen reads (a name with an address; the rest is refused, not cut).
MAX_ANSWER = 80

SCREENS: dict[str, str] = {
    # households
    "ussd_home": "{programme}: {points} pts\n1 Points & history\n2 Ask for pickup\n3 Skip next pickup\n"
    "4 Rewards\n5 Cash out\n6 Check a receipt\n7 Rate a pickup\n8 Bank account\n9 More",
    "ussd_more": "{programme}\n1 Language\n2 Terms\n3 Help\n4 My impact\n5 My zone\n6 Vote\n0 Back",
    "ussd_vote": "Vote: {question}\n{options}\n0 Back",
    "ussd_stranger": "Welcome to {programme}: points for bottles, sachets and cans, free.\n"
    "1 Join\n2 Terms\n3 Help",
    "ussd_join_name": "Your name, e.g. Ada Okafor:\n0 Back",
    "ussd_join_zone": "Your area:\n{options}\n0 Back",
    "ussd_rewards": "Rewards, you have {points} pts:\n{options}\n0 Back",
    "ussd_rewards_none": "No rewards in {programme} yet. Your points are safe.\n0 Back",
    "ussd_airtime_amount": "Airtime to this phone: how many naira? {min} to {max}\n0 Back",
    "ussd_units": "How many {reward}? {min} to {max}\n0 Back",
    "ussd_redeem_confirm": "{units} x {reward} for {need} pts. You have {balance}.\n1 Yes, redeem\n0 Back",
    "ussd_redeem_done": "{programme}: {reward} is yours, {need} pts. We will text you when it is ready.",
    "ussd_cash_amount": "Cash to {bank} {masked}: how many naira? {min} to {max}\n0 Back",
    "ussd_cash_confirm": "Send NGN {naira} to {bank} {masked} for {need} pts? You have {balance}.\n"
    "1 Yes, send\n0 Back",
    "ussd_receipt": "The receipt's code, e.g. 7F2K:\n0 Back",
    "ussd_rate": "Pickup {ref} by {collector}, {date}. How many stars, 1 to 5?\n0 Back",
    "ussd_rate_none": "No pickup to rate yet. {programme} will text you a receipt at each pickup.",
    "ussd_bank_name": "Your bank, e.g. GTB, UBA or OPAY:\n0 Back",
    "ussd_bank_number": "{bank}: your 10-digit account number:\n0 Back",
    "ussd_language": "Language:\n1 English\n2 Pidgin\n3 Yoruba\n4 Hausa\n5 Igbo\n0 Back",
    "ussd_terms": "{programme}: 1 pt = NGN {rate}. Each pickup's points come with a ref; wrong? "
    "Text NO ref in {hours}h. Terms: {url}",
    "ussd_help": "{programme} USSD is free. Answer with a number; 0 goes back, 00 to the top. "
    "By SMS, text HELP to see the commands.",
    # collectors
    "ussd_collector_home": "{programme} collector\n1 Log a pickup\n2 Today\n3 Route\n4 Register household",
    "ussd_log_member": "Member code or phone:\n0 Back",
    "ussd_log_material": "{member} {lines}\n{materials}\n0 Back",
    "ussd_log_kg": "{material} for {member}: kg, e.g. 4.5\n0 Back",
    "ussd_log_confirm": "{member}: {lines} = {points} pts\n1 Confirm\n2 Add material\n0 Back",
    "ussd_route": "Route {date} {page}/{pages}: {stops}\n9 Next\n0 Back",
    "ussd_route_last": "Route {date} {page}/{pages}: {stops}\n0 Back",
    "ussd_register_phone": "The new household's phone:\n0 Back",
    "ussd_register_name": "Name for {phone}:\n0 Back",
    "ussd_register_confirm": "Register {name}, {phone}? We will text them a welcome.\n1 Yes\n0 Back",
    # every screen
    "ussd_done_line": "9 Done",
    "ussd_wrong_choice": "Choose one of the numbers.",
    "ussd_wrong_number": "Type a whole number.",
    "ussd_wrong_weight": "Type the kg, e.g. 4.5",
    "ussd_too_long": "Too long: at most {limit} letters.",
    "ussd_again": "Try again, or 0 to go back.",
    "ussd_no_lines": "Add a material first.",
    "ussd_failed": "Sorry, {programme} could not do it just now. Nothing was changed. Please dial again.",
    "ussd_done_already": "{programme}: this was done already. Dial again for the menu.",
    "ussd_not_for_role": "{programme} USSD is for households and collectors. Text HELP for your commands.",
}

# The widest each value new to these screens may be.
WIDTHS: dict[str, int] = {
    "options": 100,
    "stops": 100,
    "materials": 70,
}


class Lines(tuple[str, ...]):
    """Options a screen lists one a line ("1 Yaba", "2 Sabo"): put into a template line by line,
    each line made GSM-7, and only as many whole lines as fit the value's width."""

    def fit(self, width: int) -> str:
        shown: list[str] = []
        used = 0
        for line in self:
            line = " ".join(to_gsm7(line).split())[:width]
            cost = len(line) + (1 if shown else 0)
            if used + cost > width:
                break
            shown.append(line)
            used += cost
        return "\n".join(shown)


def inputs(text: str | None) -> list[str]:
    """What was typed in the session so far, one answer per screen: "" is none yet. Each answer is
    stripped; an empty one (just Send) stays, as an answer to be refused."""
    if not text:
        return []
    return [part.strip() for part in text.split("*")]


_WHOLE = re.compile(r"[0-9]{1,9}|[0-9]{1,3}(,[0-9]{3}){1,2}")


def choice(answer: str, count: int) -> int | None:
    """The option an answer chose, from 1 to ``count``, or None (ASCII digits only: a phone's
    other digits, such as "²", are not a choice)."""
    if not (answer.isascii() and answer.isdigit()) or len(answer) > 3:
        return None
    chosen = int(answer)
    return chosen if 1 <= chosen <= count else None


def whole(answer: str) -> int | None:
    """A whole number typed as digits, with or without thousands commas ("1,500"), or None."""
    if not _WHOLE.fullmatch(answer):
        return None
    return int(answer.replace(",", ""))


def numbered(options: Iterable[str], start: int = 1) -> Lines:
    """ "1 Yaba", "2 Sabo": the options numbered, one a line."""
    return Lines(f"{number} {option}" for number, option in enumerate(options, start))


def with_error(error: str, screen: str, again: str) -> str:
    """A screen again after a wrong answer, led by what was wrong; when both do not fit, what was
    wrong and ``again`` (how to go on)."""
    both = f"{error}\n{screen}"
    return both if len(both) <= MAX_SCREEN - 4 else f"{error}\n{again}"[: MAX_SCREEN - 4]


def answer(body: str, *, end: bool) -> str:
    """The response's text: ``CON `` (a screen that waits for an answer) or ``END `` (the session
    is over), GSM-7, at most ``MAX_SCREEN`` characters in all (a longer one is cut)."""
    text = body if is_gsm7(body) else to_gsm7(body)
    # A value left empty ("{member} {lines}" before any line) leaves no space at a line's end.
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return (("END " if end else "CON ") + text)[:MAX_SCREEN]
