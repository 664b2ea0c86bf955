"""Spreadsheets through the dashboard: importing households from a CSV (the dry run writes
nothing; the import writes the good rows, audited; each role, each refusal) and the households,
collectors and pickups exports (streamed, audited, quoted against formulas, filtered by day)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import ledger
import sms
from service.accounts import collector_account, member_account
from service.models import audit_log_t, collection_lines_t, collections_t, households_t, outbox_t
from service.reads import exports
from service.usecases import household_import
from service.usecases.households import member_by_phone, register_household
from service.usecases.phones import ensure_phone
from service.usecases.zones import zone_by_name
from service.web.dashboard import csv_pages
from tests.e2e.conftest import snapshot
from tests.e2e.hub import BASE, Browser, Hub

ADA = "+2348031234567"  # the demo's
BOLA, CHI = "+2348052223333", "+2348061112222"
GOOD_AND_BAD = (
    "Name;Phone;Zone;Language;Address\n"
    "Bola Ade;0805 222 3333;yaba;Yoruba;3 Herbert Macaulay Way\n"
    "Chi Obi;0806 111 2222;Sabo;;\n"
    "Ada again;0803 123 4567;Yaba;;\n"
    ";0807 000 1111;Yaba;;\n"
    "Dupe;0805 222 3333;Sabo;;\n"
    "Efe;12345;Mars;Klingon;\n"
)
_TOKEN = re.compile(r'name="rows" value="([^"]+)"')


@pytest.fixture
def seeded(hub: Hub) -> Hub:
    hub.seed()
    return hub


def upload(browser: Browser, content: bytes | str, name: str = "hub.csv", **kwargs: Any) -> TestResponse:
    data = content.encode() if isinstance(content, str) else content
    response = browser.client.post(
        "/dashboard/households/import",
        data={"csrf_token": browser.token(), "file": (io.BytesIO(data), name), **kwargs},
        base_url=BASE,
        headers={"Referer": f"{BASE}/dashboard/"},
        content_type="multipart/form-data",
    )
    # The test client spools a big body to a temporary file of its own, which it leaves open.
    response.request.environ["wsgi.input"].close()
    return response


def token_of(page: TestResponse) -> str:
    found = _TOKEN.search(page.text)
    assert found, "no import form on the page"
    return found.group(1)


def write(browser: Browser, token: str) -> TestResponse:
    return browser.post("/dashboard/households/import/write", {"rows": token})


def results(page: TestResponse) -> dict[int, str]:
    """Each row's result as the dry run's table shows it."""
    table = page.text.split('id="rows"')[1].split("</table>")[0]
    found = re.findall(r'data-row="(\d+)">.*?<td class="(?:plus|minus)">(.*?)</td>', table, re.S)
    return {int(line): re.sub(r"<[^>]+>", "", text).strip() for line, text in found}


def audit_entries(hub: Hub, action: str) -> list[Any]:
    return list(
        hub.read(lambda s: s.execute(select(audit_log_t).where(audit_log_t.c.action == action)).all())
    )


# --- import ----------------------------------------------------------------------------------------


def test_an_operator_checks_a_file_then_imports_its_good_rows(seeded: Hub) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    form = browser.get("/dashboard/households/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text

    before = snapshot(hub.runtime.engine)
    page = upload(browser, GOOD_AND_BAD)
    assert page.status_code == 200
    assert snapshot(hub.runtime.engine) == before  # the dry run wrote nothing
    ada_code = hub.read(lambda s: member_by_phone(s, ADA)).member_code
    assert results(page) == {
        2: f"Will be added as Bola Ade, {BOLA}, Yaba, texts in Yoruba",
        3: f"Will be added as Chi Obi, {CHI}, Sabo",
        4: f"Error {ADA} is already the number of household {ada_code} (Ada Okafor)",
        5: "Error no name",
        6: "Error the same number as row 2",
        7: "Error “12345” is not a phone number; there is no zone “Mars” (zones: Sabo, Yaba); "
        "“Klingon” is not a language: EN (English), PCM (Pidgin), YO (Yoruba), HA (Hausa), IG (Igbo)",
    }
    assert "6 rows read" in page.text and "Import 2 households" in page.text

    done = write(browser, token_of(page))
    assert done.status_code == 303 and done.headers["Location"].endswith("/dashboard/households")
    bola = hub.read(lambda s: member_by_phone(s, BOLA))
    chi = hub.read(lambda s: member_by_phone(s, CHI))
    assert (bola.name, chi.name) == ("Bola Ade", "Chi Obi")
    listed = browser.get("/dashboard/households")
    assert f"Imported 2 households from hub.csv ({bola.member_code} to {chi.member_code})" in listed.text
    table = listed.text.split('id="households"')[1]
    assert "Bola Ade" in table and "Chi Obi" in table
    welcomes = hub.read(
        lambda s: s.execute(
            select(outbox_t.c.to_phone, outbox_t.c.language).where(outbox_t.c.template == "welcome")
        ).all()
    )
    assert sorted(welcomes) == [(BOLA, "YO"), (CHI, "EN")]

    [entry] = audit_entries(hub, "households.import")
    assert entry.subject == "households" and entry.actor == browser.email
    details = json.loads(entry.details)
    assert details == {
        "file": "hub.csv",
        "rows_read": 6,
        "checked_good": 2,
        "added": 2,
        "left_out": 0,
        "first_code": bola.member_code,
        "last_code": chi.member_code,
    }
    assert "805" not in entry.details  # no phone number in the audit log


def test_an_admin_imports_too_and_an_auditor_may_not(seeded: Hub) -> None:
    hub = seeded
    admin = hub.signed_in("admin")
    token = token_of(upload(admin, "name,phone,zone\nBola Ade,08052223333,Yaba\n"))
    auditor = hub.signed_in("auditor")
    assert auditor.get("/dashboard/households/import").status_code == 403
    assert upload(auditor, "name,phone,zone\nBola Ade,08052223333,Yaba\n").status_code == 403
    assert write(auditor, token).status_code == 403
    assert hub.read(lambda s: member_by_phone(s, BOLA)) is None
    assert write(admin, token).status_code == 303
    assert hub.read(lambda s: member_by_phone(s, BOLA)) is not None


def test_signed_out_and_without_a_csrf_token_nothing_happens(seeded: Hub) -> None:
    hub = seeded
    stranger = hub.browser()
    assert stranger.get("/dashboard/households/import").status_code == 302
    operator = hub.signed_in("operator")
    token = token_of(upload(operator, "name,phone,zone\nBola Ade,08052223333,Yaba\n"))
    assert operator.post("/dashboard/households/import/write", {"rows": token}, csrf=False).status_code == 400
    assert hub.read(lambda s: member_by_phone(s, BOLA)) is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "hub.csv: The file is empty"),
        ("naam,telefoon,zone\nBola,0805,Yaba\n", "Missing: name, phone."),
        ("name,phone,zone\n", "no household under it"),
        (b"name,phone,zone\n" + b"x" * household_import.MAX_BYTES, "The file is larger than 2 MB"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_in_words(
    seeded: Hub, content: str | bytes, words: str
) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    page = upload(browser, content)
    assert page.status_code == 422 and words in page.text
    assert 'role="alert"' in page.text
    assert snapshot(hub.runtime.engine) == before


def test_a_file_over_the_requests_limit_is_refused_on_the_page(seeded: Hub) -> None:
    browser = seeded.signed_in("operator")
    page = upload(browser, b"x" * (csv_pages.UPLOAD_LIMIT + 1))
    assert page.status_code == 413 and "The file is larger than 2 MB" in page.text
    # Any other page keeps the app's own limit and its answer.
    other = browser.post("/dashboard/adjustments", {"reason": "x" * (2 * 1024 * 1024)})
    assert other.status_code == 413 and "Import households" not in other.text


def test_no_file_chosen(seeded: Hub) -> None:
    browser = seeded.signed_in("operator")
    page = browser.post("/dashboard/households/import", {})
    assert page.status_code == 422 and "Choose a CSV file to check." in page.text


def test_excels_windows_1252_file(seeded: Hub) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    page = upload(browser, "name;phone;zone\nJosé Ñwankwo;08052223333;Yaba\n".encode("cp1252"))
    assert results(page) == {2: f"Will be added as José Ñwankwo, {BOLA}, Yaba"}
    write(browser, token_of(page))
    assert hub.read(lambda s: member_by_phone(s, BOLA)).name == "José Ñwankwo"


def test_a_changed_or_someone_elses_check_is_refused(seeded: Hub) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    token = token_of(upload(browser, "name,phone,zone\nBola Ade,08052223333,Yaba\n"))
    changed = write(browser, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert changed.status_code == 422 and "could not be read" in changed.text
    other = write(hub.signed_in("operator"), token)
    assert other.status_code == 422 and "made by someone else" in other.text
    assert write(browser, "").status_code == 422
    assert hub.read(lambda s: member_by_phone(s, BOLA)) is None
    assert audit_entries(hub, "households.import") == []


def test_an_old_check_is_refused(seeded: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    token = token_of(upload(browser, "name,phone,zone\nBola Ade,08052223333,Yaba\n"))
    monkeypatch.setattr(csv_pages, "SESSION_HOURS", -1)
    page = write(browser, token)
    assert page.status_code == 422 and "hours old" in page.text
    assert hub.read(lambda s: member_by_phone(s, BOLA)) is None


def _register(hub: Hub, phone: str, name: str) -> None:
    def work(session: Session) -> None:
        ensure_phone(session, phone, datetime.now(UTC))
        zone = zone_by_name(session, "Yaba")
        assert zone is not None
        register_household(session, phone, name, None, "sms", datetime.now(UTC), zone_id=zone.id)

    hub.read(work)


def test_a_number_taken_since_the_check_is_left_out_and_said(seeded: Hub) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    token = token_of(
        upload(browser, "name,phone,zone\nBola Ade,08052223333,Yaba\nChi Obi,08061112222,Sabo\n")
    )
    _register(hub, BOLA, "Bola by SMS")
    done = write(browser, token)
    assert done.status_code == 303
    listed = browser.get("/dashboard/households").text
    assert "Imported 1 household from hub.csv" in listed
    assert f"1 left out, changed since the check: row 2: {BOLA} is already the number of household" in listed
    assert hub.read(lambda s: member_by_phone(s, BOLA)).name == "Bola by SMS"
    assert hub.read(lambda s: member_by_phone(s, CHI)).name == "Chi Obi"
    [entry] = audit_entries(hub, "households.import")
    assert json.loads(entry.details)["left_out"] == 1


def test_the_same_check_written_twice_imports_once(seeded: Hub) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    token = token_of(upload(browser, "name,phone,zone\nBola Ade,08052223333,Yaba\n"))
    assert write(browser, token).status_code == 303
    households = hub.count(households_t)
    again = write(browser, token)
    assert again.status_code == 422 and "Nothing was imported from hub.csv" in again.text
    assert hub.count(households_t) == households
    assert len(audit_entries(hub, "households.import")) == 1


def test_a_file_with_no_good_row_offers_no_import(seeded: Hub) -> None:
    browser = seeded.signed_in("operator")
    page = upload(browser, "name,phone,zone\n,08052223333,Yaba\n")
    assert page.status_code == 200 and 'name="rows"' not in page.text
    assert "No row can be imported" in page.text


# --- exports ---------------------------------------------------------------------------------------


def download(browser: Browser, path: str) -> list[dict[str, str]]:
    response = browser.get(path, buffered=False)
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/csv" and response.is_streamed
    assert re.match(
        r'attachment; filename="[a-z]+-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"]
    )
    text = b"".join(response.response).decode()
    response.close()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_households_export(seeded: Hub) -> None:
    hub = seeded
    _register(hub, BOLA, '=HYPERLINK("http://x")')
    auditor = hub.signed_in("auditor")
    rows = download(auditor, "/dashboard/households.csv")
    assert list(rows[0]) == list(exports.HOUSEHOLD_COLUMNS)
    assert len(rows) == hub.count(households_t) == 4
    ada = next(row for row in rows if row["name"] == "Ada Okafor")
    member = hub.read(lambda s: member_by_phone(s, ADA))
    balance = hub.read(lambda s: ledger.balance(s, member_account(member.member_code)).credit_balance)
    pickups, grams = hub.read(
        lambda s: s.execute(
            select(func.count(), func.sum(collections_t.c.grams)).where(
                collections_t.c.household_id == member.id, collections_t.c.status == "credited"
            )
        ).one()
    )
    assert ada == {
        "member_code": member.member_code,
        "name": "Ada Okafor",
        "phone": "'" + ADA,
        "zone": "Yaba",
        "address": "12 Adeniyi St, Yaba",
        "language": "EN",
        "status": "active",
        "joined": ada["joined"],
        "balance_points": str(balance),
        "pickups": str(pickups),
        "kg": sms.kg(grams),
    }
    assert balance > 0 and pickups > 0 and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", ada["joined"])
    bola = rows[-1]
    assert bola["name"] == '\'=HYPERLINK("http://x")' and (
        bola["pickups"],
        bola["kg"],
        bola["balance_points"],
    ) == (
        "0",
        "0",
        "0",
    )
    [entry] = audit_entries(hub, "households.export")
    assert (entry.subject, entry.actor) == ("households", auditor.email)


def test_the_households_export_reads_back_as_an_import(seeded: Hub) -> None:
    hub = seeded
    text = b"".join(hub.signed_in("operator").get("/dashboard/households.csv", buffered=False).response)
    reading = household_import.read_csv(text)
    assert reading.problem is None and len(reading.rows) == 3
    checked = hub.read(lambda s: household_import.dry_run(s, reading.rows, "NG"))
    assert [result.errors[0].split(" is already")[0] for result in checked] == [
        ADA,
        "+2348052345678",
        "+2348063456789",
    ]


def test_the_collectors_export(seeded: Hub) -> None:
    hub = seeded
    rows = download(hub.signed_in("operator"), "/dashboard/collectors.csv")
    assert list(rows[0]) == list(exports.COLLECTOR_COLUMNS)
    musa = next(row for row in rows if row["name"] == "Musa Ibrahim")
    commission = hub.read(lambda s: ledger.balance(s, collector_account(1)).credit_balance)
    count, grams = hub.read(
        lambda s: s.execute(
            select(func.count(), func.sum(collections_t.c.grams)).where(
                collections_t.c.collector_id == 1, collections_t.c.status == "credited"
            )
        ).one()
    )
    assert musa == {
        "name": "Musa Ibrahim",
        "phone": "'+2348030000001",
        "zone": "Yaba",
        "status": "active",
        "pickups": str(count),
        "kg": sms.kg(grams),
        "commission_balance": str(commission),
    }
    assert commission > 0 and len(rows) == 2
    assert len(audit_entries(hub, "collectors.export")) == 1


def test_the_pickups_export_a_row_per_material_filtered_by_local_day(seeded: Hub) -> None:
    hub = seeded
    browser = hub.signed_in("auditor")
    rows = download(browser, "/dashboard/pickups.csv")
    assert list(rows[0]) == list(exports.PICKUP_COLUMNS)
    lines = hub.read(
        lambda s: s.execute(
            select(
                collection_lines_t.c.collection_id,
                collection_lines_t.c.material_code,
                collection_lines_t.c.grams,
            )
        ).all()
    )
    assert sorted((int(r["pickup_id"]), r["material"], r["kg"]) for r in rows) == sorted(
        (pickup_id, material, sms.kg(grams)) for pickup_id, material, grams in lines
    )
    first = rows[0]
    pickup = hub.read(
        lambda s: s.execute(select(collections_t).where(collections_t.c.id == int(first["pickup_id"]))).one()
    )
    assert (first["receipt_ref"], first["status"], first["collector"]) == (
        pickup.reference,
        "credited",
        "Musa Ibrahim",
    )
    zone = hub.runtime.settings.zone
    assert first["time"] == pickup.occurred_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    day = pickup.occurred_at.astimezone(zone).date()
    one_day = download(browser, f"/dashboard/pickups.csv?from={day}&to={day}")
    assert {r["time"][:10] for r in one_day} == {str(day)}
    assert {r["pickup_id"] for r in one_day} == {first["pickup_id"]}  # the demo: a pickup a day
    since = download(browser, f"/dashboard/pickups.csv?from={day + timedelta(days=1)}")
    assert first["pickup_id"] not in {r["pickup_id"] for r in since} and since
    assert download(browser, f"/dashboard/pickups.csv?to={day - timedelta(days=1)}") == []
    entries = audit_entries(hub, "pickups.export")
    assert len(entries) == 4
    assert json.loads(entries[1].details) == {"from": str(day), "to": str(day)}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=yesterday", "From must be a date like 2026-11-24"),
        ("from=2026-11-24&to=2026-11-23", "To is before From"),
    ],
)
def test_a_bad_day_is_refused(seeded: Hub, query: str, words: str) -> None:
    hub = seeded
    page = hub.signed_in("auditor").get(f"/dashboard/pickups.csv?{query}")
    assert page.status_code == 422 and words in page.text
    assert audit_entries(hub, "pickups.export") == []


def test_exports_need_a_sign_in(seeded: Hub) -> None:
    stranger = seeded.browser()
    for path in ("/dashboard/households.csv", "/dashboard/collectors.csv", "/dashboard/pickups.csv"):
        assert stranger.get(path).status_code == 302


def test_every_chunk_is_read_once(seeded: Hub) -> None:
    hub = seeded
    for n in range(5):
        _register(hub, f"+23480611122{n:02d}", f"Person {n}")
    zone = hub.runtime.settings.zone
    whole = hub.read(lambda s: [row for chunk in exports.household_rows(s, zone) for row in chunk])
    chunks = hub.read(lambda s: list(exports.household_rows(s, zone, chunk=3)))
    assert [len(chunk) for chunk in chunks] == [3, 3, 2] and [r for c in chunks for r in c] == whole
    pickups = hub.read(lambda s: [r for c in exports.pickup_rows(s, zone) for r in c])
    in_twos = hub.read(lambda s: [r for c in exports.pickup_rows(s, zone, chunk=2) for r in c])
    assert in_twos == pickups and len(pickups) > 14


def test_a_number_taken_during_the_write_rolls_the_whole_import_back(
    seeded: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = seeded
    browser = hub.signed_in("operator")
    token = token_of(
        upload(browser, "name,phone,zone\nBola Ade,08052223333,Yaba\nChi Obi,08061112222,Sabo\n")
    )
    real = household_import.import_households

    def racing(uow: Any, rows: Any, region: str) -> household_import.Imported:
        done = real(uow, rows, region)
        # What another process's JOIN would hit at the same moment: the phone's unique key.
        register_household(uow.session, BOLA, "Bola by SMS", None, "sms", uow.now)
        return done

    monkeypatch.setattr(csv_pages.household_import, "import_households", racing)
    page = write(browser, token)
    assert page.status_code == 422 and "nothing was imported" in page.text
    assert hub.read(lambda s: (member_by_phone(s, BOLA), member_by_phone(s, CHI))) == (None, None)
    assert audit_entries(hub, "households.import") == []
