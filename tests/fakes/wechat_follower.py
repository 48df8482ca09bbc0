"""A WeChat follower for tests: builds the real signed (and, in safe mode, AES-encrypted)
XML requests WeChat's servers POST to `/wechat`, with wechatpy, and reads the answers."""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "doorstep-test-token"
APP_ID = "wx-test-app"
APP_SECRET = "test-secret"
AES_KEY = base64.b64encode(b"doorstep-test-aes-key-32-bytes!!").decode().rstrip("=")
ACCOUNT = "gh_doorstep"
_msg_ids = itertools.count(7_000_000_000_000_000_001)


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _cdata(value: Any) -> str:
    if isinstance(value, int | float):
        return str(value)
    return f"<![CDATA[{value}]]>"


@dataclass
class Answer:
    status: int
    body: str
    content: str | None  # the passive text reply, None for 'success'


@dataclass
class Follower:
    client: httpx.AsyncClient
    openid: str = "o-follower-1"
    safe_mode: bool = False
    clock: Any = None  # a callable giving unix seconds for CreateTime (tests move time)
    sent: list[str] = field(default_factory=list)

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    def _now(self) -> int:
        return int(self.clock()) if self.clock else int(time.time())

    def xml(self, msg_type: str, msg_id: int | None = None, **fields: Any) -> str:
        body = {
            "ToUserName": ACCOUNT,
            "FromUserName": self.openid,
            "CreateTime": self._now(),
            "MsgType": msg_type,
            **fields,
        }
        if msg_type != "event":
            body["MsgId"] = msg_id if msg_id is not None else next(_msg_ids)
        inner = "".join(f"<{k}>{_cdata(v)}</{k}>" for k, v in body.items())
        return f"<xml>{inner}</xml>"

    async def post(self, xml: str, signature: str | None = None) -> Answer:
        timestamp, nonce = str(self._now()), secrets.token_hex(5)
        params = {
            "signature": signature or sign(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": self.openid,
        }
        body = xml
        if self.safe_mode:
            sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
            params["encrypt_type"] = "aes"
            params["msg_signature"] = sealed["MsgSignature"]
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
            )
        self.sent.append(xml)
        r = await self.client.post("/wechat", params=params, content=body.encode())
        text = r.text
        if r.status_code != 200 or text == "success":
            return Answer(r.status_code, text, None)
        if self.safe_mode:
            sealed = xmltodict.parse(text)["xml"]
            assert "Encrypt" in sealed, "safe mode answers must be encrypted"
            text = self.crypto.decrypt_message(
                text, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
            )
        reply = xmltodict.parse(text)["xml"]
        assert reply["ToUserName"] == self.openid and reply["FromUserName"] == ACCOUNT
        return Answer(r.status_code, text, reply["Content"])

    async def text(self, content: str, msg_id: int | None = None, **extra: Any) -> Answer:
        return await self.post(self.xml("text", msg_id, Content=content, **extra))

    async def location(self, lat: float, lon: float) -> Answer:
        return await self.post(
            self.xml("location", Location_X=lat, Location_Y=lon, Scale=15, Label="somewhere")
        )

    async def image(self) -> Answer:
        return await self.post(
            self.xml("image", PicUrl="http://example.invalid/p.jpg", MediaId="media-1")
        )

    async def event(self, event: str, **fields: Any) -> Answer:
        return await self.post(self.xml("event", Event=event, **fields))

    async def subscribe(self) -> Answer:
        return await self.event("subscribe", EventKey="")

    async def click(self, key: str) -> Answer:
        return await self.event("CLICK", EventKey=key)
