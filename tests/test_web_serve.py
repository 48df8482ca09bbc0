"""`doorstep serve` as an operator runs it: one process serving /healthz, /chat and /wechat,
with the dispatcher and scheduler running, stopped cleanly by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bot.config import ROOT
from tests.fakes.wechat_follower import APP_ID, APP_SECRET, TOKEN, sign


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(base: str, proc: subprocess.Popen[Any], **kw: Any) -> httpx.Response:
    deadline = time.monotonic() + 30  # start-up wait, not a timing check
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        try:
            return httpx.get(base + "/healthz", timeout=2, **kw)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_runs_every_channel_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))} | {
        "DOORSTEP_DB": str(tmp_path / "serve.sqlite3"),
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_API_URL": "http://127.0.0.1:9",  # never called in this test
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
        health = _wait_up(base, proc, headers={"X-Doorstep-Operator-Token": "op-secret"})
        body = health.json()
        assert health.status_code == 200, body
        assert body["db"] and body["scheduler"] and body["channels"] == ["web", "wechat"]
        assert httpx.get(base + "/chat").status_code == 200
        ts, nonce = str(int(time.time())), "n1"
        verify = httpx.get(
            base + "/wechat",
            params={
                "signature": sign(TOKEN, ts, nonce),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": "hello",
            },
        )
        assert verify.text == "hello"
        assert httpx.post(base + "/telegram", json={}).status_code == 404  # Telegram is off
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_serve_refuses_telegram_without_a_webhook_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))}
    env |= {"DOORSTEP_DB": str(tmp_path / "x.sqlite3"), "TELEGRAM_BOT_TOKEN": "123:ABC"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", str(_free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "TELEGRAM_WEBHOOK_SECRET" in done.stderr
