"""The web chat in a real browser: headless Chromium (Debian's) driven by Playwright, tapping
through /start → language → consent → menu → health tips → the rhyme, then sharing a location
through the browser's geolocation. A screenshot is saved in test-artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.web import WebChat, WebSender
from bot.config import ROOT
from bot.runtime import Runtime
from bot.web.app import build_app
from tests.fakes.wechat_api import serve_asgi

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LAT, LON = 30.8930, 121.1620
WAIT_MS = 15_000  # how long to wait for the page to show something (not a timing check)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
async def chat_url(rt: Runtime) -> AsyncIterator[str]:
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    async with serve_asgi(build_app(rt, web=web)) as url:
        yield url + "/chat"


async def test_web_chat_in_a_browser(chat_url: str) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            context = await browser.new_context(
                locale="en-GB",
                viewport={"width": 390, "height": 844},  # a phone
                geolocation={"latitude": LAT, "longitude": LON},
                permissions=["geolocation"],
            )
            page = await context.new_page()
            await page.goto(chat_url)
            await expect(page.locator("html")).to_have_attribute("lang", "en")
            bot = page.locator(".msg.bot")

            async def tap(label: str) -> None:
                await page.locator("button.option:not([disabled])", has_text=label).last.click()

            await expect(page.locator("#status")).to_have_text("")  # connected
            await page.locator("#start").click()
            await expect(bot.last).to_contain_text("Welcome to Doorstep")
            await tap("English")
            await expect(bot.last).to_contain_text("Privacy notice")
            await tap("I agree")
            await expect(bot.last).to_contain_text("You're all set")
            await tap("Health tips")
            await expect(page.locator("button.option", has_text="Read the rhyme")).to_be_visible()
            # Buttons of earlier turns are retired: their numbers now mean other things.
            assert await page.locator("button.option", has_text="I agree").is_disabled()
            await tap("Read the rhyme")
            await expect(bot.last).to_contain_text("Wash your hands")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "web-chat-rhyme.png"))
            count = await bot.count()
            await page.locator("#share-location").click()
            await expect(bot).not_to_have_count(count)
            await expect(page.locator(".msg.me").last).to_contain_text("Share my location")
            shown = await bot.last.inner_text()
            assert shown.strip() and "went wrong" not in shown

            # Readable for older eyes: large type and big tap targets.
            button = page.locator("button.option").last
            size = await button.evaluate("b => parseFloat(getComputedStyle(b).fontSize)")
            box = await button.bounding_box()
            assert size >= 18 and box is not None and box["height"] >= 44

            await page.screenshot(path=str(ARTIFACTS / "web-chat.png"))
            assert (ARTIFACTS / "web-chat.png").stat().st_size > 0
        finally:
            await browser.close()
