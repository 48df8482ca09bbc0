"""Shared fixtures: a real SQLite file in a temp dir, a started Runtime, chat users.

With DOORSTEP_TEST_DB=postgresql://... every test runs on PostgreSQL instead: each SQLite path
a test uses maps to a database of its own (bot.storage.pgtest), dropped when the test ends.
Tests that can only mean SQLite (its files, its pragmas) are marked `sqlite_only(reason)`.
"""

from __future__ import annotations

import os

# PTB 22 warns that RetryAfter.retry_after becomes a timedelta; opt in (our code reads both).
os.environ.setdefault("PTB_TIMEDELTA", "1")
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.channels.web import WebChat, WebSender
from bot.config import Settings
from bot.runtime import Runtime
from bot.storage import pgtest
from bot.web.app import build_app
from tests.browser import ARGS, CHROMIUM, WAIT_MS
from tests.fakes.wechat_api import serve_asgi
from tests.harness import ChatUser

PG_URL = pgtest.admin_url()
# One id per run, inherited by the child processes tests start, so a run drops only its own
# databases (names: dt_<run>_<hash of the path>).
os.environ.setdefault(pgtest.RUN_ENV, f"p{os.getpid()}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test is about SQLite itself; skipped on PostgreSQL"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL is None:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "SQLite only"
            item.add_marker(pytest.mark.skip(reason=f"sqlite only: {reason}"))


def _drop_run_databases(under: Path | None) -> None:
    """Drop this run's databases for files under `under` (all of them when None)."""
    assert PG_URL is not None
    prefix = f"{pgtest.PREFIX}{pgtest.run_id()}_"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        if under is None:
            query = "SELECT datname FROM pg_database WHERE starts_with(datname, %s)"
            args: tuple[str, ...] = (prefix,)
        else:
            query = (
                f"SELECT name FROM {pgtest.REGISTRY} WHERE starts_with(name, %s) "
                "AND starts_with(path, %s)"
            )
            args = (prefix, str(under.absolute()) + "/")
        try:
            names = [str(r[0]) for r in conn.execute(query, args)]  # type: ignore[arg-type]
        except psycopg.errors.UndefinedTable:
            return  # no database made yet
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
            if under is not None:
                conn.execute(f"DELETE FROM {pgtest.REGISTRY} WHERE name = %s", (name,))


@pytest.fixture(scope="session", autouse=True)
def _run_databases() -> Iterator[None]:
    """On PostgreSQL: whatever this run made (module fixtures' too) is dropped at its end."""
    yield
    if PG_URL is not None:
        _drop_run_databases(None)


@pytest.fixture(autouse=True)
def _own_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """On PostgreSQL: the databases of the test's own tmp_path are dropped when it ends."""
    under = None
    if PG_URL is not None and "tmp_path" in request.fixturenames:
        under = request.getfixturevalue("tmp_path")  # now, so it is torn down after us
    yield
    if under is not None:
        _drop_run_databases(under)


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


@pytest.fixture
async def chat_url(rt: Runtime) -> AsyncIterator[str]:
    """The web chat of `rt`, served over HTTP: its /chat page's URL."""
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    async with serve_asgi(build_app(rt, web=web)) as url:
        yield url + "/chat"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (Debian's) driven by Playwright, closed after the test; pages wait
    up to WAIT_MS for what they expect. Tests using it carry `tests.browser.needs_chromium`."""
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
