"""The API's signing in and out: collectors by phone + PIN, dashboard users by email + password;
what ends a token (signing out, a new PIN, expiry, suspension); the limit on failed sign-ins;
``/me``; and the error answers every endpoint shares (shape, 404, 405, bodies that are not JSON,
security headers) and the reference page."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import select, update

from service.models import api_tokens_t, audit_log_t, collectors_t
from service.usecases.roles import set_collector_status
from service.usecases.tokens import SEQ_BLOCK
from tests.e2e.api_helpers import (
    KEMI,
    MUSA,
    PIN,
    Api,
    bearer,
    error_of,
)
from tests.e2e.hub import PASSWORD, Hub


@pytest.fixture
def api(hub: Hub, redis: Redis) -> Api:
    """The demo programme; Redis (the rate limits' counts) emptied before and after."""
    hub.seed()
    made = Api(hub)
    made.set_pin(MUSA)
    return made


# --- collectors signing in ---------------------------------------------------------------------------


def test_a_collector_signs_in_with_phone_and_pin_in_any_form(api: Api) -> None:
    for phone in (MUSA, "08030000001", "234 803 000 0001"):
        response = api.sign_in(phone, label="Tecno phone")
        assert response.status_code == 201, response.text
        body = response.json
        assert body is not None
        assert body["token"].startswith("kt_")
        me = body["me"]
        assert me["kind"] == "collector" and me["role"] == "collector"
        assert me["name"] == "Musa Ibrahim"
        assert me["zone"] == {"id": 1, "name": "Yaba", "days": "Tue, Fri 8-12"}
        assert me["programme"] == {"name": "Kolekt", "timezone": "Africa/Lagos", "sms_number": ""}
        expires = datetime.fromisoformat(me["expires_at"])
        assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
        # The token works, and /me says the same.
        assert api.get("/me", body["token"]).json == me
    labels = api.read(lambda s: s.execute(select(api_tokens_t.c.label)).scalars().all())
    assert labels == ["Tecno phone"] * 3


@pytest.mark.parametrize(
    ("phone", "pin"),
    [
        (MUSA, "4822"),  # wrong PIN
        ("+2348039999999", PIN),  # nobody's phone
        (KEMI, PIN),  # a collector without a PIN
        ("+2348031234567", PIN),  # a household's phone
        ("not a phone", PIN),
    ],
)
def test_a_wrong_sign_in_is_401_and_never_says_which_part_was_wrong(api: Api, phone: str, pin: str) -> None:
    error = error_of(api.sign_in(phone, pin), 401, "unauthorized")
    assert error["message"] == "Wrong phone or PIN."
    assert api.hub.count(api_tokens_t) == 0


def test_a_suspended_collector_cannot_sign_in_and_their_tokens_stop_working(api: Api) -> None:
    token = api.collector_token()
    with api.hub.session() as session:
        set_collector_status(session, MUSA, "suspended")
    assert error_of(api.sign_in(), 401)["message"] == "Wrong phone or PIN."
    error_of(api.get("/me", token), 401, "unauthorized")
    with api.hub.session() as session:
        set_collector_status(session, MUSA, "active")
    assert api.get("/me", token).status_code == 200


def test_each_sign_in_gets_its_own_block_of_seq_numbers(api: Api) -> None:
    bases = [api.sign_in().json["me"]["seq_base"] for _ in range(3)]  # type: ignore[index]
    assert len(set(bases)) == 3
    assert all(base % SEQ_BLOCK == 0 and base >= SEQ_BLOCK for base in bases)
    ordered = sorted(bases)
    assert all(b - a >= SEQ_BLOCK for a, b in itertools.pairwise(ordered))


# --- users signing in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "operator", "auditor"])
def test_a_dashboard_user_signs_in_with_email_and_password_and_gets_their_role(api: Api, role: str) -> None:
    email = api.hub.add_user(role)
    response = api.post("/auth/token", json={"email": email.upper(), "password": PASSWORD, "days": 7})
    assert response.status_code == 201, response.text
    me = response.json["me"]  # type: ignore[index]
    assert me["kind"] == "user" and me["role"] == role and me["name"] == email
    assert me["zone"] is None and me["seq_base"] is None
    expires = datetime.fromisoformat(me["expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert api.get("/me", response.json["token"]).json == me  # type: ignore[index]
    (details,) = api.read(
        lambda s: (
            s.execute(select(audit_log_t.c.details).where(audit_log_t.c.action == "api.token"))
            .scalars()
            .all()
        )
    )
    assert json.loads(details)["token_id"] == me["token_id"]


def test_a_user_with_a_wrong_password_or_unknown_email_is_401_alike(api: Api) -> None:
    email = api.hub.add_user("operator")
    wrong = error_of(api.post("/auth/token", json={"email": email, "password": "nope"}), 401)
    unknown = error_of(api.post("/auth/token", json={"email": "x" + email, "password": PASSWORD}), 401)
    assert wrong == unknown == {"code": "unauthorized", "message": "Wrong email or password."}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "_schema"),
        ({"phone": MUSA}, "_schema"),
        ({"pin": PIN}, "_schema"),
        ({"email": "a@b.c"}, "_schema"),
        ({"phone": MUSA, "pin": PIN, "email": "a@b.c", "password": "x"}, "_schema"),
        ({"phone": MUSA, "pin": PIN, "days": 5}, "days"),
        ({"email": "a@b.c", "password": "x", "days": 0}, "days"),
        ({"email": "a@b.c", "password": "x", "days": "7"}, "days"),
        ({"phone": MUSA, "pin": 4821}, "pin"),
        ({"phone": MUSA, "pin": PIN, "label": "x" * 81}, "label"),
        ([MUSA, PIN], "_schema"),
    ],
)
def test_a_sign_in_body_that_cannot_be_read_is_422_with_the_fields(
    api: Api, body: object, field: str
) -> None:
    error = error_of(api.post("/auth/token", json=body), 422, "unprocessable_entity")
    assert field in error["fields"], error


