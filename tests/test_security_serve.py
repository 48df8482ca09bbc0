"""Issue 16 against a real `doorstep serve` on loopback: the findings that live in the server
process itself (uvicorn's frame limit, headers, /healthz, a forged WeChat POST)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bot.config import ROOT
from bot.web.chat import MAX_EVENT
from tests.fakes.wechat_follower import APP_ID, APP_SECRET, TOKEN, sign
from tests.test_security_wechat import xml
from tests.test_web_serve import _free_port, _wait_up


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))}
    env |= {
        "DOORSTEP_DB": str(tmp / "serve.sqlite3"),
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_API_URL": "http://127.0.0.1:9",
        "DOORSTEP_OPERATOR_TOKEN": "op-secret",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, proc)
        yield base, tmp / "serve.sqlite3"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_pages_send_csp_nosniff_and_referrer_policy(served: tuple[str, Path]) -> None:
    """Finding: /chat sent no CSP or X-Content-Type-Options."""
    base, _ = served
    for path in ("/chat", "/chat/static/chat.js", "/healthz"):
        r = httpx.get(base + path)
        assert "script-src 'self'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_healthz_says_only_ok_without_the_operator_token(served: tuple[str, Path]) -> None:
    """Finding: /healthz showed the outbox backlog to anyone."""
    base, _ = served
    anyone = httpx.get(base + "/healthz")
    assert anyone.status_code == 200 and anyone.text == "ok"
    in_url = httpx.get(base + "/healthz", params={"token": "op-secret"})
    assert in_url.text == "ok"  # a token in the URL is not read
    operator = httpx.get(base + "/healthz", headers={"X-Doorstep-Operator-Token": "op-secret"})
    assert "outbox" in operator.json()


def test_a_logged_wechat_url_cannot_speak_for_a_resident(served: tuple[str, Path]) -> None:
    """Finding (high): one logged request URL let anyone POST a plaintext body with any
    FromUserName and read /mydata in the victim's name."""
    base, _ = served
    ts, nonce = str(int(time.time())), "logged1"
    query = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    first = httpx.post(base + "/wechat", params=query, content=xml("o-someone", "hi").encode())
    assert first.status_code == 200
    forged = httpx.post(
        base + "/wechat", params=query, content=xml("o-victim", "/mydata", msg_id=2).encode()
    )
    assert forged.status_code == 403 and "o-victim" not in forged.text
    old = str(int(time.time()) - 3600)
    stale = {"signature": sign(TOKEN, old, "n2"), "timestamp": old, "nonce": "n2"}
    assert httpx.post(base + "/wechat", params=stale, content=b"<xml/>").status_code == 403


def test_uvicorn_refuses_frames_over_the_apps_limit(served: tuple[str, Path]) -> None:
    """Finding: uvicorn took WebSocket frames up to its 16 MiB default before the app's 8 KB
    check (20 sockets of 15 MiB took the server from 143 to 741 MB)."""
    base, _ = served

    cookie = httpx.get(base + "/chat").cookies["doorstep_session"]

    async def main() -> int | None:
        url = base.replace("http://", "ws://") + "/chat/ws"
        async with connect(
            url, additional_headers={"Cookie": f"doorstep_session={cookie}"}, max_size=None
        ) as ws:
            await ws.send(json.dumps({"type": "hello", "token": None}))
            assert json.loads(await ws.recv())["type"] == "ready"
            try:
                await ws.send("x" * (MAX_EVENT + 1))
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed:
                pass
            return ws.close_code

    assert asyncio.run(main()) == 1009  # "message too big", from the server itself
