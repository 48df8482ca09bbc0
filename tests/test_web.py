"""The web app of `doorstep serve`: the Telegram webhook, the web chat's WebSocket, the
delivery pipeline reaching web chat and WeChat residents, and /healthz."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot.channels.telegram import build_application
from bot.channels.web import COOKIE, WebChat, WebSender
from bot.channels.wechat import WeChatChannel, WeChatSender
from bot.channels.wechat_api import WeChatAPI
from bot.config import Secret
from bot.domain.outbox import Planned
from bot.runtime import Runtime
from bot.web.app import OPERATOR_HEADER, TELEGRAM_SECRET_HEADER, build_app
from tests.conftest import Clock
from tests.fakes.botapi import FakeBotAPI, FakeRequest
from tests.fakes.updates import FakeUser
from tests.fakes.wechat_api import FakeWeChatAPI, serve_asgi
from tests.fakes.wechat_follower import APP_ID, APP_SECRET, TOKEN, Follower

LAT, LON = 30.8930, 121.1620
SECRET = "webhook-secret-123"


# -- Telegram webhook ----------------------------------------------------------------------------
@pytest.fixture
async def telegram(
    settings: Any, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeBotAPI]]:
    rt = Runtime(replace(settings, telegram_token=Secret("123:ABC")), clock=clock)
    await rt.start()
    api = FakeBotAPI()
    app = build_application(rt, request=FakeRequest(api))
    await app.initialize()
    web = build_app(rt, web=WebChat(rt), telegram=app, telegram_secret=SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://doorstep.test"
    ) as client:
        yield client, api
    await app.shutdown()
    await rt.stop()


async def post_update(client: httpx.AsyncClient, update: dict[str, Any]) -> httpx.Response:
    return await client.post("/telegram", json=update, headers={TELEGRAM_SECRET_HEADER: SECRET})


async def test_telegram_webhook_needs_the_secret(telegram: Any) -> None:
    client, api = telegram
    user = FakeUser(api)
    for headers in ({}, {TELEGRAM_SECRET_HEADER: "wrong"}):
        r = await client.post("/telegram", json=user.text("/start"), headers=headers)
        assert r.status_code == 403
    assert api.texts(user.user_id) == []
    bad = await client.post("/telegram", content=b"{", headers={TELEGRAM_SECRET_HEADER: SECRET})
    assert bad.status_code == 400


async def test_telegram_conversation_through_the_webhook(telegram: Any) -> None:
    client, api = telegram
    user = FakeUser(api)
    assert (await post_update(client, user.text("/start"))).status_code == 200
    assert "Welcome to Doorstep" in api.texts(user.user_id)[-1]
    await post_update(client, user.press("English"))
    await post_update(client, user.press("I agree"))
    assert "You're all set" in api.texts(user.user_id)[-1]
    await post_update(client, user.press("Health tips"))
    await post_update(client, user.press("Read the rhyme"))
    assert "Wash your hands" in api.texts(user.user_id)[-1]
    before = len(api.texts(user.user_id))
    await post_update(client, user.location(LAT, LON))
    after = api.texts(user.user_id)
    assert len(after) > before and not any("went wrong" in t for t in after[before:])


# -- web chat -------------------------------------------------------------------------------------
class Page:
    """One open chat page, speaking the page's JSON protocol over the WebSocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.shown: list[dict[str, Any]] = []

    async def turn(self, event: dict[str, Any] | str) -> list[dict[str, Any]]:
        await self.ws.send(event if isinstance(event, str) else json.dumps(event))
        got: list[dict[str, Any]] = []
        while True:
            message = json.loads(await self.ws.recv())
            if message["type"] == "done":
                break
            if message["type"] == "message":
                got.append(message)
        self.shown.extend(got)
        return got

    async def pushed(self) -> dict[str, Any]:
        message = json.loads(await self.ws.recv())
        assert message.get("pushed"), message
        self.shown.append(message)
        return message

    async def tap(self, label_part: str) -> list[dict[str, Any]]:
        for message in reversed(self.shown):
            for option in message["options"]:
                if label_part in option["label"]:
                    return await self.turn({"type": "option", "n": option["n"]})
        raise AssertionError(f"no option with {label_part!r}")

    @staticmethod
    def text(messages: list[dict[str, Any]]) -> str:
        return "\n".join(m["text"] for m in messages)


