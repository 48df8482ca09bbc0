"""Issue 16, web chat: bounded costs and an identity that ends. Against the real Starlette app
served by uvicorn on loopback, speaking the page's protocol over a real WebSocket; each test
names the finding it reproduces (all failed on the code before the fix)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bot.channels.web import COOKIE, ROTATION_GRACE, SESSION_IDLE, WebChat, WebSender
from bot.runtime import Runtime
from bot.web.app import build_app
from bot.web.limits import Limits, Rate
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, linked_doctor, load_district
from tests.fakes.wechat_api import serve_asgi

NEVER = 0.0  # a bucket that does not refill: limits are counted, not timed


class Site:
    def __init__(self, url: str, web: WebChat) -> None:
        self.url, self.web = url, web
        self.http = httpx.AsyncClient(base_url=url)

    async def visit(self, cookie: str | None = None) -> httpx.Response:
        self.http.cookies.clear()
        if cookie:
            self.http.cookies.set(COOKIE, cookie)
        return await self.http.get("/chat")

    @contextlib.asynccontextmanager
    async def page(
        self, cookie: str | None = None, token: str | None = None, query: str = "lang=en"
    ) -> AsyncIterator[Any]:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        url = self.url.replace("http://", "ws://") + "/chat/ws?" + query
        async with connect(url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            ws.session = None  # type: ignore[attr-defined]
            ws.refused = None  # type: ignore[attr-defined]
            while True:
                try:
                    message = json.loads(await ws.recv())
                except ConnectionClosed:
                    ws.refused = ws.close_code  # type: ignore[attr-defined]
                    break
                if message["type"] == "session":
                    ws.session = message["token"]  # type: ignore[attr-defined]
                if message["type"] == "message":
                    ws.said = message["text"]  # type: ignore[attr-defined]
                if message["type"] == "ready":
                    break
            yield ws


async def turn(ws: Any, event: dict[str, Any] | str | bytes) -> list[dict[str, Any]]:
    await ws.send(event if isinstance(event, str | bytes) else json.dumps(event))
    got: list[dict[str, Any]] = []
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "done":
            return got
        got.append(message)


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


async def tap(ws: Any, shown: list[dict[str, Any]], part: str) -> list[dict[str, Any]]:
    n = next(o["n"] for m in shown for o in m.get("options", []) if part in o["label"])
    return await turn(ws, {"type": "option", "n": n})


async def onboard(ws: Any) -> None:
    welcome = await turn(ws, {"type": "text", "text": "/start"})
    privacy = await tap(ws, welcome, "English")
    done = await tap(ws, privacy, "I agree")
    assert "You're all set" in texts(done)


@contextlib.asynccontextmanager
async def site_with(rt: Runtime, limits: Limits | None = None) -> AsyncIterator[Site]:
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    async with serve_asgi(build_app(rt, web=web, web_limits=limits)) as url:
        s = Site(url, web)
        yield s
        await s.http.aclose()


@pytest.fixture
async def site(rt: Runtime) -> AsyncIterator[Site]:
    async with site_with(rt) as s:
        yield s


# -- identity -----------------------------------------------------------------------------------
async def test_the_token_is_never_in_the_page_or_a_url(site: Site) -> None:
    """Finding: the token travelled in the WebSocket URL (?v=) and was embedded in the page."""
    r = await site.visit()
    token = r.cookies[COOKIE]
    assert token not in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # An old-style URL token is not an identity any more: that socket gets a new visitor.
    async with site.page(query=f"lang=en&v={token}") as ws:
        assert ws.session is not None
        assert await site.web.visitor(ws.session) != await site.web.visitor(token)


async def test_tokens_rotate_and_end_after_an_idle_lifetime(site: Site, clock: Clock) -> None:
    """Finding: a 400-day bearer token, never rotated."""
    first = (await site.visit()).cookies[COOKIE]
    visitor = await site.web.visitor(first)
    second = (await site.visit(first)).cookies[COOKIE]
    assert second != first and await site.web.visitor(second) == visitor
    assert await site.web.visitor(first) == visitor  # a page opened a moment ago still works
    clock.set(clock() + timedelta(seconds=ROTATION_GRACE + 1))
    assert await site.web.visitor(first) is None
    clock.set(clock() + timedelta(seconds=SESSION_IDLE - 3600))  # used within the lifetime:
    third = (await site.visit(second)).cookies[COOKIE]  # it slides
    assert await site.web.visitor(third) == visitor
    clock.set(clock() + timedelta(seconds=SESSION_IDLE + 1))  # idle past it: gone
    assert await site.web.visitor(third) is None
    fresh = await site.visit(third)
    assert await site.web.visitor(fresh.cookies[COOKIE]) not in (None, visitor)


async def test_log_out_revokes_the_token(site: Site) -> None:
    """Finding: there was no log-out; the next person on a shared phone got the last one's
    /mydata."""
    cookie = (await site.visit()).cookies[COOKIE]
    async with site.page(cookie) as ws:
        await onboard(ws)
        await ws.send(json.dumps({"type": "logout"}))
        assert json.loads(await ws.recv())["type"] == "logged_out"
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401
    assert await site.web.visitor(cookie) is None
    async with site.page(cookie) as ws:
        assert ws.refused == 4401


async def test_delete_revokes_the_token_and_the_socket(site: Site, rt: Runtime) -> None:
    """Finding: /delete did not revoke the visitor's token."""
    cookie = (await site.visit()).cookies[COOKIE]
    visitor = await site.web.visitor(cookie)
    assert visitor is not None
    async with site.page(cookie) as ws:
        await onboard(ws)
        ask = await turn(ws, {"type": "text", "text": "/delete"})
        await ws.send(
            json.dumps(
                {
                    "type": "option",
                    "n": next(
                        o["n"] for m in ask for o in m["options"] if "Yes, delete" in o["label"]
                    ),
                }
            )
        )
        seen = []
        while not seen or seen[-1]["type"] != "done":
            seen.append(json.loads(await ws.recv()))
        assert "All your data has been deleted" in texts(seen)
        # The page goes on as a new visitor (so "Start again" works), with a new token;
        # the old token is dead and nothing of the old visitor is left.
        fresh = next(m for m in seen if m["type"] == "session")
        assert fresh["fresh"] and await site.web.visitor(fresh["token"]) not in (None, visitor)
    assert await site.web.visitor(cookie) is None
    assert await rt.stores.residents.load("web", visitor) is None


