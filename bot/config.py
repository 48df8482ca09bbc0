"""Typed settings, read once from the environment at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_API_URL = "https://api.telegram.org/bot"


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


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("doorstep.sqlite3")
    tz_name: str = "Asia/Shanghai"
    default_locale: str = "zh_Hans"
    telegram_token: Secret | None = None
    telegram_api_url: str = DEFAULT_API_URL
    content_dir: Path = ROOT / "content"
    locales_dir: Path = ROOT / "locales"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    global_rate: float = 30.0
    per_chat_interval: float = 1.0
    max_attempts: int = 6
    extra: dict[str, str] = field(default_factory=dict)

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
            "db_path": Path(env.get("DOORSTEP_DB", "doorstep.sqlite3")),
            "tz_name": tz_name,
            "default_locale": locale,
            "telegram_token": Secret(token) if token else None,
            "telegram_api_url": env.get("TELEGRAM_API_URL") or DEFAULT_API_URL,
            "content_dir": Path(env.get("DOORSTEP_CONTENT", str(ROOT / "content"))),
            "quiet_start": _parse_hhmm(env.get("DOORSTEP_QUIET_START", "21:00"), "QUIET_START"),
            "quiet_end": _parse_hhmm(env.get("DOORSTEP_QUIET_END", "08:00"), "QUIET_END"),
            "global_rate": float(env.get("DOORSTEP_GLOBAL_RATE", "30")),
            "per_chat_interval": float(env.get("DOORSTEP_PER_CHAT_INTERVAL", "1.0")),
            "extra": {k: v for k, v in env.items() if k.startswith("DOORSTEP_")},
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
