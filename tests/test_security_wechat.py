"""Issue 16, WeChat: a request cannot be forged from a logged URL, replayed later, sent in
plaintext when safe mode is on, or malformed into a 500. Driven through the real Starlette
app with real signed (and AES-encrypted) requests; every test here failed on the code before
the fix (the finding it reproduces is named in each)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import xmltodict

from bot.channels.web import WebChat
from bot.channels.wechat import WeChatChannel, WeChatSender
from bot.channels.wechat_api import WeChatAPI
from bot.context import Ctx
from bot.runtime import Runtime
from bot.web.app import build_app
from tests.conftest import Clock
from tests.fakes.wechat_api import FakeWeChatAPI, serve_asgi
from tests.fakes.wechat_follower import ACCOUNT, AES_KEY, APP_ID, APP_SECRET, TOKEN, Follower, sign

VICTIM = "o-victim-0001"


class Wire:
    """A WeChat endpoint on the real app, and raw requests to it."""

    def __init__(self, rt: Runtime, url: str, clock: Clock, aes: bool) -> None:
        api = WeChatAPI(rt.stores.channels, APP_ID, APP_SECRET, url)
        self.rt, self.clock = rt, clock
        self.channel = WeChatChannel(
            rt, api, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY if aes else None
        )
        rt.senders["wechat"] = WeChatSender(self.channel)
        app = build_app(rt, web=WebChat(rt), wechat=self.channel)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://doorstep.test"
        )
        self.runs: list[str] = []

        async def probe(ctx: Ctx) -> None:  # stands for "a reading stored"
            self.runs.append(ctx.user.channel_user_id)
            ctx.say("probed")

        rt.registry.commands.pop("probe", None)  # a second worker on the same runtime
        rt.registry.command("probe", probe, open=True)

    def now(self) -> int:
        return int(self.clock().timestamp())

    def follower(self, openid: str, safe_mode: bool = False) -> Follower:
        return Follower(self.client, openid, safe_mode=safe_mode, clock=self.now)

    def query(self, ts: int | None = None, nonce: str = "n0nce1") -> dict[str, str]:
        t = str(self.now() if ts is None else ts)
        return {"signature": sign(TOKEN, t, nonce), "timestamp": t, "nonce": nonce}

    async def post(self, query: dict[str, str], body: str | bytes) -> httpx.Response:
        data = body.encode() if isinstance(body, str) else body
        return await self.client.post("/wechat", params=query, content=data)

    async def close(self) -> None:
        await self.channel.close()
        await self.client.aclose()


def xml(openid: str | None, content: str = "/probe", msg_id: Any = 5001, **extra: Any) -> str:
    fields: dict[str, Any] = {"ToUserName": ACCOUNT}
    if openid is not None:
        fields["FromUserName"] = openid
    fields |= {"CreateTime": 1, "MsgType": "text", "Content": content}
    if msg_id is not None:
        fields["MsgId"] = msg_id
    fields |= extra
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


@pytest.fixture
async def fake_url() -> AsyncIterator[str]:
    api = FakeWeChatAPI(app_id=APP_ID, secret=APP_SECRET)
    async with serve_asgi(api.app()) as url:
        yield url


@pytest.fixture
async def plain(rt: Runtime, fake_url: str, clock: Clock) -> AsyncIterator[Wire]:
    wire = Wire(rt, fake_url, clock, aes=False)
    yield wire
    await wire.close()


@pytest.fixture
async def safe(rt: Runtime, fake_url: str, clock: Clock) -> AsyncIterator[Wire]:
    wire = Wire(rt, fake_url, clock, aes=True)
    yield wire
    await wire.close()


async def test_a_logged_url_cannot_carry_another_body(plain: Wire) -> None:
    """Finding: anyone holding one logged request URL could POST any body with it."""
    query = plain.query()
    first = await plain.post(query, xml("o-real-sender", msg_id=6001))
    assert first.status_code == 200 and plain.runs == ["o-real-sender"]
    forged = await plain.post(query, xml(VICTIM, "/mydata", msg_id=6002))
    assert forged.status_code == 403
    assert await plain.rt.stores.residents.load("wechat", VICTIM) is None
    # The same request again (WeChat's own retry) is still answered, from the first answer.
    retry = await plain.post(query, xml("o-real-sender", msg_id=6001))
    assert retry.status_code == 200 and "probed" in retry.text
    assert plain.runs == ["o-real-sender"]


@pytest.mark.parametrize("year", [2001, 2100])
async def test_timestamps_far_from_now_are_refused(plain: Wire, year: int) -> None:
    """Finding: any timestamp was accepted (2001 and 2100 both were)."""
    ts = int(plain.clock().replace(year=year).timestamp())
    answer = await plain.post(plain.query(ts), xml(VICTIM))
    assert answer.status_code == 403 and plain.runs == []


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-300, True), (300, True), (-301, False), (301, False)]
)
async def test_the_window_is_300_seconds_either_way(plain: Wire, skew: int, accepted: bool) -> None:
    answer = await plain.post(plain.query(plain.now() + skew), xml(VICTIM, msg_id=7000 + skew))
    assert (answer.status_code == 200) is accepted
    assert plain.runs == ([VICTIM] if accepted else [])


async def test_the_url_check_refuses_a_stale_timestamp(plain: Wire) -> None:
    query = plain.query(plain.now() - 3600) | {"echostr": "echo-1"}
    stale = await plain.client.get("/wechat", params=query)
    assert stale.status_code == 403 and "echo-1" not in stale.text


async def test_with_an_aes_key_plaintext_is_refused(safe: Wire) -> None:
    """Finding: with WECHAT_AES_KEY set, a plaintext POST without encrypt_type was accepted."""
    answer = await safe.post(safe.query(), xml(VICTIM, "/mydata"))
    assert answer.status_code == 403
    assert await safe.rt.stores.residents.load("wechat", VICTIM) is None


async def test_an_encrypted_body_needs_its_own_signature(safe: Wire) -> None:
    """msg_signature covers the encrypted body: a body sealed with another signature fails."""
    query, body = sealed(safe, xml(VICTIM), "abcdef")
    good = query["msg_signature"]
    query["msg_signature"] = "0" * 40
    assert (await safe.post(query, body)).status_code == 403
    query["msg_signature"] = good
    assert (await safe.post(query, body)).status_code == 200
    assert safe.runs == [VICTIM]


def sealed(wire: Wire, body: str, nonce: str) -> tuple[dict[str, str], str]:
    """A safe-mode request exactly as WeChat sends it: query and encrypted body."""
    crypto = Follower(wire.client, "x").crypto
    ts = str(wire.now())
    out = xmltodict.parse(crypto.encrypt_message(body, nonce, ts))["xml"]
    query = wire.query(int(ts), nonce) | {
        "encrypt_type": "aes",
        "msg_signature": out["MsgSignature"],
    }
    return query, f"<xml><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>"


async def test_an_encrypted_request_replayed_11_minutes_later_is_refused(safe: Wire) -> None:
    """Finding: the same encrypted request sent again 11 minutes later was handled again
    (message ids are remembered for 10 minutes only)."""
    query, body = sealed(safe, xml(VICTIM, msg_id=8001), "replay1")
    assert (await safe.post(query, body)).status_code == 200
    safe.clock.set(safe.clock() + timedelta(minutes=11))
    await safe.channel.store.purge_inbound(safe.now() - safe.channel.inbound_ttl, safe.now())
    again = await safe.post(query, body)
    assert again.status_code == 403
    assert safe.runs == [VICTIM]


async def test_nonces_are_shared_by_workers(plain: Wire, rt: Runtime, fake_url: str) -> None:
    """A second worker (another channel on the same database) refuses a nonce the first saw."""
    other = Wire(rt, fake_url, plain.clock, aes=False)
    other.runs = plain.runs
    try:
        query = plain.query(nonce="sharednonce")
        assert (await plain.post(query, xml("o-a", msg_id=9001))).status_code == 200
        assert (await other.post(query, xml(VICTIM, msg_id=9002))).status_code == 403
    finally:
        await other.client.aclose()
        await other.channel.api.close()
    assert plain.runs == ["o-a"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (xml(VICTIM, msg_id="12ab-secret-value"), "malformed MsgId"),
        (xml(None), "missing or malformed FromUserName"),
        (xml(VICTIM).replace("<MsgType><![CDATA[text]]></MsgType>", ""), "MsgType"),
        (
            xml(VICTIM, msg_id=42).replace(
                "<MsgType><![CDATA[text]]></MsgType>",
                "<MsgType>location</MsgType><Location_X>999999</Location_X>"
                "<Location_Y>121.1</Location_Y>",
            ),
            "location out of range",
        ),
        (b"\xff\xfe not xml", "malformed message"),
    ],
    ids=["msgid", "no-sender", "no-msgtype", "location", "bytes"],
)
async def test_malformed_messages_get_400_and_a_clean_log_line(
    plain: Wire, body: str | bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Findings: a non-numeric MsgId gave a 500 with the value in the log; a message without
    FromUserName was handled as a user named "None"; a missing MsgType was answered "invalid
    signature"; a location of 999,999 was accepted."""
    caplog.set_level(logging.INFO)
    answer = await plain.post(plain.query(), body)
    assert answer.status_code == 400, answer.text
    assert reason in answer.text
    assert plain.runs == []
    assert await plain.rt.stores.residents.load("wechat", "None") is None
    assert "secret-value" not in caplog.text and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_entities_are_refused(plain: Wire) -> None:
    """What held: XXE and entity expansion are refused."""
    body = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f"<xml><FromUserName>{VICTIM}</FromUserName><MsgType>text</MsgType>"
        "<Content>&e;</Content><MsgId>1</MsgId></xml>"
    )
    answer = await plain.post(plain.query(), body)
    assert answer.status_code == 400 and plain.runs == []