async def test_a_web_doctor_needs_a_step_up_code_from_their_own_chat(
    site: Site, rt: Runtime, make_user: Any
) -> None:
    """Finding: a doctor linked on the web got the desk with the visitor token alone."""
    await load_district(rt)
    await linked_doctor(rt, make_user, WANG, "9001")  # the doctor's own (test-channel) account
    cookie = (await site.visit()).cookies[COOKIE]
    async with site.page(cookie) as ws:
        await onboard(ws)
        visitor = await site.web.visitor(cookie)
        web_resident = (await rt.stores.residents.load("web", visitor or ""))[0]  # type: ignore[index]
        # An invite code on the web does not link; an old web link gives no desk either.
        code = await rt.services.doctors.invite(WANG)
        refused = await turn(ws, {"type": "text", "text": f"/doctor {code}"})
        assert "Doctor's desk" not in texts(refused)
        await rt.db.execute(
            "INSERT INTO doctor_links (doctor_id, resident_id, channel, channel_user_id, "
            "linked_at) VALUES ('js-01-zj-d2', ?, 'web', ?, 0)",
            (web_resident.id, visitor),
        )
        assert "Doctor's desk" not in texts(await turn(ws, {"type": "text", "text": "/doctor"}))
        # The step-up: a code goes to the doctor's own account, not to this page.
        asked = await turn(ws, {"type": "text", "text": f"/doctor {WANG}"})
        assert "6-digit code" in texts(asked)
        rows = await rt.db.fetchall(
            "SELECT resident_id, payload FROM outbox WHERE kind = 'doctor_stepup'"
        )
        doctor_account = await rt.stores.doctors.link_for_account("test", "9001")
        assert len(rows) == 1 and doctor_account is not None
        assert rows[0]["resident_id"] == doctor_account.resident_id
        sent = json.loads(rows[0]["payload"])["params"]["code"]
        assert sent not in texts(asked)
        wrong = await turn(ws, {"type": "text", "text": "000000" if sent != "000000" else "111111"})
        assert "not right" in texts(wrong)
        opened = await turn(ws, {"type": "text", "text": sent})
        assert "Doctor's desk" in texts(opened)
        await ws.send(json.dumps({"type": "logout"}))
        # Wait for the server's answer: it logs out before saying so (asserting at once
        # raced the server, and lost on PostgreSQL).
        frames = [json.loads(await ws.recv())]
        while frames[-1].get("type") != "logged_out":
            frames.append(json.loads(await ws.recv()))
    assert await rt.services.doctors.doctor_for("web", visitor or "") is None


