"""Telegram paid broadcasts (issue 14, part 5: the delivery side).

Rows planned `paid` (urgent announcements) go out with `allow_paid_broadcast` through their own
limiter lane when the deployment turns paid broadcasts on, while the budget lasts; past the
budget, or with paid broadcasts off, the same rows still go out, unpaid, at the normal rate.
The real dispatcher and PTB stack over the fake Bot API; what is asserted is what the fake
received and what the outbox recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramSender, build_application
from bot.config import ConfigError, Settings
from bot.delivery.dispatcher import PAID_NOTE
from bot.domain.outbox import Planned
from bot.runtime import Runtime
from tests.fakes.botapi import FakeBotAPI, FakeRequest

FIRST_CHAT = 610_000


def paid_settings(tmp_path: Path, **env: str) -> Settings:
    base = {
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "DOORSTEP_QUIET_START": "00:00",
        "DOORSTEP_QUIET_END": "00:00",
        "DOORSTEP_PER_CHAT_INTERVAL": "0",
    }
    return Settings.from_env({**base, **env}, db_path=tmp_path / "paid.sqlite3")


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI("123:ABC")


async def started(settings: Settings, api: FakeBotAPI) -> AsyncIterator[Runtime]:
    rt = Runtime(settings)
    await rt.start()
    app = build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders["telegram"] = TelegramSender(app.bot)
        yield rt
    await rt.stop()


async def plan(rt: Runtime, n: int, paid: bool = True) -> list[str]:
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        r = await rt.stores.residents.create("telegram", str(FIRST_CHAT + i))
        rows.append(
            Planned(
                r.id,
                "text",
                "text",
                now,
                f"an:1:{r.id}",
                params={"text": f"announce {i}"},
                urgent=True,
                group_key="an:1",
                paid=paid,
            )
        )
    assert await rt.stores.outbox.plan(rows, now) == n
    return [p.dedupe_key for p in rows]


def flagged(api: FakeBotAPI) -> list[bool]:
    return [
        c.params.get("allow_paid_broadcast") in (True, "true")
        for c in api.calls_to("sendMessage")
        if c.ok
    ]


async def test_the_paid_flag_is_kept_with_the_row(tmp_path: Path, api: FakeBotAPI) -> None:
    async for rt in started(paid_settings(tmp_path), api):
        keys = await plan(rt, 2)
        row = await rt.stores.outbox.by_dedupe(keys[0])
        assert row is not None and row.paid and row.urgent
        now = datetime.now(UTC)
        other = await rt.stores.residents.create("telegram", "620000")
        await rt.stores.outbox.plan([Planned(other.id, "text", "text", now, "plain:1")], now)
        plain = await rt.stores.outbox.by_dedupe("plain:1")
        assert plain is not None and not plain.paid


async def test_paid_rows_go_paid_while_the_budget_lasts(tmp_path: Path, api: FakeBotAPI) -> None:
    # 1 Star buys 10 paid messages (0.1 Star each); 15 recipients.
    settings = paid_settings(tmp_path, DOORSTEP_PAID_BROADCAST="1", DOORSTEP_PAID_BUDGET_STARS="1")
    assert settings.paid_budget_messages == 10
    async for rt in started(settings, api):
        keys = await plan(rt, 15)
        assert await rt.delivery.dispatcher.drain() == 15
        marks = flagged(api)
        assert len(marks) == 15, "every recipient got the announcement"
        assert marks.count(True) == 10, "exactly the budget went out paid"
        # The report reads what was recorded: the rows that really went out paid.
        rows = [await rt.stores.outbox.by_dedupe(k) for k in keys]
        assert all(r is not None and r.status == "sent" for r in rows)
        assert sum(1 for r in rows if r is not None and r.last_error == PAID_NOTE) == 10
        day = datetime.now(settings.tz).date().isoformat()
        assert await rt.stores.cluster.paid_spent(day) == 10


async def test_paid_broadcasts_off_sends_them_unpaid(tmp_path: Path, api: FakeBotAPI) -> None:
    settings = paid_settings(tmp_path, DOORSTEP_PAID_BUDGET_STARS="100")
    assert not settings.paid_broadcast
    async for rt in started(settings, api):
        await plan(rt, 5)
        assert await rt.delivery.dispatcher.drain() == 5
        assert flagged(api) == [False] * 5
        assert rt.delivery.limiter.paid is None


async def test_unpaid_rows_never_carry_the_flag(tmp_path: Path, api: FakeBotAPI) -> None:
    settings = paid_settings(
        tmp_path, DOORSTEP_PAID_BROADCAST="1", DOORSTEP_PAID_BUDGET_STARS="100"
    )
    async for rt in started(settings, api):
        await plan(rt, 4, paid=False)
        assert await rt.delivery.dispatcher.drain() == 4
        assert flagged(api) == [False] * 4


def test_paid_broadcast_setting_must_be_a_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DOORSTEP_PAID_BROADCAST"):
        paid_settings(tmp_path, DOORSTEP_PAID_BROADCAST="maybe")