class WebSite:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url)

    async def visit(self) -> str:
        """Load /chat like a browser; returns the visitor cookie it set."""
        r = await self.http.get("/chat", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert r.status_code == 200 and "<html" in r.text
        return r.cookies[COOKIE]

    @contextlib.asynccontextmanager
    async def open(self, cookie: str | None, token: str | None = None) -> AsyncIterator[Any]:
        """A page's socket, after its hello (the cookie, or a token in the first frame)."""
        ws_url = self.url.replace("http://", "ws://") + "/chat/ws?lang=en"
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        async with connect(ws_url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            ws.session = None  # type: ignore[attr-defined]
            while True:
                try:
                    message = json.loads(await ws.recv())
                except ConnectionClosed:
                    break  # refused: the test reads the close code
                if message["type"] == "session":
                    ws.session = message["token"]  # type: ignore[attr-defined]
                if message["type"] == "ready":
                    break
            yield ws


@pytest.fixture
async def site(rt: Runtime) -> AsyncIterator[tuple[WebSite, WebChat]]:
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    async with serve_asgi(build_app(rt, web=web)) as url:
        s = WebSite(url)
        yield s, web
        await s.http.aclose()


async def test_web_chat_page_is_accessible_and_embeddable(site: Any) -> None:
    s, _ = site
    r = await s.http.get("/chat", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200
    assert 'lang="zh-Hans"' in r.text and 'name="viewport"' in r.text
    assert "x-frame-options" not in r.headers  # health centres embed it with an <iframe>
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    for path in ("/chat/static/chat.js", "/chat/static/chat.css"):
        assert (await s.http.get(path)).status_code == 200


async def test_web_chat_conversation(site: Any) -> None:
    s, _ = site
    cookie = await s.visit()
    async with s.open(cookie) as ws:
        page = Page(ws)
        welcome = await page.turn({"type": "text", "text": "/start"})
        assert "Welcome to Doorstep" in Page.text(welcome)
        await page.tap("English")
        menu = await page.tap("I agree")
        labels = [o["label"] for m in menu for o in m["options"]]
        assert "💡 Health tips" in labels
        await page.tap("Health tips")
        rhyme = await page.tap("Read the rhyme")
        assert "Wash your hands" in Page.text(rhyme)
        where = await page.turn({"type": "location", "lat": LAT, "lon": LON})
        assert where and "went wrong" not in Page.text(where)
        typed = await page.turn({"type": "text", "text": "/menu"})
        number = next(o["n"] for m in typed for o in m["options"] if "Settings" in o["label"])
        settings = await page.turn({"type": "text", "text": str(number)})  # typing works too
        assert "Elder mode" in Page.text(settings)
    async with s.open(cookie) as ws:  # the same visitor on a new connection
        again = await Page(ws).turn({"type": "text", "text": "/menu"})
        assert "💡 Health tips" in [o["label"] for m in again for o in m["options"]]


async def test_web_chat_rejects_forged_cookies_and_foreign_origins(site: Any) -> None:
    s, _ = site
    cookie = await s.visit()
    for cookie_value in ("forged", cookie[:-2] + "xx"):
        async with s.open(cookie_value) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4401
    ws_url = s.url.replace("http://", "ws://") + "/chat/ws"
    async with connect(
        ws_url,
        additional_headers={"Cookie": f"{COOKIE}={cookie}"},
        origin="https://evil.example",  # type: ignore[arg-type]
    ) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_stale_or_bad_events_get_a_kind_answer(site: Any) -> None:
    s, _ = site
    async with s.open(await s.visit()) as ws:
        page = Page(ws)
        await page.turn({"type": "text", "text": "/start"})
        stale = await page.turn({"type": "option", "n": 99})
        assert "out of date" in Page.text(stale)
        for bad in ("not json", {"type": "location", "lat": "north", "lon": 1}, {"type": "x"}):
            unread = await page.turn(bad)  # never silence: a kind word, the screen kept
            assert "could not be read" in Page.text(unread)
        still = await page.turn({"type": "text", "text": "/help"})
        assert "Doorstep helps you" in Page.text(still)


async def test_pushed_messages_reach_open_pages_and_wait_for_closed_ones(site: Any) -> None:
    s, web = site
    cookie = await s.visit()
    async with s.open(cookie) as ws:
        page = Page(ws)
        await page.turn({"type": "text", "text": "/start"})
        await page.tap("English")
        await page.tap("I agree")  # a consented visitor: a resident, who gets reminders
        visitor = await web.visitor(cookie)
        from bot.core import Button, Reply

        await web.rt.senders["web"].send(
            visitor, [Reply("Your reminder", buttons=((Button("OK", "v1:menu:home"),),))]
        )
        pushed = await page.pushed()
        assert pushed["text"] == "Your reminder" and pushed["options"][0]["label"] == "OK"
        home = await page.turn({"type": "option", "n": 1})  # its button works
        assert home and "went wrong" not in Page.text(home)
    # The page is closed: the message is kept in SQLite for the next visit.
    await web.rt.senders["web"].send(visitor, [Reply("While you were away")])
    async with s.open(cookie) as ws:
        assert (await Page(ws).pushed())["text"] == "While you were away"
    async with s.open(cookie) as ws:  # delivered once, not on every visit
        again = await Page(ws).turn({"type": "text", "text": "/help"})
        assert all(not m.get("pushed") for m in again)


# -- the delivery pipeline, through real channels ------------------------------------------------
async def test_dispatcher_delivers_to_web_and_wechat_and_records_deferrals(
    rt: Runtime, clock: Clock
) -> None:
    fake = FakeWeChatAPI(app_id=APP_ID, secret=APP_SECRET)
    async with serve_asgi(fake.app()) as api_url:
        web = await WebChat.create(rt)
        api = WeChatAPI(rt.stores.channels, APP_ID, APP_SECRET, api_url)
        wechat = WeChatChannel(rt, api, token=TOKEN, app_id=APP_ID)
        rt.senders["web"] = WebSender(web)
        rt.senders["wechat"] = WeChatSender(wechat)
        app = build_app(rt, web=web, wechat=wechat)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://doorstep.test"
        ) as client:
            follower = Follower(client, "o-reader", clock=lambda: clock().timestamp())
            await follower.subscribe()  # opens the 48-hour window
            residents = rt.stores.residents
            wx_resident = (await residents.load("wechat", "o-reader"))[0]  # type: ignore[index]
            visitor = (await web.new_session()).visitor
            web_resident = await residents.create("web", visitor)
            now = rt.now()
            await rt.stores.outbox.plan(
                [
                    Planned(r.id, "text", "k", now, f"t:{r.id}", {"text": f"Hello {r.channel}"})
                    for r in (wx_resident, web_resident)
                ],
                now,
            )
            dispatcher = rt.delivery.dispatcher
            await dispatcher.drain()
            assert fake.texts("o-reader") == ["Hello wechat"]
            stored = await rt.stores.channels.pending_web(web_resident.id)
            assert stored[0].payload[0]["text"] == "Hello web"

            clock.set(clock() + timedelta(hours=49))  # the WeChat window has closed
            later = rt.now()
            await rt.stores.outbox.plan(
                [Planned(wx_resident.id, "text", "k", later, "t:late", {"text": "Too late"})],
                later,
            )
            await dispatcher.drain()
            row = await rt.stores.outbox.by_dedupe("t:late")
            assert row is not None and row.status == "pending"
            assert "48-hour" in (row.last_error or "")
            assert fake.texts("o-reader") == ["Hello wechat"]

            await follower.text("hello")  # the resident writes: the deferred reminder goes
            await dispatcher.drain()
            row = await rt.stores.outbox.by_dedupe("t:late")
            assert row is not None and row.status == "sent"
            assert fake.texts("o-reader")[-1] == "Too late"
        await wechat.close()


# -- /healthz --------------------------------------------------------------------------------------
async def test_healthz_reports_database_scheduler_and_backlog(rt: Runtime) -> None:
    """Details for the operator (token in a header); anyone else gets "ok" or "unavailable"."""
    rt.settings = replace(rt.settings, operator_token=Secret("op-token"))
    web = await WebChat.create(rt)
    app = build_app(rt, web=web)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://doorstep.test",
        headers={OPERATOR_HEADER: "op-token"},
    ) as client:
        resident = await rt.stores.residents.create("web", "v1")
        past = rt.now() - timedelta(minutes=5)
        await rt.stores.outbox.plan(
            [Planned(resident.id, "text", "k", past, "h:1", {"text": "x"})], past
        )
        before = await client.get("/healthz")
        assert before.status_code == 503  # nothing is sending yet
        body = before.json()
        assert body["db"] is True and body["scheduler"] is False
        assert body["outbox"]["due"] == 1 and body["outbox"]["pending"] == 1

        rt.senders["web"] = WebSender(web)
        await rt.start_background()
        after = await client.get("/healthz")
        assert after.status_code == 200 and after.json()["scheduler"] is True
        anyone = await client.get("/healthz", headers={OPERATOR_HEADER: ""})
        assert anyone.status_code == 200 and anyone.text == "ok"


async def test_sessions_are_shared_by_workers(settings: Any, clock: Clock) -> None:
    """Sessions live in SQLite: a token issued by one worker works on another."""
    first, second = Runtime(settings, clock=clock), Runtime(settings, clock=clock)
    await first.start()
    await second.start()
    try:
        session = await (await WebChat.create(first)).new_session()
        other = await WebChat.create(second)
        assert await other.visitor(session.token) == session.visitor
        assert await other.visitor("forged") is None
    finally:
        await first.stop()
        await second.stop()


async def test_embedded_page_without_cookies_gets_its_token_in_a_frame(site: Any) -> None:
    """Inside another site's <iframe> the cookie may be blocked: the socket's first frame
    carries the token instead, and the page never shows it."""
    s, web = site
    r = await s.http.get("/chat")
    assert r.cookies[COOKIE] not in r.text
    async with s.open(None) as ws:  # no Cookie header at all: a new session, in a frame
        token = ws.session
        assert token
        await Page(ws).turn({"type": "text", "text": "/start"})
    async with s.open(None, token) as ws:  # the next visit shows it: rotated
        assert ws.session and ws.session != token
        rotated = ws.session
    assert await web.visitor(rotated) is not None
    async with s.open(None, "forged-token") as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401