# -- costs --------------------------------------------------------------------------------------
async def test_no_resident_row_before_consent(site: Site, rt: Runtime) -> None:
    """Finding: 200 new visitors made 200 resident rows."""
    for _ in range(5):
        async with site.page() as ws:
            welcome = await turn(ws, {"type": "text", "text": "/start"})
            privacy = await tap(ws, welcome, "English")  # the draft keeps language and options
            assert "Privacy notice" in texts(privacy)
            await turn(ws, "not json")
            await turn(ws, {"type": "text", "text": "hello"})
    assert await rt.db.fetchval("SELECT count(*) FROM residents") == 0
    async with site.page() as ws:
        await onboard(ws)
    assert await rt.db.fetchval("SELECT count(*) FROM residents") == 1
    row = await rt.db.fetchone("SELECT locale, consent_at FROM residents")
    assert row is not None and row[0] == "en" and row[1] is not None


async def test_a_binary_frame_is_refused_cleanly(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding: a binary frame raised an unhandled KeyError."""
    caplog.set_level(logging.INFO)
    async with site.page() as ws:
        await ws.send(b"\x00\x01binary")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1003
    assert "binary frame refused" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_messages_per_socket_are_limited_with_a_kind_slow_down(rt: Runtime) -> None:
    """Finding: 1,000 messages on one socket were all answered."""
    limits = Limits(per_socket=Rate(NEVER, 3))
    async with site_with(rt, limits) as site:
        async with site.page(query="lang=zh-CN") as ws:
            answered = [await turn(ws, {"type": "text", "text": "/help"}) for _ in range(3)]
            assert all(answered)
            refused = await turn(ws, {"type": "text", "text": "/help"})
            assert [m["type"] for m in refused] == ["toast"]
            assert "请" in refused[0]["text"]  # in the visitor's language
            assert await turn(ws, {"type": "text", "text": "/help"}) == []  # noted once a while


async def test_messages_per_visitor_and_per_address_are_limited(rt: Runtime) -> None:
    limits = Limits(per_visitor=Rate(NEVER, 4), per_address=Rate(NEVER, 6))
    async with site_with(rt, limits) as site:
        cookie = (await site.visit()).cookies[COOKIE]
        async with site.page(cookie) as a, site.page(cookie) as b:  # one visitor, two pages
            got = [await turn(ws, {"type": "text", "text": "/help"}) for ws in (a, b, a, b, a)]
            assert [bool(g and g[0]["type"] != "toast") for g in got] == [True] * 4 + [False]
        async with site.page() as other:  # another visitor, the same address
            got = [await turn(other, {"type": "text", "text": "/help"}) for _ in range(3)]
            assert [bool(g and g[0]["type"] != "toast") for g in got] == [True, True, False]


async def test_sockets_per_visitor_are_capped(rt: Runtime) -> None:
    """Finding: no limit on sockets per visitor."""
    async with site_with(rt, Limits(sockets_per_visitor=2)) as site:
        cookie = (await site.visit()).cookies[COOKIE]
        async with site.page(cookie), site.page(cookie), site.page(cookie) as third:
            assert third.refused == 4429 and "too many windows" in third.said


async def test_new_visitors_per_address_are_limited(rt: Runtime) -> None:
    """Finding: no limit on new visitors."""
    async with site_with(rt, Limits(new_visitors=Rate(NEVER, 3))) as site:
        made = [COOKIE in (await site.visit()).cookies for _ in range(4)]
        assert made == [True, True, True, False]
        async with site.page() as ws:  # nor may a socket make one
            assert ws.refused == 4401
    assert await rt.db.fetchval("SELECT count(*) FROM web_visitors") == 3


async def test_a_flooding_socket_is_closed(rt: Runtime) -> None:
    async with site_with(rt, Limits(per_socket=Rate(NEVER, 1))) as site:
        async with site.page() as ws:
            for _ in range(200):
                with contextlib.suppress(ConnectionClosed):
                    await ws.send("{}")
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 30)
            assert ws.close_code == 4429
