"""Typed settings, read once from the environment at start-up."""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent


def _data_dir(package: str, folder: str) -> Path:
    """Where a data package lies: inside the installed wheel, or the checkout's folder for an
    editable install (setup.py maps `content/` and `locales/` to these packages)."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return ROOT / folder


CONTENT_DIR = _data_dir("doorstep_content", "content")
LOCALES_DIR = _data_dir("doorstep_locales", "locales")
DEFAULT_API_URL = "https://api.telegram.org/bot"
# A district's code (DOORSTEP_DISTRICT, --district): short, lower case, safe in a file name.
DISTRICT_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is shown to the operator as is."""


class Secret(str):
    """A string that never shows itself in logs or reprs."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def reveal(self) -> str:
        return str.__str__(self)


def _parse_hhmm(value: str, name: str) -> time:
    try:
        hh, mm = value.split(":")
        return time(int(hh), int(mm))
    except ValueError as exc:
        raise ConfigError(f"{name} must look like 21:00, got {value!r}") from exc


def _positive_int(env: dict[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, got {value}")
    return value


def _flag(env: dict[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def db_target(value: str) -> Path | str:
    """DOORSTEP_DB / --db: a postgresql:// (or postgres://) URL stays a string, anything else
    is a SQLite file path."""
    if value.lower().startswith(("postgresql://", "postgres://")):
        return value
    return Path(value)


@dataclass(frozen=True)
class Settings:
    # A SQLite file, or a postgresql:// URL (str; may hold a password: never log it as is).
    db_path: Path | str = field(default=Path("doorstep.sqlite3"), repr=False)
    tz_name: str = "Asia/Shanghai"
    default_locale: str = "zh_Hans"
    telegram_token: Secret | None = None
    telegram_api_url: str = DEFAULT_API_URL
    content_dir: Path = CONTENT_DIR
    locales_dir: Path = LOCALES_DIR
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    global_rate: float = 30.0
    per_chat_interval: float = 1.0
    max_attempts: int = 6
    # Delivery: rows claimed but not yet recorded (the most a crash can send twice), parallel
    # sends, the most messages per second a broadcast keeps free for replies while residents
    # are chatting, and how long finished outbox rows are kept.
    delivery_window: int = 100
    delivery_concurrency: int = 32
    interactive_reserve: int = 10
    outbox_retention_days: int = 90
    # Telegram paid broadcasts (issue 14): off unless turned on; rows planned `paid` then go
    # out at up to `paid_rate` msg/s with allow_paid_broadcast, while the budget lasts
    # (Telegram charges 0.1 Star per paid message: a budget of N stars is 10*N messages).
    paid_broadcast: bool = False
    paid_budget_stars: int = 0
    paid_rate: float = 1000.0
    # Booking (issue 5): slot length in minutes, places per slot, upcoming bookings per resident.
    slot_minutes: int = 15
    slot_capacity: int = 1
    max_bookings: int = 3
    # Doctors' broadcasts (issue 7): at most this many per doctor per day.
    broadcasts_per_day: int = 3
    # Channels beyond Telegram (issue 8): WeChat is on when wechat_token is set.
    telegram_webhook_secret: Secret | None = None
    wechat_token: Secret | None = None
    wechat_app_id: str = ""
    wechat_app_secret: Secret | None = None
    wechat_aes_key: Secret | None = None
    wechat_api_url: str = "https://api.weixin.qq.com"
    wechat_templates: str = ""  # JSON, or a path to a .json / .toml file
    wechat_msgmenu: bool = False
    # Security (issue 16): how far a WeChat request's timestamp may be from our clock, and
    # the token that shows operators /healthz's details.
    wechat_max_skew: int = 300
    operator_token: Secret | None = None
    # Several districts (issue 14): the district this process serves ('default' in a
    # single-district deployment), or '*' for a bot shared by every district.
    district: str = "default"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def paid_budget_messages(self) -> int:
        """Paid messages the budget buys (0.1 Star each)."""
        return self.paid_budget_stars * 10

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from environment variables; raise ConfigError on bad values."""
        env = dict(os.environ if env is None else env)
        token = env.get("TELEGRAM_BOT_TOKEN") or None
        tz_name = env.get("DOORSTEP_TZ", "Asia/Shanghai")
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"DOORSTEP_TZ={tz_name!r} is not a known time zone") from exc
        locale = env.get("DOORSTEP_DEFAULT_LOCALE", "zh_Hans")
        if locale not in ("zh_Hans", "en"):
            raise ConfigError("DOORSTEP_DEFAULT_LOCALE must be zh_Hans or en")
        values: dict[str, object] = {
            "db_path": db_target(env.get("DOORSTEP_DB", "doorstep.sqlite3")),
            "tz_name": tz_name,
            "default_locale": locale,
            "telegram_token": Secret(token) if token else None,
            "telegram_api_url": env.get("TELEGRAM_API_URL") or DEFAULT_API_URL,
            "content_dir": Path(env.get("DOORSTEP_CONTENT", str(CONTENT_DIR))),
            "quiet_start": _parse_hhmm(env.get("DOORSTEP_QUIET_START", "21:00"), "QUIET_START"),
            "quiet_end": _parse_hhmm(env.get("DOORSTEP_QUIET_END", "08:00"), "QUIET_END"),
            "global_rate": float(env.get("DOORSTEP_GLOBAL_RATE", "30")),
            "per_chat_interval": float(env.get("DOORSTEP_PER_CHAT_INTERVAL", "1.0")),
            "max_attempts": _positive_int(env, "DOORSTEP_MAX_ATTEMPTS", 6),
            "delivery_window": _positive_int(env, "DOORSTEP_DELIVERY_WINDOW", 100),
            "delivery_concurrency": _positive_int(env, "DOORSTEP_DELIVERY_CONCURRENCY", 32),
            "interactive_reserve": _positive_int(env, "DOORSTEP_INTERACTIVE_RESERVE", 10, low=0),
            "outbox_retention_days": _positive_int(env, "DOORSTEP_OUTBOX_RETENTION_DAYS", 90),
            "paid_broadcast": _flag(env, "DOORSTEP_PAID_BROADCAST"),
            "paid_budget_stars": _positive_int(env, "DOORSTEP_PAID_BUDGET_STARS", 0, low=0),
            "paid_rate": float(env.get("DOORSTEP_PAID_RATE", "1000")),
            "slot_minutes": _positive_int(env, "DOORSTEP_SLOT_MINUTES", 15),
            "slot_capacity": _positive_int(env, "DOORSTEP_SLOT_CAPACITY", 1),
            "max_bookings": _positive_int(env, "DOORSTEP_MAX_BOOKINGS", 3),
            "broadcasts_per_day": _positive_int(env, "DOORSTEP_BROADCASTS_PER_DAY", 3),
            "district": district_code(env.get("DOORSTEP_DISTRICT") or "default", shared=True),
            # Not the database URLs: they may hold a password, and are settings of their own.
            "extra": {
                k: v
                for k, v in env.items()
                if k.startswith("DOORSTEP_") and k not in ("DOORSTEP_DB", "DOORSTEP_TEST_DB")
            },
        }
        values.update(_channel_settings(env))
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def district_code(value: str, shared: bool = False) -> str:
    """A valid district code (or '*', all districts, where `shared` allows it)."""
    if shared and value == "*":
        return value
    if not DISTRICT_CODE.match(value):
        raise ConfigError(
            f"district code {value!r}: use 1-32 lower-case letters, digits, '-' or '_'"
            + (", or '*' for a bot shared by all districts" if shared else "")
        )
    return value


