"""Every reply Kolekt sends, in the household's language, in GSM-7 and within its segment budget.

A text costs money per segment, and one character outside GSM-7 switches the whole message to
UCS-2 (70 characters a segment instead of 160). So templates are written in GSM-7, every value
put into one is made GSM-7 (``to_gsm7``) and clipped to a width, and a test renders every
template in every language with long, realistic values and checks the budget.

English (``EN``, here) is the source; Pidgin, Yoruba, Hausa and Igbo are gettext catalogues made
from it (``sms.catalogues``, sms/locale/). A key a catalogue lacks goes out in English, which a
test forbids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from . import catalogues, ussd
from .gsm import to_gsm7

# The widest each value may be in a reply (longer ones are cut): what keeps a reply
# within one segment whatever a name or an address holds.
WIDTHS: Mapping[str, int] = {
    "programme": 12,
    "name": 15,
    "collector": 12,
    "code": 10,
    "member": 14,
    "zone": 12,
    "days": 16,
    "points": 8,
    "naira": 9,
    "balance": 8,
    "held": 8,
    "last": 16,
    "lines": 48,
    "ref": 6,
    "seq": 8,
    "text": 40,
    "word": 15,
    "command": 8,
    "material": 12,
    "weight": 9,
    "limit": 4,
    "phone": 16,
    "language": 8,
    "date": 13,
    "window": 11,
    "reason": 70,
    "reward": 20,
    "item": 12,
    "units": 7,
    "min": 7,
    "max": 7,
    "need": 8,
    "voucher": 11,
    "stars": 1,
    "count": 5,
    "kg": 9,
    "commission": 8,
    "hours": 3,
    "status": 9,
    "what": 10,
    "moves": 100,
    "list": 230,
    "next": 13,
    "occasion": 24,
    "redeemed": 8,
    "members": 5,
    "sent": 7,
    "failed": 5,
    "disputes": 4,
    "ledger": 9,
    "page": 3,
    "pages": 3,
    "terms": 300,
    "rate": 6,
    "url": 40,
    # cash-out (BANK, REDEEM CASH): a bank's short display name (longer ones are cut at a word),
    # the account name as the bank has it, the account masked (****6789), naira as the service
    # writes them (20,000), a moment ("3 Dec 14:00"), why a payout failed (a why_* word)
    "bank": 24,
    "account_name": 40,
    "masked": 8,
    "when": 18,
    "choices": 60,
    "why": 24,
    "cap": 9,
    "left": 9,
    "step": 5,
    "float": 11,
    "low": 9,
    # IMPACT and ZONE: the materials recycled (``impact.RecycledList`` fits them), kilos of CO2e,
    # a zone's rank and how many zones, the change on last month ("+15%")
    "recycled": 62,
    "co2": 7,
    "rank": 3,
    "zones": 3,
    "change": 6,
    "mine": 9,
    "years": 3,
    "month": 7,
    # VOTE: the question and its options as an operator wrote them (service.usecases.votes keeps
    # them this short), the option voted for ("2 Soap") and the numbers to choose from
    "question": 40,
    "vote_options": 46,
    "choice": 15,
    "numbers": 9,
    **ussd.WIDTHS,
}

# Segments a reply may take; one unless named here.
BUDGETS: Mapping[str, int] = {
    "help_household": 2,
    "help_collector": 2,
    "route": 2,
    "route_page": 2,
    "route_last": 2,
    "rewards_list": 2,
    "daily_summary": 2,
    "terms": 2,
    "terms_default": 2,
}

EN: Mapping[str, str] = {
    # replies
    "welcome": "Welcome to {programme}, {name}! Your code is {code}. Pickups in {zone}: {days}. "
    "Text BAL for points, HELP for help.",
    "welcome_no_zone": "Welcome to {programme}, {name}! Your code is {code}. We will text your pickup day. "
    "Text BAL for points, HELP for help.",
    "already_member": "You are already in {programme}, {name}. Your code is {code}. Text BAL for points.",
    "not_member": "You are not in {programme} yet. Text JOIN and your name, e.g. JOIN Ada Okafor",
    "help_stranger": "{programme} gives points for bottles, sachets and cans. To join, text JOIN and "
    "your name, e.g. JOIN Ada Okafor. TERMS for the rules.",
    "stranger_unknown": 'We did not understand "{word}". To join {programme}, text JOIN and your name, '
    "e.g. JOIN Ada Okafor",
    "topup_how": "{programme}: for airtime, text REDEEM AIRTIME and the naira, e.g. REDEEM AIRTIME 200. "
    "You have {points} pts.",
    "terms": "{terms}",
    "impact": "{programme}: since you joined, {recycled}. About {co2}kg CO2e saved and {points} pts "
    "earned. Thank you!",
    "impact_none": "{programme}: no pickups yet. Once a collector logs your first, text IMPACT to see "
    "what you recycled.",
    "unit_bottle": "bottles",
    "unit_can": "cans",
    "unit_sachet": "sachets",
    "zone_month": "{programme} {zone}: {kg}kg recycled this month, no. {rank} of {zones} zones ({change} "
    "on last month). Thank you!",
    "zone_month_first": "{programme} {zone}: {kg}kg recycled this month, no. {rank} of {zones} zones. "
    "Thank you!",
    "zone_collector": "{programme} {zone}: {kg}kg this month, no. {rank} of {zones} zones. You: {mine}kg "
    "in {count} pickups.",
    "milestone_first": "{programme}: well done on your first pickup, {name}! Keep sorting bottles, sachets "
    "and cans. Text IMPACT any time to see what you recycled.",
    "milestone_kg": "{programme}: {name}, you have now recycled {kg}kg with us! Thank you for keeping your "
    "street clean. Text IMPACT to see what it saved.",
    "milestone_year_one": "{programme}: {name}, you joined us a year ago. Thank you for every pickup! Text "
    "IMPACT to see what you recycled.",
    "milestone_year": "{programme}: {name}, you joined us {years} years ago. Thank you for every pickup! "
    "Text IMPACT to see what you recycled.",
    "suggest_ok": "{programme}: thank you, {name}! Your idea for a reward is with the hub, who read every "
    "one.",
    "missing_suggestion": "Tell us your idea for a reward after SUGGEST, e.g. SUGGEST rice or SUGGEST "
    "school books.",
    "suggest_limit": "{programme}: thank you, that makes {count} ideas today. Send more tomorrow.",
    "statement_on": "{programme}: OK, a statement of your month will come by SMS early each month. Text "
    "STATEMENT OFF to stop it.",
    "statement_off": "{programme}: OK, no more monthly statements. Text STATEMENT ON to have them again.",
    "statement_how": "{programme}: text STATEMENT ON for a statement of your month by SMS early each month, "
    "STATEMENT OFF to stop it.",
    "statement_month": "{programme} {month}: {kg}kg recycled in {count} pickups, +{points} pts. Balance "
    "{balance} pts. Text STATEMENT OFF to stop these.",
    "vote_open": "{programme} vote: {question} {vote_options}. Text VOTE and a number by {date}.",
    "vote_cast": "{programme}: thank you, your vote is {choice}. Until {date} you can change it: text VOTE "
    "and another number.",
    "vote_choice": "{programme}: text VOTE {numbers}: {vote_options}.",
    "vote_none": "{programme}: no vote is open just now. Text SUGGEST and your idea for a reward any time.",
    "points_expiring": "{programme}: {points} of your pts expire on {date}. Spend them before then: text "
    "REWARDS to see what they buy. Bal {balance} pts.",
    "points_expired": "{programme}: {points} pts earned before {month} have expired, as the terms say. "
    "Bal {balance} pts. Think it is wrong? Call the hub.",
    "zone_none": "{programme}: you are not in a zone yet, so there is no zone total. The hub will text "
    "your pickup day.",
    "terms_default": "{programme} terms: 1 pt is worth NGN {rate}. Points are added at each pickup and "
    "the receipt gives a ref. Think one is wrong? Text NO ref within {hours}h; the hub checks and "
    "texts you. Text STOP to end texts. All terms: {url}",
    "balance": "{programme}: {points} pts (NGN {naira}). Last: {last}. Text REWARDS to spend.",
    "balance_new": "{programme}: {points} pts. No pickups yet. Text PICKUP to ask for one.",
    "balance_held": "{programme}: {points} pts (NGN {naira}), and {held} pts being checked by the hub. "
    "Text REWARDS to spend.",
    "receipt": "{programme}: +{points} pts from {collector} ({lines}). Bal {balance}. Wrong? Text NO {ref}",
    "log_ok": "OK {ref}: {member} {lines} = {points} pts.",
    "language_set": "OK, {programme} will text you in {language}.",
    "stopped": "You will get no more texts from {programme}. Text START to come back.",
    "stop_alone": "To stop every text from {programme}, send {word} on its own. Nothing was changed.",
    "started": "Welcome back to {programme}. Text HELP for help.",
    "help_household": "{programme}: BAL points, HIST last 3, PICKUP, SKIP next day, REWARDS, "
    "REDEEM item, REDEEM CASH naira, BANK bank acct-no, CHECK ref, NO ref if wrong, YES ref, "
    "RATE ref 1-5, IMPACT, ZONE, STATEMENT ON, SUGGEST idea, VOTE, LANG EN/PCM/YO/HA/IG, STOP.",
    "help_collector": "{programme}: LOG code PET 4.5 ALU 1.2 #seq, UNDO ref, NEW phone name, "
    "ROUTE, TODAY, CHECK ref, BAL, PIN 4-6 digits for the app, LANG, STOP.",
    # pickups (collectors)
    "seq_taken": "{seq} is already on {ref} ({member}). Nothing logged for {code}. "
    "Send it again with a new # number.",
    "not_your_household": "{code} is not in your zone. Nothing logged. Check the code or ask the hub "
    "to move the household.",
    "log_duplicate": "Already logged as {ref} on {date}: {member} {points} pts. Nothing added.",
    "unknown_member_phone": "No member with phone {phone}. Register them: NEW {phone} name",
    "member_suspended": "Member {code} is suspended. Nothing was logged. Call the hub.",
    "collector_suspended": "Your collector account is suspended. Nothing was done. Call the hub.",
    "no_rate": "No rate for {material} yet. Nothing was logged. Ask the hub to set one.",
    "zero_points": "{lines} earns 0 pts at today's rates. Nothing was logged.",
    "not_a_member_phone": "{phone} is a collector's or shop's phone, not a member's.",
    "undo_ok": "Undone {ref}: {member} -{points} pts. Nothing else changed.",
    "undone": "{programme}: pickup {ref} was cancelled by {collector}: -{points} pts. Bal {balance}.",
    "undo_too_late": "{ref} is over 30 min old: it cannot be undone. Ask the hub.",
    "undo_spent": "Cannot undo {ref}: the member has spent the points. Ask the hub.",
    "unknown_pickup": "No pickup {ref} for you. Check the code.",
    "pickup_reversed": "Pickup {ref} was already cancelled.",
    "registered": "OK: {name} is {code}. We texted them a welcome.",
    "member_elsewhere": "{phone} is already a member, in another zone. Nothing registered. Ask the hub.",
    "already_registered": "{phone} is already {code} ({name}). LOG with that code.",
    "route": "Route {date}: {list}",
    "route_empty": "No pickup requests yet for {date} in {zone}.",
    "route_page": "Route {date} {page}/{pages}: {list}. Text ROUTE {next} for more.",
    "route_last": "Route {date} {page}/{pages}: {list}. End of route.",
    "route_end": "That was the last page of the route for {date} ({count} stops). "
    "Text ROUTE for page 1 again.",
    "route_no_page": "The route for {date} has no page {page}: it has {pages}. Text ROUTE for page 1.",
    "bad_route_page": "Send ROUTE for the first page of stops, ROUTE 2 for the second, "
    "ROUTE MORE for the next.",
    "collector_no_zone": "You have no zone yet. Ask the hub to set one.",
    "today": "Today: {count} pickups, {kg} kg, {points} pts to members, {commission} pts to you.",
    "collector_balance": "{programme}: your commission is {points} pts. Text TODAY for today.",
    # the collector app's PIN (a reply never repeats the PIN, even a refused one)
    "pin_set": "{programme}: your app PIN is set. Sign in to the app with this phone number and your PIN.",
    "pin_set_signed_out": "{programme}: your app PIN is set. The app was signed out on your other phones: "
    "sign in there with the new PIN.",
    "pin_too_easy": "That PIN is too easy to guess. Do not use a run like 1234 or 1111. "
    "Send PIN and other digits. Nothing was changed.",
    # households
    "history": "{programme}: {moves}. Bal {balance}.",
    "pickup_ok": "OK, pickup asked for {date} ({window}). Put your bags out. Text SKIP to cancel.",
    "skip_ok": "OK, no pickup and no reminder for you on {date}. Text PICKUP to change it.",
    "household_no_zone": "Your area has no collection day yet. The hub will text you your day.",
    "rewards_list": "{programme} rewards: {list}. Text REDEEM and the number or name.",
    "rewards_empty": "No rewards in {programme} yet. Your points are safe.",
    "unknown_reward": "No reward {item}. Text REWARDS for the list.",
    "below_minimum": "{reward}: the least is {min}, e.g. REDEEM {item} {min}. Nothing was taken.",
    "above_maximum": "{reward}: at most {max} at a time. Nothing was taken.",
    "not_enough_points": "Not enough points: {reward} costs {need} pts, you have {balance}. "
    "Nothing was taken.",
    "out_of_stock": "{reward} is out of stock. Text REWARDS for others. Nothing was taken.",
    "voucher_issued": "{programme}: voucher {voucher} for {reward}. Show it at a partner shop. "
    "-{points} pts, Bal {balance}.",
    "airtime_sent": "{programme}: NGN {units} airtime sent to this phone. -{points} pts, Bal {balance}. "
    "Ref {ref}",
    "goods_ordered": "{programme}: {units} x {reward} for you. Collect at the hub with ref {ref}. "
    "-{points} pts, Bal {balance}.",
    "redeem_refunded": "{programme}: sorry, {reward} failed. Your {points} pts are back. Bal {balance}.",
    # cash-out: the bank account (BANK), then REDEEM CASH naira
    "bank_checking": "Checking {bank} {masked}. We will text you the name on the account: "
    "then text YES if it is yours.",
    "bank_confirm": "Name: {account_name}, {bank} {masked}. Text YES in 30 min to save it for cash-out. "
    "Wrong? Send BANK again.",
    "bank_saved": "{programme}: {bank} {masked} is saved for cash-out. Text REDEEM CASH and the naira, "
    "e.g. REDEEM CASH 500.",
    "bank_changed_notice": "{programme}: your cash-out account is now {bank} {masked}; cash goes to it "
    "from {when}. Not you? Call the hub now.",
    "bank_not_found": "{bank} has no account {masked}. Check the 10 digits and send BANK again. "
    "Nothing was saved.",
    "bank_unknown": "No bank called {word}. Send BANK with the bank's short name, e.g. GTB, UBA or OPAY, "
    "and the number.",
    "bank_ambiguous": "{word} could be {choices}. Send BANK again with the bank's full name and the number.",
    "bank_none": "Save a bank account first: BANK, the bank and the 10-digit number, e.g. "
    "BANK GTB 0123456789. Nothing was taken.",
    "cash_held": "NGN {naira} is on its way to {bank} {masked}: {points} pts held. We will text you "
    "when it is paid. Ref {ref}",
    "cash_waits": "NGN {naira} goes to {bank} {masked} from {when}: a new account waits, for your "
    "safety. {points} pts held. Ref {ref}",
    "cash_sent": "{programme}: NGN {naira} sent to {bank} {masked}. Not there by tomorrow? "
    "Call the hub with ref {ref}",
    "cash_refunded": "{programme}: NGN {naira} not sent: {why}. Your {points} pts are back. Try again, "
    "or change the account with BANK. Ref {ref}",
    "cash_min": "The least cash-out is NGN {min}. Send REDEEM CASH and a larger amount. Nothing was taken.",
    "cash_max": "At most NGN {max} in one cash-out. Send REDEEM CASH and a smaller amount. "
    "Nothing was taken.",
    "cash_daily_cap": "Cash-out is at most NGN {cap} a day; NGN {left} is left for today. Try a smaller "
    "amount, or tomorrow. Nothing was taken.",
    "cash_programme_cap": "{programme} cannot pay out more cash today. Try again tomorrow. "
    "Nothing was taken.",
    "cash_not_enough": "Not enough points: NGN {naira} needs {need} pts, you have {balance}. "
    "Try a smaller amount. Nothing was taken.",
    "cash_off": "Cash-out is closed in {programme} just now. Nothing was taken. "
    "Text REWARDS for other rewards.",
    "cash_step": "Cash-out goes in steps of NGN {step}: send a multiple of it. Nothing was taken.",
    "dispute_opened": "{programme}: we got your NO for {ref}. The hub will check it and text you.",
    "dispute_too_late": "{ref} is over {hours}h old. Call the hub to dispute it.",
    "dispute_exists": "{ref} is already disputed ({status}).",
    "dispute_upheld": "{programme}: your NO for {ref} was upheld. The pickup is cancelled: -{points} pts. "
    "Bal {balance}.",
    "dispute_upheld_collector": "Dispute on {ref} upheld: the pickup is cancelled, {member} -{points} pts.",
    "dispute_rejected": "{programme}: your NO for {ref} was not upheld: {reason}",
    "dispute_rejected_collector": "Dispute on {ref} ({member}) rejected: your pickup stands.",
    # A pickup held for checking (issue 24): the household's receipt, the collector's answer, and
    # the hub's decision (a hold nobody decides is approved on its day: hold_approved).
    "pickup_held": "{programme}: +{points} pts from {collector} ({lines}) being checked, decided by "
    "{date}. Wrong? Text NO {ref}",
    "log_held": "OK {ref}: {member} {lines} = {points} pts, held: the hub checks it.",
    "hold_approved": "{programme}: pickup {ref} is checked: +{points} pts. Bal {balance}.",
    "hold_rejected": "{programme}: pickup {ref} ({points} pts) was not accepted: {reason}",
    "hold_rejected_collector": "Pickup {ref} ({member}) not accepted by the hub: {reason}",
    "adjustment_credit": "{programme}: the hub added {points} pts to your account: {reason}. Bal {balance}.",
    "adjustment_debit": "{programme}: the hub took {points} pts from your account: {reason}. Bal {balance}.",
    "zone_days_changed": "{programme}: {zone} collection is now {days}. Next one: {next}.",
    "confirmed": "Thanks! {ref} is confirmed.",
    "rated": "Thanks! You gave {collector} {stars} stars for {ref}.",
    "check_ok": "{ref} is in the {programme} ledger: {what} of {points} pts, {member}, {date}.",
    "check_unknown": "{ref} is not in the {programme} ledger. Check the code.",
    # partner shops
    "verify_ok": "Voucher {voucher} OK: {reward} for {member}. Now used: do not accept it again.",
    "verify_used": "Voucher {voucher} was already used on {date}. Do not accept it.",
    "verify_unknown": "No valid voucher {voucher}. Do not accept it.",
    "help_partner": "{programme}: VERIFY code to check and use a voucher, CHECK ref, STOP.",
    "account_suspended": "Your {programme} account is suspended. Nothing was done. Call the hub.",
    # why a message could not be read (sms.parse's reasons)
    "empty": "Text HELP to see what you can do with {programme}.",
    "too_long": "Message too long. Send one command, e.g. BAL.",
    "unknown_command": 'Sorry, we did not understand "{word}". Text HELP for the commands.',
    "not_for_role": "{command} is not for this phone. Text HELP for your commands.",
    "missing_name": "Send your name: {command} Ada Okafor, 12 Adeniyi St",
    "missing_ref": "Add the receipt code, e.g. {command} 7F2K",
    "bad_ref": "No receipt {ref}. Codes are 4-6 letters and digits, e.g. 7F2K.",
    "bad_rating": "Rate 1 to 5, e.g. RATE {ref} 5",
    "bad_language": "Choose a language: LANG EN, PCM, YO, HA or IG.",
    "missing_item": "Say what to redeem, e.g. REDEEM AIRTIME 200. Text REWARDS for the list.",
    "bad_amount": "The amount must be a number, e.g. REDEEM AIRTIME 200",
    "cash_amount_missing": "Say how much, in naira, e.g. REDEEM CASH 500. Text BAL to see your points.",
    "bank_missing": "Send BANK, the bank's name and the 10-digit account number, e.g. BANK GTB 0123456789",
    "bank_bad_number": "An account number has 10 digits, e.g. BANK GTB 0123456789. For OPay or PalmPay "
    "it is your phone number without its first 0.",
    "missing_member": "Start with the member code or phone, e.g. LOG K0007F PET 4.5",
    "bad_member_code": "No member {code}. Check the code.",
    "missing_lines": "Add each material and its kg, e.g. PET 4.5 ALU 1.2",
    "unknown_material": "Unknown material {material}. Use PET, SACHET, ALU, HDPE, PAPER or GLASS.",
    "unpaired_weight": "Each material needs its kg, e.g. PET 4.5 ALU 1.2",
    "too_many_decimals": "Weight {weight}: use at most 3 decimals, e.g. 4.5",
    "bad_weight": "Weight {weight} is not valid. Send kg, e.g. 4.5",
    "weight_too_large": "{weight} is over {limit} kg for one line. Check the weight.",
    "too_many_lines": "At most {limit} materials in one LOG.",
    "bad_phone": "Phone number {phone} is not valid, e.g. NEW 08031234567 Ada Okafor",
    "missing_voucher": "Send the voucher code, e.g. VERIFY ABCDE-FGHJK",
    "missing_pin": "Send PIN and 4 to 6 digits of your choice for the {programme} app. Keep them secret.",
    "bad_pin": "A PIN is 4 to 6 digits, nothing else. Send PIN and your digits. Nothing was changed.",
    "pin_not_for_role": "PIN is for the {programme} collectors' app. This phone is not a collector's. "
    "Text HELP for your commands.",
    # reminders and notices (nobody asked for these: one segment, always)
    "reminder_eve": "{programme}: {zone} collection is {date}, {window}. Put your bags out. "
    "Text PICKUP to be on the route or SKIP to miss it.",
    "reminder_morning": "{programme}: {zone} collection is today, {window}. Put your bags out now. "
    "Text SKIP if you have nothing.",
    "collection_cancelled": "{programme}: no {zone} collection on {date} ({occasion}). "
    "The next one is {next}, {window}.",
    "collection_cancelled_later": "{programme}: no {zone} collection on {date} ({occasion}). "
    "We will text you the next day.",
    "collection_moved": "{programme}: {zone} collection moves from {date} to {next}, {window} ({occasion}).",
    # to the operators
    "float_low": "{programme}: the Paystack balance is NGN {float}, under NGN {low}. Top it up, or "
    "cash-outs will wait.",
    "daily_summary": "{programme} {date}: {count} pickups, {kg}kg, +{points} pts, {redeemed} pts redeemed, "
    "{members} joined. SMS {sent} sent, {failed} failed. {disputes} disputes open. Ledger {ledger}.",
    # when Kolekt itself cannot answer
    "not_open": "{command} is not open yet in {programme}. Text HELP for what you can do.",
    "not_handled": 'Sorry, {programme} could not act on "{text}". Nothing was changed. '
    "Please send it again later.",
    "pin_not_handled": "Sorry, {programme} could not set your PIN just now. Nothing was changed. "
    "Send PIN and your digits again.",
    # words put into other replies (sms.Word): what a transfer was for (CHECK), whose it was, and a
    # dispute's state
    "kind_pickup": "pickup",
    "kind_commission": "commission",
    "kind_redemption": "redemption",
    "kind_refund": "refund",
    "kind_reversal": "reversal",
    "kind_adjustment": "adjustment",
    "kind_collector": "a collector",
    "status_open": "open",
    "status_upheld": "upheld",
    "status_rejected": "rejected",
    # why a cash-out could not be sent (cash_refunded's {why})
    "why_account": "the account was refused",
    "why_bank": "the bank did not take it",
    "why_reversed": "the bank sent it back",
    "why_failed": "the transfer failed",
    # USSD screens (sms.ussd): one segment too, with room for CON/END and a line about a wrong answer
    **ussd.SCREENS,
}


class _Languages(Mapping[str, Mapping[str, str]]):
    """Every language's templates by key: English's own, the others from their catalogues."""

    def __getitem__(self, language: str) -> Mapping[str, str]:
        if language == "EN":
            return EN
        if language not in catalogues.LOCALES:
            raise KeyError(language)
        return catalogues.templates(language, EN)

    def __iter__(self) -> Iterator[str]:
        return iter(("EN", *catalogues.LOCALES))

    def __len__(self) -> int:
        return 1 + len(catalogues.LOCALES)


TEMPLATES: Mapping[str, Mapping[str, str]] = _Languages()

# What each LANG code is called in a reply.
LANGUAGE_NAMES: Mapping[str, str] = {
    "EN": "English",
    "PCM": "Pidgin",
    "YO": "Yoruba",
    "HA": "Hausa",
    "IG": "Igbo",
}


def _fit(value: object, width: int) -> str:
    """GSM-7, one line, at most ``width`` characters: cut at a word where one is near the end,
    else mid-word with a "." to show it was cut."""
    text = " ".join(to_gsm7(str(value)).split())
    if len(text) <= width:
        return text
    cut = text[: width + 1]
    if " " in cut[width // 2 :]:
        return cut[: cut.rindex(" ")].rstrip(" ,;:-")
    return text[: width - 1] + "."


def template(key: str, language: str = "EN") -> str:
    """The template for ``key`` in ``language``, or in English when that language has none."""
    if language == "EN" or language not in catalogues.LOCALES:
        return EN[key]
    return catalogues.templates(language, EN).get(key) or EN[key]


@dataclass(frozen=True)
class Word:
    """A word put into a reply (``kind_pickup``: "pickup"), said in the reply's language."""

    key: str

    def say(self, language: str) -> str:
        return template(self.key, language)

    @classmethod
    def or_text(cls, key: str, text: str) -> Word | str:
        """The word ``key`` when there is one, else ``text`` as it is."""
        return cls(key) if key in EN else text


def _said(value: object, language: str) -> object:
    """A value said differently in each language (``sms.Day``, ``sms.Weekdays``), said in this one."""
    say = getattr(value, "say", None)
    return say(language) if callable(say) else value


def _fitted(value: object, width: int, language: str) -> str:
    if isinstance(value, ussd.Lines):
        return value.fit(width)
    return _fit(_said(value, language), width)


def render(key: str, language: str = "EN", /, **values: object) -> str:
    """A reply: its template with every value made GSM-7 and clipped to its width (a USSD screen's
    ``ussd.Lines`` kept one a line)."""
    fitted = {name: _fitted(value, WIDTHS.get(name, 20), language) for name, value in values.items()}
    return template(key, language).format(**fitted)
