"""Typed words on every channel: Telegram (tier 3, the real PTB Application on the fake Bot
API), the web chat (its WebSocket), WeChat (signed requests, fake WeChat API) and the console
sandbox (a real `doorstep chat` process). Emergency first, a common question, and Ask my team
with the answer delivered by the real dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.channels.telegram import TelegramSender, build_application
from bot.channels.web import WebChat, WebSender
from bot.config import Secret, Settings
from bot.runtime import Runtime
from bot.web.app import build_app
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, load_district
from tests.fakes.botapi import FakeBotAPI, FakeRequest
from tests.fakes.updates import FakeUser
from tests.fakes.wechat_api import serve_asgi
from tests.test_sandbox import chat
from tests.test_web import Page, WebSite
from tests.test_wechat import Setup, fake, onboard, wx  # noqa: F401  (fixtures)

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def sign(rt: Runtime, channel: str, user_id: str) -> int:
    loaded = await rt.stores.residents.load(channel, user_id)
    assert loaded is not None
    rid = loaded[0].id
    directory = rt.services.directory
    await directory.set_home(rid, "朱泾", "东林居委")
    req = await directory.request_signing(rid, WANG, "Ann", "13800000000")
    assert await directory.decide(req.id, WANG, True) is not None
    return rid


# -- Telegram (tier 3) ---------------------------------------------------------------------------
@pytest.fixture
async def tg(settings: Settings, clock: Clock) -> AsyncIterator[tuple[Runtime, FakeBotAPI, Send]]:
    rt = Runtime(replace(settings, telegram_token=Secret("123:ABC")), clock=clock)
    await rt.start()
    api = FakeBotAPI("123:ABC")
    app: Application = build_application(rt, request=FakeRequest(api))
    rt.senders["telegram"] = TelegramSender(app.bot)
    async with app:

        async def send(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        yield rt, api, send
    await rt.stop()


async def test_telegram_emergency_faq_and_an_answer_from_the_team(tg: Any) -> None:
    rt, api, send = tg
    await load_district(rt)
    u = FakeUser(api, 3001, "Ann", "en-GB")
    await send(u.text("/start"))
    await send(u.press("English"))
    await send(u.press("✅"))
    rid = await sign(rt, "telegram", "3001")
    code = await rt.services.doctors.invite(WANG)
    await send(FakeUser(api, 3999, "Dr Wang", "zh-hans").text(f"/doctor {code}"))

    await send(u.text("my husband collapsed and isn't responding"))
    reply = api.replies(3001)[-1]
    assert reply.text.startswith("🚑 Call 120 now: Unconscious")
    assert "has been told" in reply.text
    await rt.delivery.dispatcher.drain()
    alert = api.replies(3999)[-1]
    assert alert.text.startswith("🚨") and "120" in alert.text  # urgent, to the linked doctor
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    assert all("tel:" not in b.get("url", "") for b in buttons)  # Telegram has no tel: buttons
    assert "120" in reply.text.splitlines()[0]

    await send(u.text("do children's vaccines cost anything"))
    assert "national programme vaccines" in api.texts(3001)[-1]

    await send(u.text("💬 Questions"))
    await send(u.press("Ask my team"))
    await send(u.text("Is my new tablet safe with my old one?"))
    assert "sent to" in api.texts(3001)[-1] or "saved for" in api.texts(3001)[-1]
    wang = await rt.services.directory.doctor(WANG)
    assert wang is not None
    ticket = await rt.services.tickets.open_ticket(rid)
    assert ticket is not None
    await rt.services.tickets.answer(wang, ticket.id, "Please bring both to your visit.")
    await rt.delivery.dispatcher.drain()
    last = api.replies(3001)[-1]
    assert "Please bring both to your visit." in last.text
    labels = [b["text"] for row in last.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["🙏 Thanks", "💬 Ask again"]


async def test_telegram_edited_message_with_an_emergency_is_answered(tg: Any) -> None:
    _, api, send = tg
    u = FakeUser(api, 3002, "Bo", "zh-hans")
    await send(u.text("/start"))
    await send(u.edited("我不想活了"))
    text = api.texts(3002)[-1]
    assert text.startswith("💚") and "12356" in text and "120" in text


# -- web chat --------------------------------------------------------------------------------------
@pytest.fixture
async def site(rt: Runtime) -> AsyncIterator[WebSite]:
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    async with serve_asgi(build_app(rt, web=web)) as url:
        s = WebSite(url)
        yield s
        await s.http.aclose()


async def test_web_emergency_has_a_tappable_120_and_faq_answers(rt: Runtime, site: WebSite) -> None:
    await load_district(rt)
    cookie = await site.visit()
    async with site.open(cookie) as ws:
        page = Page(ws)
        await page.turn({"type": "text", "text": "/start"})
        await page.tap("English")
        await page.tap("I agree")
        got = await page.turn({"type": "text", "text": "she is having a seizure"})
        first = got[0]
        assert first["text"].startswith("🚑 Call 120 now: A seizure")
        assert {"label": "📞 Call 120", "url": "tel:120"} in first["links"]
        got = await page.turn({"type": "text", "text": "what do i bring to my baby's vaccination"})
        assert "vaccination certificate" in Page.text(got)


# -- WeChat ---------------------------------------------------------------------------------------
async def test_wechat_emergency_and_a_question_to_the_duty_desk(rt: Runtime, wx: Setup) -> None:  # noqa: F811
    await load_district(rt)
    f = wx.follower("o-q1")
    await onboard(f)
    answer = await f.text("我妈低血糖了，手抖出汗")
    content = answer.content or ""
    assert content.startswith("🚑 Call 120 now: Very low blood sugar")
    assert "15 g" in content and "nothing by mouth" in content
    assert "📞 Call 120: 120" in content  # a bare number, which WeChat makes tappable
    answer = await f.text("💬 Questions")
    answer = await f.text("how do i activate the insurance e-certificate")
    assert "real-name check" in (answer.content or "")


# -- the console sandbox --------------------------------------------------------------------------
def test_sandbox_emergency_and_common_question(tmp_path: Path) -> None:
    out = chat(
        tmp_path / "s.sqlite3",
        "/start\nEnglish\n✅ I agree\n胸口疼\n长处方能开多久\n",
    )
    assert "🚑 Call 120 now: Chest pain" in out
    assert "12 weeks" in out
