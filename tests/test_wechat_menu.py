"""`doorstep wechat menu push`: the custom menu built from the main menu, sent to WeChat."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.cli import main
from bot.menu import MAIN_MENU
from tests.fakes.wechat_api import FakeWeChatAPI
from tests.fakes.wechat_follower import APP_ID, APP_SECRET, TOKEN


@pytest.fixture
def fake_in_thread() -> Iterator[tuple[FakeWeChatAPI, str]]:
    """The fake API in its own thread: the command under test runs its own event loop."""
    fake = FakeWeChatAPI(app_id=APP_ID, secret=APP_SECRET)
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("fake WeChat API did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_in_thread: Any) -> FakeWeChatAPI:
    fake, url = fake_in_thread
    monkeypatch.setenv("DOORSTEP_DB", str(tmp_path / "doorstep.sqlite3"))
    monkeypatch.setenv("WECHAT_TOKEN", TOKEN)
    monkeypatch.setenv("WECHAT_APP_ID", APP_ID)
    monkeypatch.setenv("WECHAT_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WECHAT_API_URL", url)
    return fake


def test_menu_push_sets_a_valid_menu_with_every_entry(env: FakeWeChatAPI, capsys: Any) -> None:
    assert main(["wechat", "menu", "push"]) == 0
    menu = env.ok("menu")[-1]  # the fake checks WeChat's limits (3 × 5, name sizes)
    bar = menu["button"]
    assert len(bar) <= 3 and all(len(b.get("sub_button", [])) <= 5 for b in bar)
    assert all(len(b["name"].encode()) <= 16 for b in bar)
    keys = [b["key"] for b in bar if "key" in b]
    keys += [s["key"] for b in bar for s in b.get("sub_button", [])]
    assert sorted(keys) == sorted(f"menu:{item.key}" for item in MAIN_MENU)
    assert bar[0]["name"] == "家庭医生"  # in the default language, short names on the bar
    assert "custom menu set" in capsys.readouterr().out


def test_menu_push_dry_run_and_refusal(env: FakeWeChatAPI, capsys: Any) -> None:
    assert main(["wechat", "menu", "push", "--dry-run", "--locale", "en"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["button"][0]["name"] == "Family doctor"
    assert env.calls == []  # a dry run sends nothing
    env.fail_next("menu", 40018)
    assert main(["wechat", "menu", "push"]) == 1
    assert "WeChat refused the menu" in capsys.readouterr().err
