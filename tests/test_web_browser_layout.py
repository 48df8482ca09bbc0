"""Tester's findings on the web chat, in headless Chromium at 390×844 (screenshots in
test-artifacts/): the page's words follow the resident's language at once; buttons show the
number that types them and keep the reply's rows (the BP keypad 3 to a row, elder mode 2);
Send and location fit; a reload keeps no old toast; no request of the page fails."""

from __future__ import annotations

from typing import Any

from bot.runtime import Runtime
from tests.browser import ARTIFACTS, LAT, LON, needs_chromium

pytestmark = needs_chromium


async def rows_of(page: Any, locator: Any) -> list[int]:
    """How many of the buttons sit on each line (by their top edge), top to bottom."""
    tops = await locator.evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    counts: dict[int, int] = {}
    for top in tops:
        counts[top] = counts.get(top, 0) + 1
    return [counts[k] for k in sorted(counts)]


async def fits(page: Any, selector: str) -> None:
    el = page.locator(selector)
    box = await el.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
    assert await el.evaluate("b => b.scrollWidth <= b.clientWidth"), selector


async def test_web_chat_findings_at_phone_size(chat_url: str, browser: Any, rt: Runtime) -> None:
    from playwright.async_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(
        locale="en-GB",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        geolocation={"latitude": LAT, "longitude": LON},
        permissions=["geolocation"],
    )
    page = await context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(chat_url)
    bot = page.locator(".msg.bot")
    live = page.locator("button.option:not([disabled])")

    async def tap(label: str) -> None:
        await live.filter(has_text=label).last.click()

    await expect(page.locator("#status")).to_have_text("")
    await expect(page.locator("h1")).to_have_text("Doorstep health chat")
    await page.locator("#start").click()
    await tap("中文")
    await expect(bot.last).to_contain_text("隐私")
    # Finding 1: the page's own words turn Chinese at once, without a reload.
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    await expect(page.locator("h1")).to_have_text("家门口健康在线咨询")
    await expect(page.locator("#send")).to_have_text("发送")
    await expect(page.locator("#share-location")).to_contain_text("发送我的位置")
    assert "输入" in (await page.locator("#input").get_attribute("placeholder") or "")
    assert await page.title() == "家门口健康在线咨询"
    await tap("我同意")
    await expect(bot.last).to_contain_text("设置完成")
    # Finding 4: the toast of that press goes; a reload starts with a clear status.
    await page.reload()
    await expect(page.locator("#status")).to_have_text("")
    await page.wait_for_timeout(500)  # a stale toast would show by now (not timing)
    await expect(page.locator("#status")).to_have_text("")
    await expect(page.locator("h1")).to_have_text("家门口健康在线咨询")

    # Finding 2: Send and location fit at 390 px, Send on one line.
    await fits(page, "#send")
    await fits(page, "#share-location")
    field = await page.locator("#input").bounding_box()
    send = await page.locator("#send").bounding_box()
    assert field and send and send["height"] <= field["height"] + 1
    await page.screenshot(path=str(ARTIFACTS / "web-findings-menu.png"))

    # Finding 3: every button shows what typing presses it; typing it presses it.
    buttons = live
    n = await buttons.count()
    keys = [await buttons.nth(i).locator(".key").inner_text() for i in range(n)]
    assert keys == [str(i) for i in range(1, n + 1)], keys
    settings = live.filter(has_text="设置").last
    key = await settings.locator(".key").inner_text()
    await page.locator("#input").fill(key)
    await page.locator("#send").click()
    await expect(bot.last).to_contain_text("语言")
    # Main-menu keys two to a row.
    await page.locator("#input").fill("/menu")
    await page.locator("#send").click()
    await expect(live.first).to_be_visible()
    assert set((await rows_of(page, live))[:-1]) == {2}

    # Finding 2: the blood-pressure keypad 3 to a row, as on the phone.
    await page.locator("#input").fill("/health")
    await page.locator("#send").click()
    await tap("记录血压")
    digits = live.filter(has_text="5")
    await expect(digits.first).to_be_visible()
    await expect(live.locator(".key").first).to_have_text("a")  # keypad: letters
    pad = page.locator(".msg.bot").last.locator(".keys.cols-3 button")
    assert await pad.count() >= 9
    assert (await rows_of(page, pad))[:3] == [3, 3, 3]
    await bot.last.scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "web-findings-keypad.png"))

    # Elder mode: two to a row.
    await page.locator("#input").fill("/menu")
    await page.locator("#send").click()
    await tap("设置")
    await tap("长者模式")
    await tap("是")
    await expect(live.first).to_be_visible()
    elder = page.locator(".msg.bot").last.locator("button.option:not([disabled])")
    assert 2 in await rows_of(page, elder)
    await page.screenshot(path=str(ARTIFACTS / "web-findings-elder.png"))
    assert failed == [], failed
    assert not [e for e in errors if "404" in e], errors


async def test_a_reload_keeps_no_toast_and_nothing_fails_to_load(
    chat_url: str, browser: Any
) -> None:
    """Finding 4 on its own: no request of the page fails (the browser's favicon request was
    a 404), and the status line after a reload shows no toast of before."""
    from playwright.async_api import expect

    page = await (await browser.new_context(locale="en-GB")).new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    await page.goto(chat_url)
    await expect(page.locator("#status")).to_have_text("")
    await page.locator("#start").click()
    await page.locator("button.option:not([disabled])", has_text="English").click()
    await page.locator("button.option:not([disabled])", has_text="I agree").click()
    await expect(page.locator("#status")).to_have_text("Thank you.")
    await page.reload()
    await expect(page.locator("#status")).to_have_text("")
    await page.wait_for_timeout(300)  # let any late frame arrive (not a timing check)
    await expect(page.locator("#status")).to_have_text("")
    assert failed == [], failed


async def test_typing_a_number_presses_the_button_showing_it(chat_url: str, browser: Any) -> None:
    """Finding 3 on its own: the web buttons show the number that types them."""
    from playwright.async_api import expect

    page = await (await browser.new_context(locale="en-GB")).new_page()
    await page.goto(chat_url)
    await expect(page.locator("#status")).to_have_text("")
    await page.locator("#start").click()
    first = page.locator("button.option:not([disabled])").first
    await expect(first).to_be_visible()
    await expect(first.locator(".key")).to_have_text("1")
    label = await first.locator(".label").inner_text()
    await page.locator("#input").fill("1")
    await page.locator("#send").click()
    await expect(page.locator(".msg.bot").last).to_contain_text(
        "隐私" if "中文" in label else "Privacy"
    )
