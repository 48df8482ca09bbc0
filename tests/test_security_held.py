"""Issue 16, "what held, and must keep holding": the 1 MB body limit, static files safe from
traversal, a page that never builds HTML from strings, a forged WeChat signature refused
before anything is handled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from bot.channels.web import WebChat
from bot.config import ROOT, Secret
from bot.runtime import Runtime
from bot.web.app import MAX_BODY, TELEGRAM_SECRET_HEADER, build_app, json_depth
from tests.test_security_wechat import Wire, fake_url, xml  # noqa: F401 (fixture)


@pytest.fixture
async def wire(rt: Runtime, fake_url: str, clock: Any) -> AsyncIterator[Wire]:  # noqa: F811
    w = Wire(rt, fake_url, clock, aes=False)
    yield w
    await w.close()


@pytest.fixture
def client(wire: Wire) -> httpx.AsyncClient:
    return wire.client


async def test_bodies_over_1_mb_are_refused(wire: Wire) -> None:
    big = xml("o-big", "x" * MAX_BODY)
    r = await wire.post(wire.query(nonce="big1"), big)
    assert r.status_code == 413 and wire.runs == []


async def test_static_files_are_safe_from_traversal(client: httpx.AsyncClient) -> None:
    for path in (
        "/chat/static/../app.py",
        "/chat/static/%2e%2e/app.py",
        "/chat/static/..%2fapp.py",
        "/chat/static/%2e%2e%2f%2e%2e%2fstorage/db.py",
    ):
        r = await client.get(path)
        assert r.status_code == 404 and "import" not in r.text, path


def test_the_page_never_builds_html_from_strings() -> None:
    script = (ROOT / "bot" / "web" / "static" / "chat.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


async def test_deep_json_on_the_telegram_webhook_is_a_400(rt: Runtime, settings: Any) -> None:
    """Finding: update JSON nested 100,000 deep gave a RecursionError (500)."""
    from bot.channels.telegram import build_application
    from tests.fakes.botapi import FakeBotAPI, FakeRequest

    rt.settings = replace(rt.settings, telegram_token=Secret("123:ABC"))
    app = build_application(rt, request=FakeRequest(FakeBotAPI()))
    await app.initialize()
    web = build_app(rt, web=WebChat(rt), telegram=app, telegram_secret="s3cret")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://doorstep.test"
        ) as http:
            for depth in (100_000, 40):
                body = '{"update_id": 1, "message": ' + "[" * depth + "]" * depth + "}"
                r = await http.post(
                    "/telegram", content=body.encode(), headers={TELEGRAM_SECRET_HEADER: "s3cret"}
                )
                assert r.status_code == 400, depth
    finally:
        await app.shutdown()
    assert json_depth({"a": [[{"b": 1}]]}) == 4
