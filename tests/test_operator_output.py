"""What an operator sees: `doorstep serve` says where it listens, and a deployment with no
directory imported says so (to residents, and to the operator in the log) instead of claiming
every station is more than 30 km away."""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import ROOT
from tests.harness import ChatUser

STARTUP_WAIT_S = 60  # how long to wait for the line at most (not a timing check)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_logs_where_it_listens_and_which_channels(tmp_path: Path) -> None:
    port = free_port()
    secret = "web-secret-never-logged-123"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WECHAT_", "DOORSTEP_"))
    }
    env.update(DOORSTEP_DB=str(tmp_path / "serve.sqlite3"), DOORSTEP_WEB_SECRET=secret)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    got = b""
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        # Read raw bytes as they come (a buffered readline would hide lines from select).
        while b"delivering notifications" not in got:
            if not sel.select(timeout=STARTUP_WAIT_S):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            got += chunk
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    lines = [got.decode(), (rest or b"").decode()]
    out = "".join(lines)
    base = f"http://127.0.0.1:{port}"
    assert f"doorstep serve listening on {base}: web chat {base}/chat" in out, out
    assert "WeChat off (no WECHAT_TOKEN)" in out and "Telegram off (no TELEGRAM_BOT_TOKEN)" in out
    assert "delivering notifications to: web" in out
    # A fresh database has no directory: the operator is told how to import it.
    assert "the district directory is empty" in out and "doorstep import stations" in out
    assert secret not in out
    assert proc.returncode == 0, out


def test_startup_line_names_enabled_channels_only() -> None:
    from bot.commands.serve import startup_line

    line = startup_line("0.0.0.0", 8443, web=True, wechat=object(), telegram=object())
    assert "WeChat http://0.0.0.0:8443/wechat" in line
    assert "Telegram webhook http://0.0.0.0:8443/telegram" in line
    assert "http://[::1]:80/chat" in startup_line("::1", 80, web=True, wechat=None, telegram=None)


async def test_no_directory_says_no_data_yet_not_far_away(
    user: ChatUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.services.directory")
    await user.text("📍 Nearest health station")
    assert "The district directory is not loaded yet" in user.texts()
    await user.location(30.8930, 121.1620)
    shown = user.texts()
    assert "The district directory is not loaded yet" in shown
    assert "30 km" not in shown
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("doorstep import stations FILE.csv" in w for w in warnings)
    # The doctor finder, by location, says the same.
    await user.text("👨‍⚕️ My family doctor")
    assert "The district directory is not loaded yet" in user.texts()


async def test_no_directory_in_chinese(make_user: Callable[..., ChatUser]) -> None:
    u = make_user("2002", "zh")
    await u.onboard("中文")
    await u.location(30.8930, 121.1620)
    assert "本区的机构名录还没有导入" in u.texts()
    assert "30" not in u.texts()
