"""A fake WeChat Official Account API on loopback: answers like the real one, records calls,
and fails on demand with WeChat's real error codes (42001 token expired, 45015 out of the
48-hour window, 45047 out of quota...).

Also `serve_asgi`: run any ASGI app with uvicorn on 127.0.0.1 and an ephemeral port, in the
test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TEXT_BYTES = 2048
FIELD_LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}


@dataclass
class Call:
    api: str  # token, custom, subscribe, menu
    token: str | None
    payload: dict[str, Any]
    errcode: int


@dataclass
class FakeWeChatAPI:
    app_id: str = "wx-test-app"
    secret: str = "test-secret"
    token_lifetime: int = 7200
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[int]] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    hold_token: asyncio.Event | None = None  # set to make token fetches wait for it
    token_requested: asyncio.Event = field(default_factory=asyncio.Event)

    # -- steering -------------------------------------------------------------------------
    def fail_next(self, api: str, code: int, times: int = 1) -> None:
        """The next `times` calls to `api` (custom, subscribe, menu, token) answer `code`."""
        self.faults.setdefault(api, []).extend([code] * times)

    def expire_tokens(self) -> None:
        """Every issued token stops working: the next call answers 42001."""
        self.valid_tokens.clear()

    # -- what was done --------------------------------------------------------------------
    def ok(self, api: str) -> list[dict[str, Any]]:
        return [c.payload for c in self.calls if c.api == api and c.errcode == 0]

    def texts(self, openid: str | None = None) -> list[str]:
        """Customer-service messages delivered, as text (msgmenu: head plus options)."""
        out = []
        for p in self.ok("custom"):
            if openid is not None and p["touser"] != openid:
                continue
            if p["msgtype"] == "text":
                out.append(p["text"]["content"])
            elif p["msgtype"] == "msgmenu":
                menu = p["msgmenu"]
                out.append("\n".join([menu["head_content"], *(i["content"] for i in menu["list"])]))
        return out

    @property
    def token_fetches(self) -> int:
        return sum(1 for c in self.calls if c.api == "token" and c.errcode == 0)

    # -- the API ---------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/cgi-bin/token", self._token, methods=["GET"]),
                Route("/cgi-bin/message/custom/send", self._custom, methods=["POST"]),
                Route("/cgi-bin/message/subscribe/bizsend", self._subscribe, methods=["POST"]),
                Route("/cgi-bin/menu/create", self._menu, methods=["POST"]),
            ]
        )

    def _fault(self, api: str) -> int:
        queue = self.faults.get(api)
        return queue.pop(0) if queue else 0

    @staticmethod
    def _err(code: int, msg: str = "error") -> JSONResponse:
        return JSONResponse({"errcode": code, "errmsg": msg})

    async def _token(self, request: Request) -> JSONResponse:
        q = request.query_params
        self.token_requested.set()
        if self.hold_token is not None:
            await self.hold_token.wait()
        code = self._fault("token")
        if not code and (q.get("appid") != self.app_id or q.get("secret") != self.secret):
            code = 40125  # invalid appsecret
        if code:
            self.calls.append(Call("token", None, dict(q), code))
            return self._err(code, "invalid appsecret")
        token = "TOKEN-" + secrets.token_hex(8)
        # A new token invalidates the old ones, as on the real platform (after a grace).
        self.valid_tokens = {token}
        self.calls.append(Call("token", None, dict(q), 0))
        return JSONResponse({"access_token": token, "expires_in": self.token_lifetime})

    async def _authed(self, request: Request, api: str) -> tuple[dict[str, Any], int, str | None]:
        token = request.query_params.get("access_token")
        payload = json.loads(await request.body())
        code = self._fault(api)
        if not code and token not in self.valid_tokens:
            code = 42001 if token and token.startswith("TOKEN-") else 40014
        return payload, code, token

    async def _custom(self, request: Request) -> JSONResponse:
        payload, code, token = await self._authed(request, "custom")
        if not code:
            code = self._check_custom(payload)
        self.calls.append(Call("custom", token, payload, code))
        return self._err(code, "ok" if not code else "refused")

    @staticmethod
    def _check_custom(payload: dict[str, Any]) -> int:
        if not payload.get("touser"):
            return 40003
        kind = payload.get("msgtype")
        if kind == "text":
            content = payload["text"]["content"]
            return 45002 if not content or len(content.encode()) > TEXT_BYTES else 0
        if kind == "msgmenu":
            menu = payload["msgmenu"]
            ok = menu["list"] and all(i["id"] and i["content"] for i in menu["list"])
            return 0 if ok else 47001
        return 40008  # invalid message type

    async def _subscribe(self, request: Request) -> JSONResponse:
        payload, code, token = await self._authed(request, "subscribe")
        if not code:
            for name, value in payload.get("data", {}).items():
                kind = name.rstrip("0123456789")
                limit = FIELD_LIMITS.get(kind, 20)
                if len(value["value"]) > limit:
                    code = 47003  # argument invalid: data.thing1.value too long
        self.calls.append(Call("subscribe", token, payload, code))
        return self._err(code)

    async def _menu(self, request: Request) -> JSONResponse:
        payload, code, token = await self._authed(request, "menu")
        if not code:
            buttons = payload.get("button", [])
            if not 1 <= len(buttons) <= 3:
                code = 40017
            for b in buttons:
                if len(b["name"].encode()) > 16:
                    code = 40018  # invalid button name size
                subs = b.get("sub_button", [])
                if len(subs) > 5:
                    code = 40017
                if any(len(s["name"].encode()) > 60 for s in subs):
                    code = 40018
        self.calls.append(Call("menu", token, payload, code))
        return self._err(code)


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 with an ephemeral port; yields the base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