def _channel_settings(env: dict[str, str]) -> dict[str, object]:
    """Settings of the webhook, WeChat and web chat channels (`doorstep serve`)."""

    def secret(name: str) -> Secret | None:
        value = env.get(name) or None
        return Secret(value) if value else None

    aes_key = env.get("WECHAT_AES_KEY") or ""
    if aes_key and len(aes_key) != 43:
        raise ConfigError("WECHAT_AES_KEY (EncodingAESKey) must be 43 characters long")
    return {
        "telegram_webhook_secret": secret("TELEGRAM_WEBHOOK_SECRET"),
        "wechat_token": secret("WECHAT_TOKEN"),
        "wechat_app_id": env.get("WECHAT_APP_ID", ""),
        "wechat_app_secret": secret("WECHAT_APP_SECRET"),
        "wechat_aes_key": Secret(aes_key) if aes_key else None,
        "wechat_api_url": env.get("WECHAT_API_URL") or "https://api.weixin.qq.com",
        "wechat_templates": env.get("WECHAT_TEMPLATES", ""),
        "wechat_msgmenu": env.get("WECHAT_MSGMENU", "").lower() in ("1", "true", "yes", "on"),
        "wechat_max_skew": _positive_int(env, "WECHAT_MAX_SKEW", 300),
        "operator_token": secret("DOORSTEP_OPERATOR_TOKEN"),
    }