# --- the limit on failed sign-ins ----------------------------------------------------------------------


def test_five_failed_sign_ins_for_a_phone_in_any_form_lock_it_for_a_while(api: Api) -> None:
    # The forms of one number count as that number: writing it another way gets no more tries.
    for phone in ("08030000001", MUSA, "2348030000001", "0803 000 0001", "+234 803-000-0001"):
        error_of(api.sign_in(phone, "9173"), 401)
    response = api.sign_in(MUSA, PIN)  # even the right PIN, now
    error_of(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0
    # Another collector's phone is not locked by Musa's.
    api.set_pin(KEMI)
    assert api.sign_in(KEMI).status_code == 201


def test_successful_sign_ins_do_not_count_towards_the_limit(api: Api) -> None:
    for _ in range(4):
        error_of(api.sign_in(MUSA, "9173"), 401)
    for _ in range(3):
        assert api.sign_in().status_code == 201
    error_of(api.sign_in(MUSA, "9173"), 401)  # the fifth failure
    error_of(api.sign_in(), 429)


def test_failed_user_sign_ins_are_limited_per_email(api: Api) -> None:
    email = api.hub.add_user("operator")
    for _ in range(5):
        error_of(api.post("/auth/token", json={"email": email, "password": "nope"}), 401)
    response = api.post("/auth/token", json={"email": f" {email.upper()} ", "password": PASSWORD})
    error_of(response, 429)
    assert "Retry-After" in response.headers


# --- what ends a token -------------------------------------------------------------------------------


def test_signing_out_revokes_the_token_presented_only(api: Api) -> None:
    first, second = api.collector_token(), api.collector_token()
    response = api.delete("/auth/token", first)
    assert response.status_code == 204 and response.data == b""
    error_of(api.get("/me", first), 401, "unauthorized")
    error_of(api.delete("/auth/token", first), 401)
    assert api.get("/me", second).status_code == 200
    revoked = api.read(
        lambda s: (
            s.execute(select(api_tokens_t.c.revoked_by).where(api_tokens_t.c.revoked_at.is_not(None)))
            .scalars()
            .all()
        )
    )
    assert revoked == [f"collector:{api.collector_id()}"]


def test_a_user_signs_out_too(api: Api) -> None:
    token = api.user_token("auditor")
    assert api.delete("/auth/token", token).status_code == 204
    error_of(api.get("/me", token), 401)


def test_a_new_pin_ends_every_token_the_collector_held(api: Api) -> None:
    tokens = [api.collector_token() for _ in range(2)]
    api.set_pin(MUSA, "5930")
    for token in tokens:
        error_of(api.get("/me", token), 401)
    error_of(api.sign_in(MUSA, PIN), 401)
    assert api.sign_in(MUSA, "5930").status_code == 201


def test_an_expired_token_is_401(api: Api) -> None:
    token = api.collector_token()
    api.expire_tokens()
    error_of(api.get("/me", token), 401, "unauthorized")


def test_a_disabled_users_token_ends(api: Api) -> None:
    from service.usecases.users import set_active

    email = api.hub.add_user("operator")
    token = api.post("/auth/token", json={"email": email, "password": PASSWORD}).json["token"]  # type: ignore[index]
    with api.hub.session() as session:
        set_active(session, email, False)
    error_of(api.get("/me", token), 401)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer kt_not-a-token"},
        {"Authorization": "Bearer " + "kt_" + "x" * 200},
        {"Authorization": "Bearer not-even-the-prefix"},
    ],
)
def test_no_valid_token_is_401_with_a_bearer_challenge(api: Api, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/me"), ("GET", "/households"), ("POST", "/sync"), ("GET", "/totals")):
        response = api.call(method, path, headers=headers)
        error_of(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="kolekt"'


def test_a_tokens_last_use_is_written_now_and_then(api: Api) -> None:
    token = api.collector_token()
    assert api.read(lambda s: s.execute(select(api_tokens_t.c.last_used_at)).scalar()) is None
    assert api.get("/me", token).status_code == 200
    used = api.read(lambda s: s.execute(select(api_tokens_t.c.last_used_at)).scalar())
    assert used is not None
    assert api.get("/me", token).status_code == 200
    assert api.read(lambda s: s.execute(select(api_tokens_t.c.last_used_at)).scalar()) == used


def test_the_database_keeps_only_a_hash_of_the_token(api: Api) -> None:
    token = api.collector_token()
    stored = api.read(lambda s: s.execute(select(api_tokens_t.c.token_hash)).scalar())
    assert token not in stored and len(stored) == 64


# --- /me ---------------------------------------------------------------------------------------------


def test_me_for_a_collector_without_a_zone(api: Api) -> None:
    with api.hub.session() as session:
        session.execute(update(collectors_t).where(collectors_t.c.phone == MUSA).values(zone_id=None))
    me = api.get("/me", api.collector_token()).json
    assert me is not None and me["zone"] is None and me["seq_base"] == SEQ_BLOCK


# --- errors every endpoint shares ----------------------------------------------------------------------


def test_an_unknown_api_path_is_a_json_404(api: Api) -> None:
    for headers in ({}, {"Accept": "text/html"}):
        response = api.get("/nothing/here", api.collector_token(), headers=headers)
        error_of(response, 404, "not_found")


def test_a_wrong_method_is_a_json_405_that_says_which_are_allowed(api: Api) -> None:
    response = api.call("PATCH", "/me", api.collector_token())
    error_of(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    response = api.put("/auth/token")
    error_of(response, 405)
    assert {"POST", "DELETE"} <= set(response.headers["Allow"].replace(" ", "").split(","))


@pytest.mark.parametrize(
    ("path", "method"),
    [("/auth/token", "POST"), ("/households", "POST"), ("/sync", "POST"), ("/collectors/1/pin", "PUT")],
)
def test_a_body_that_is_not_json_is_422_and_says_to_send_json(api: Api, path: str, method: str) -> None:
    token = api.user_token("admin") if path.startswith("/collectors") else api.collector_token()
    for data, content_type in (
        ('{"phone": "08030000001", "pin": "4821"', "application/json"),  # cut short
        (b"\xff\xfe", "application/json"),  # not even text
        ("phone=08030000001&pin=4821", "application/x-www-form-urlencoded"),
        ('{"phone": "08030000001", "pin": "4821"}', "text/plain"),
    ):
        response = api.call(
            method, path, None if path == "/auth/token" else token, data=data, content_type=content_type
        )
        error = error_of(response, 422, "unprocessable_entity")
        assert error["fields"] == {"_schema": [error["message"]]}, error
        assert "JSON" in error["message"], error
    assert api.hub.count(api_tokens_t) <= 2  # nothing was signed in by a form


def test_api_answers_carry_security_headers(api: Api) -> None:
    token = api.collector_token()
    for response in (
        api.get("/me", token),
        api.get("/me"),
        api.get("/nothing"),
        api.get("/openapi.json"),
        api.sign_in(MUSA, "0000"),
    ):
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_reference_page_shows_every_operation_and_runs_no_script(api: Api) -> None:
    spec = api.get("/openapi.json").json
    assert spec is not None
    response = api.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert not re.search(r"<script", page, re.IGNORECASE)
    assert not re.search(r"\son\w+\s*=", page)  # no inline handlers either
    shown = 0
    for path, operations in spec["paths"].items():
        for method in operations:
            if method in ("get", "post", "put", "delete", "patch"):
                assert f"<code>{method.upper()} {path}</code>" in page, (method, path)
                shown += 1
    assert shown >= 12
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_the_openapi_document_names_every_error_answer_with_the_error_schema(api: Api) -> None:
    spec = api.get("/openapi.json").json
    assert spec is not None
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "delete"):
                continue
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            # Every endpoint is rate limited: 429 is one of its answers.
            assert "429" in operation["responses"], (method, path)
            needs_token = operation.get("security") != []
            assert ("401" in operation["responses"]) == needs_token or path == "/api/v1/auth/token"


def test_bearer_is_case_insensitive_and_the_token_is_trimmed(api: Api) -> None:
    token = api.collector_token()
    assert api.get("/me", headers={"Authorization": f"bearer  {token} "}).status_code == 200
    assert api.get("/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a\x00@hub.example", "password": "x"}, "email"),
        ({"phone": MUSA, "pin": "48\x0021"}, "pin"),
        ({"phone": MUSA, "pin": PIN, "label": "Tecno\x00"}, "label"),
        ({"phone": MUSA, "pin": PIN, "label": "\ud800"}, "label"),  # a lone surrogate: no character
    ],
)
def test_text_the_database_cannot_keep_is_422_not_a_server_error(
    api: Api, body: dict[str, str], field: str
) -> None:
    error = error_of(api.post("/auth/token", json=body), 422)
    assert error["fields"] == {field: ["Not valid text: no NUL characters or lone surrogates."]}
    assert api.hub.count(api_tokens_t) == 0


def test_a_body_over_a_megabyte_is_refused_before_it_is_read(api: Api) -> None:
    response = api.post(
        "/auth/token", data=b"{" + b" " * (1024 * 1024) + b"}", content_type="application/json"
    )
    error = error_of(response, 413, "request_entity_too_large")
    assert error["message"]
