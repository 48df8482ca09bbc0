"""My medicines on every channel: the real python-telegram-bot Application on the fake Bot API
(tier 3), the web chat over its WebSocket, and WeChat with signed requests against the fake
WeChat API. Each adds a medicine by its buttons, receives the reminder through the dispatcher
and answers it; the stored facts are checked in the database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from telegram import Update

from bot.channels.telegram import TelegramSender, build_application
from bot.channels.web import WebChat, WebSender
from bot.channels.wechat import WeChatChannel, WeChatSender
from bot.channels.wechat_api import WeChatAPI
from bot.config import Settings
from bot.domain.medicines import DoseStatus
from bot.runtime import Runtime
from bot.web.app import build_app
from tests.conftest import Clock
from tests.fakes.botapi import FakeBotAPI, FakeRequest
from tests.fakes.updates import FakeUser
from tests.fakes.wechat_api import FakeWeChatAPI, serve_asgi
from tests.fakes.wechat_follower import AES_KEY, APP_ID, APP_SECRET, TOKEN, Follower
from tests.test_web import Page, WebSite

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:ABC",
            "DOORSTEP_GLOBAL_RATE": "0",
            "DOORSTEP_PER_CHAT_INTERVAL": "0",
        },
        db_path=tmp_path / "channels.sqlite3",
    )


def tomorrow_8(clock: Clock, seconds: int = 0) -> int:
    moment = datetime(2026, 11, 25, 8, 0, seconds, tzinfo=SH)
    return int(moment.timestamp())


async def entries_of(rt: Runtime, channel: str, user_id: str) -> tuple[int, list[Any]]:
    loaded = await rt.stores.residents.load(channel, user_id)
    assert loaded is not None
    rid = loaded[0].id
    return rid, await rt.stores.medicines.entries(rid)


async def test_telegram_tier_3(rt: Runtime, clock: Clock) -> None:
    api = FakeBotAPI("123:ABC")
    app = build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders["telegram"] = TelegramSender(app.bot)
        u = FakeUser(api, 1001, language_code="en")

        async def send(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        await send(u.text("/start"))
        await send(u.press("English"))
        await send(u.press("I agree"))
        for label in ("My medicines", "Amlodipine", "1 tablet", "🌅 Morning", "After meals"):
            await send(u.press(label))
        await send(u.press("Save"))
        rid, [entry] = await entries_of(rt, "telegram", "1001")
        assert (entry.catalog_id, entry.times) == ("amlodipine", ("08:00",))
        await send(u.press("Medicine card"))
        assert api.calls_to("sendPhoto", 1001)
        # The reminder goes out through the real Telegram sender at its time.
        clock.set(datetime.fromtimestamp(tomorrow_8(clock, 30), UTC))
        assert await rt.delivery.dispatcher.drain() == 1
        assert "Time for your" in api.texts(1001)[-1]
        await send(u.press("Taken"))
        [dose] = await rt.services.medicines.slot(rid, tomorrow_8(clock))
        assert dose.dose.status is DoseStatus.TAKEN
        assert "Recorded as taken" in api.texts(1001)[-1]


async def test_web_chat(rt: Runtime, clock: Clock) -> None:
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    async with serve_asgi(build_app(rt, web=web)) as url:
        s = WebSite(url)
        cookie = await s.visit()
        async with s.open(cookie) as ws:
            page = Page(ws)
            await page.turn({"type": "text", "text": "/start"})
            await page.tap("English")
            await page.tap("I agree")
            await page.tap("My medicines")
            found = await page.turn({"type": "text", "text": "ejsg"})  # pinyin initials
            assert "Metformin" in " ".join(o["label"] for m in found for o in m["options"])
            for label in ("Metformin", "1 tablet", "🌅 Morning", "After meals", "Save"):
                await page.tap(label)
            assert "Saved" in Page.text(page.shown[-3:])
        await s.http.aclose()
    visitor = await rt.db.fetchval("SELECT channel_user_id FROM residents WHERE channel='web'")
    rid, [entry] = await entries_of(rt, "web", visitor)
    assert entry.catalog_id == "metformin"
    clock.set(datetime.fromtimestamp(tomorrow_8(clock, 10), UTC))
    assert await rt.delivery.dispatcher.drain() == 1
    [pending] = await rt.stores.channels.pending_web(rid)
    assert "Time for your" in pending.payload[0]["text"]


def reply_key(content: str, label_part: str) -> str:
    """What to type on WeChat for the option whose label contains `label_part`."""
    for line in content.splitlines():
        m = re.match(r"(?:Reply|回复) ?(\w+)[:：] ?(.*)", line)
        if m and label_part in m.group(2):
            return m.group(1)
    raise AssertionError(f"no option {label_part!r} in {content!r}")


async def test_wechat(rt: Runtime, clock: Clock) -> None:
    fake = FakeWeChatAPI(app_id=APP_ID, secret=APP_SECRET)
    async with serve_asgi(fake.app()) as api_url:
        api = WeChatAPI(rt.stores.channels, APP_ID, APP_SECRET, api_url)
        wechat = WeChatChannel(rt, api, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)
        rt.senders["wechat"] = WeChatSender(wechat)
        app = build_app(rt, web=WebChat(rt, "s"), wechat=wechat)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://doorstep.test"
        ) as client:
            f = Follower(client, "o-meds", safe_mode=True, clock=lambda: clock().timestamp())
            await f.subscribe()
            await f.text("English")
            await f.text("1")
            answer = await f.text("💊 My medicines")
            for label in ("Amlodipine", "1 tablet", "Morning 08", "After meals", "Save"):
                assert answer.content is not None
                answer = await f.text(reply_key(answer.content, label))
            assert answer.content is not None and "Saved" in answer.content
            rid, [entry] = await entries_of(rt, "wechat", "o-meds")
            assert entry.catalog_id == "amlodipine"
            clock.set(datetime.fromtimestamp(tomorrow_8(clock, 5), UTC))
            await f.text("hello")  # keeps the 48-hour window open
            assert await rt.delivery.dispatcher.drain() == 1
            assert "Time for your" in fake.texts("o-meds")[-1]
            await f.text(reply_key(fake.texts("o-meds")[-1], "Skipped"))
            [dose] = await rt.services.medicines.slot(rid, tomorrow_8(clock))
            assert dose.dose.status is DoseStatus.SKIPPED
        await wechat.close()
