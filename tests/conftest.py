"""Shared fixtures: a real SQLite file in a temp dir, a started Runtime, chat users."""

from __future__ import annotations

import os

# PTB 22 warns that RetryAfter.retry_after becomes a timedelta; opt in (our code reads both).
os.environ.setdefault("PTB_TIMEDELTA", "1")
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from tests.harness import ChatUser


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value


@pytest.fixture
def clock() -> Clock:
    # 10:00 in Shanghai on a Tuesday
    return Clock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, db_path=tmp_path / "doorstep.sqlite3")


@pytest.fixture
async def rt(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, clock=clock)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture
def make_user(rt: Runtime) -> Callable[..., ChatUser]:
    def make(user_id: str = "1001", language_code: str | None = "en") -> ChatUser:
        return ChatUser(rt, user_id=user_id, language_code=language_code)

    return make


@pytest.fixture
async def user(make_user: Callable[..., ChatUser]) -> ChatUser:
    """An English-speaking resident who has been through /start and consent."""
    u = make_user()
    await u.onboard()
    return u
