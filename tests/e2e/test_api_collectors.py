"""The operators' endpoints: a collector's new app PIN (which signs every phone of theirs out) and
signing a collector's app out everywhere; each written to the audit log, never with the PIN."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from service.models import api_tokens_t, audit_log_t
from tests.e2e.api_helpers import KEMI, MUSA, PIN, Api, error_of


def audit(api: Api, action: str) -> list[tuple[str, str, dict[str, object], str]]:
    rows = api.read(
        lambda s: s.execute(
            select(audit_log_t.c.actor, audit_log_t.c.subject, audit_log_t.c.details, audit_log_t.c.address)
            .where(audit_log_t.c.action == action)
            .order_by(audit_log_t.c.id)
        ).all()
    )
    return [(actor, subject, json.loads(details), address) for actor, subject, details, address in rows]


def live_tokens(api: Api, collector_id: int) -> int:
    return len(
        api.read(
            lambda s: s.execute(
                select(api_tokens_t.c.id).where(
                    api_tokens_t.c.collector_id == collector_id, api_tokens_t.c.revoked_at.is_(None)
                )
            ).all()
        )
    )


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_an_operator_gives_a_collector_a_new_pin_and_their_phones_are_signed_out(api: Api, role: str) -> None:
    musa_id = api.collector_id(MUSA)
    phones = [api.collector_token(MUSA), api.collector_token(MUSA)]
    kemi = api.collector_token(KEMI)
    operator = api.user_token(role)
    response = api.put(f"/collectors/{musa_id}/pin", operator, json={"pin": "590317"})
    assert response.status_code == 204 and response.data == b""
    for token in phones:
        error_of(api.get("/me", token), 401)
    assert api.get("/me", kemi).status_code == 200
    assert live_tokens(api, musa_id) == 0
    error_of(api.sign_in(MUSA, PIN), 401)
    assert api.sign_in(MUSA, "590317").status_code == 201
    ((actor, subject, details, address),) = audit(api, "collector.pin")
    assert actor.startswith(role) and subject == f"collector:{musa_id}" and address == api.address
    assert details == {"tokens_ended": 2, "via": "api"}
    everything = json.dumps(
        api.read(lambda s: [tuple(r) for r in s.execute(select(audit_log_t)).all()]), default=str
    )
    assert "590317" not in everything


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("1234", "That PIN is too easy to guess. Do not use a run like 1234 or 1111."),
        ("1111", "That PIN is too easy to guess. Do not use a run like 1234 or 1111."),
        ("987654", "That PIN is too easy to guess. Do not use a run like 1234 or 1111."),
        ("123", "A PIN is 4 to 6 digits."),
        ("12a4", "A PIN is 4 to 6 digits."),
        ("1234567", "A PIN is 4 to 6 digits."),
        ("٤٨٢١", "A PIN is 4 to 6 digits."),  # Arabic-Indic digits
    ],
)
def test_a_pin_that_will_not_do_is_422_on_the_pin_field(api: Api, pin: str, message: str) -> None:
    token = api.collector_token(MUSA)
    error = error_of(
        api.put(f"/collectors/{api.collector_id(MUSA)}/pin", api.user_token("admin"), json={"pin": pin}), 422
    )
    assert error["fields"] == {"pin": [message]}
    assert api.get("/me", token).status_code == 200  # nothing changed
    assert audit(api, "collector.pin") == []


@pytest.mark.parametrize("body", [{}, {"pin": 4821}, {"pin": ""}, {"pin": "4821", "phone": MUSA}])
def test_a_pin_body_that_cannot_be_read_is_422(api: Api, body: object) -> None:
    error = error_of(
        api.put(f"/collectors/{api.collector_id(MUSA)}/pin", api.user_token("admin"), json=body), 422
    )
    assert error["fields"]


def test_auditors_and_collectors_may_not_touch_pins_or_tokens(api: Api) -> None:
    musa_id = api.collector_id(MUSA)
    for token in (api.user_token("auditor"), api.collector_token(MUSA)):
        error_of(api.put(f"/collectors/{musa_id}/pin", token, json={"pin": "5903"}), 403, "forbidden")
        error_of(api.delete(f"/collectors/{musa_id}/tokens", token), 403, "forbidden")
    assert live_tokens(api, musa_id) == 1
    assert audit(api, "collector.pin") == [] and audit(api, "collector.signout") == []


def test_an_unknown_collector_is_404(api: Api) -> None:
    admin = api.user_token("admin")
    error_of(api.put("/collectors/999/pin", admin, json={"pin": "5903"}), 404, "not_found")
    error_of(api.delete("/collectors/999/tokens", admin), 404, "not_found")
    error_of(api.delete("/collectors/x/tokens", admin), 404, "not_found")


def test_an_operator_signs_a_collector_out_everywhere(api: Api) -> None:
    musa_id = api.collector_id(MUSA)
    phones = [api.collector_token(MUSA) for _ in range(2)]
    kemi = api.collector_token(KEMI)
    operator = api.user_token("operator")
    response = api.delete(f"/collectors/{musa_id}/tokens", operator)
    assert response.status_code == 200 and response.json == {"revoked": 2}
    for token in phones:
        error_of(api.get("/me", token), 401)
    assert api.get("/me", kemi).status_code == 200
    assert api.delete(f"/collectors/{musa_id}/tokens", operator).json == {"revoked": 0}
    assert [details for _, _, details, _ in audit(api, "collector.signout")] == [
        {"tokens_ended": 2, "via": "api"},
        {"tokens_ended": 0, "via": "api"},
    ]
    # Their PIN still works: a new sign-in is a new token.
    assert api.sign_in(MUSA).status_code == 201
