"""The web chat in a real browser: headless Chromium (Debian's) driven by Playwright, tapping
through /start → language → consent → menu → health tips → the rhyme, then sharing a location
through the browser's geolocation. A screenshot is saved in test-artifacts/."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.domain.outbox import Planned
from bot.runtime import Runtime
from tests.browser import ARTIFACTS, LAT, LON, needs_chromium
from tests.doctor_fixtures import load_district

pytestmark = needs_chromium


async def test_web_chat_in_a_browser(chat_url: str, browser: Any) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(
        locale="en-GB",
        viewport={"width": 390, "height": 844},  # a phone
        geolocation={"latitude": LAT, "longitude": LON},
        permissions=["geolocation"],
    )
    page = await context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
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

    # The session token is in an HttpOnly cookie, never in the socket's URL.
    cookie = next(c for c in await context.cookies() if c["name"] == "doorstep_session")
    assert cookie["httpOnly"] and sockets
    assert not [u for u in sockets if cookie["value"] in u or "v=" in u]
    # Log out: the page starts over as a new visitor with a new token.
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.locator("#logout").click()
    await expect(page.locator("#welcome")).to_be_visible()
    after = next(c for c in await context.cookies() if c["name"] == "doorstep_session")
    assert after["value"] != cookie["value"]


async def in_view(page: Any, locator: Any) -> bool:
    """Whether the top of `locator` is inside the visible part of the message log."""
    log = await page.locator("#log").bounding_box()
    box = await locator.bounding_box()
    assert log is not None and box is not None
    return bool(log["y"] <= box["y"] < log["y"] + log["height"] - 20)


async def test_web_chat_on_a_phone_in_chinese(chat_url: str, browser: Any, rt: Runtime) -> None:
    """A Chinese resident on a 390×844 phone: the answer to a shared location stays in view
    above the menu, phone numbers are tel: links, Send fits on its line, the readings chart
    fills the width, and a reload keeps the conversation without asking the language again."""
    from playwright.async_api import expect

    await load_district(rt)
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        geolocation={"latitude": LAT, "longitude": LON},
        permissions=["geolocation"],
    )
    page = await context.new_page()
    await page.goto(chat_url)
    bot = page.locator(".msg.bot")

    async def tap(label: str) -> None:
        await page.locator("button.option:not([disabled])", has_text=label).last.click()

    await expect(page.locator("#status")).to_have_text("")
    # Send on one line: no taller than the text field, its text not cut.
    send = page.locator("#send")
    field = await page.locator("#input").bounding_box()
    box = await send.bounding_box()
    assert field is not None and box is not None and box["height"] <= field["height"] + 1
    assert await send.evaluate("b => b.scrollWidth <= b.clientWidth")
    assert box["x"] + box["width"] <= 390

    await page.locator("#start").click()
    await expect(bot.last).to_contain_text("请选择语言")
    await tap("中文")
    await expect(bot.last).to_contain_text("隐私")
    await tap("我同意")
    stations = page.locator("button.option", has_text="最近的健康服务点")
    await expect(stations.last).to_be_enabled()
    await page.screenshot(path=str(ARTIFACTS / "web-phone-menu.png"))
    count = await bot.count()
    await page.locator("#share-location").click()
    await expect(bot).not_to_have_count(count)
    await expect(page.locator(".msg.bot", has_text="离您最近").last).to_be_visible()
    await page.wait_for_timeout(300)  # let the last scroll settle (not a timing check)
    answer = page.locator(".msg.bot", has_text="离您最近").last
    await page.screenshot(path=str(ARTIFACTS / "web-phone-location.png"))
    assert await in_view(page, answer), "the answer scrolled out of view"
    # Phone numbers are links to call, built as elements.
    tel = answer.locator("a.tel")
    assert await tel.count() >= 1
    href = await tel.first.get_attribute("href")
    text = await tel.first.inner_text()
    assert href == "tel:" + text.replace("-", "").replace(" ", "")
    assert href.startswith("tel:0") and len(href) >= 12

    # The readings chart at phone width, in Chinese.
    await page.locator("#input").fill("/bp 150/95")
    await send.click()
    await expect(bot.last).to_contain_text("150/95")
    # A danger-sign reading: "call 120" can be tapped, as can the centre's phone.
    await page.locator("#input").fill("/bp 185/100")
    await send.click()
    await expect(page.locator('a.tel[href="tel:120"]').last).to_be_visible()
    danger = page.locator(".msg.bot", has_text="120").last
    hrefs = await danger.locator("a.tel").evaluate_all("els => els.map(e => e.href)")
    assert "tel:120" in hrefs and any(h.startswith("tel:021") for h in hrefs), hrefs
    await page.locator("#input").fill("/readings")
    await send.click()
    img = page.locator(".photo img").last
    await expect(img).to_be_visible()
    await img.evaluate("i => i.complete || new Promise(r => i.onload = r)")
    width = await img.evaluate("i => i.getBoundingClientRect().width")
    natural = await img.evaluate("i => i.naturalWidth")
    assert width >= 330, f"chart shown {width} px wide"
    # Tick labels are 13 pt at 200 dpi in the PNG: their size on this screen.
    assert 13 * 200 / 72 * width / natural >= 14
    await img.scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "web-phone-chart.png"))

    # A reload shows the same conversation and asks nothing again.
    shown = await bot.count()
    await page.reload()
    await expect(page.locator("#status")).to_have_text("")
    await expect(bot).to_have_count(shown)
    assert await page.locator("#welcome").count() == 0
    await tap("我的健康")
    await expect(bot).to_have_count(shown + 1)
    assert "请选择语言" not in await bot.last.inner_text()
    await page.screenshot(path=str(ARTIFACTS / "web-phone-reload.png"))

    # A tip pushed mid-flow keeps the screen's buttons working (and their numbers).
    await tap("首页")
    await tap("健康小贴士")
    await tap("开启小贴士")
    time_key = page.locator("button.option", has_text="接收时间").last
    await expect(time_key).to_be_enabled()
    visitor = await rt.db.fetchval("SELECT channel_user_id FROM residents WHERE channel = 'web'")
    resident = await rt.stores.residents.load("web", visitor)
    assert resident is not None
    tip = rt.services.tips.catalog.tips[2]
    now = rt.now()
    await rt.stores.outbox.plan([Planned(resident[0].id, "tip", tip.id, now, "tip:browser")], now)
    assert await rt.delivery.dispatcher.drain() == 1
    helpful = page.locator("button.option", has_text="有帮助").last
    await expect(helpful).to_be_enabled()
    await expect(time_key).to_be_enabled()  # not retired by the notification
    await page.screenshot(path=str(ARTIFACTS / "web-phone-pushed.png"))
    await time_key.click()
    await expect(bot.last).to_contain_text("您希望什么时候收到小贴士")
    assert await helpful.is_disabled()  # the next screen renumbered: retired
    # A new tab (no stored transcript): Start opens the menu, no language question.
    fresh = await context.new_page()
    await fresh.goto(chat_url)
    await expect(fresh.locator("#start")).to_have_text("打开主菜单")
    await fresh.locator("#start").click()
    await expect(fresh.locator(".msg.bot").last).to_contain_text("菜单")
    assert "请选择语言" not in await fresh.locator(".msg.bot").last.inner_text()


async def test_start_again_after_delete_works_in_the_browser(chat_url: str, browser: Any) -> None:
    """Finding: after /delete the socket closed (4401) and "▶️ Start again" was dead."""
    from playwright.async_api import expect

    context = await browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(chat_url)
    bot = page.locator(".msg.bot")

    async def tap(label: str) -> None:
        await page.locator("button.option:not([disabled])", has_text=label).last.click()

    await expect(page.locator("#status")).to_have_text("")
    await page.locator("#start").click()
    await tap("English")
    await tap("I agree")
    await expect(bot.last).to_contain_text("You're all set")
    await page.locator("#input").fill("/delete")
    await page.locator("#send").click()
    await tap("Yes, delete everything")
    await expect(bot.last).to_contain_text("All your data has been deleted")
    await tap("Start again")
    await expect(bot.last).to_contain_text("Welcome to Doorstep")
    await tap("English")
    await expect(bot.last).to_contain_text("Privacy notice")
    await context.close()
