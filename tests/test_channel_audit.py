"""Findings of the channel audit (sandbox, web chat, WeChat): each class checked where the
resident sees it, against the database."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from bot.channels import numbered
from bot.channels.console import ConsoleChat
from bot.core import Button, Kind, Reply
from bot.domain.channels import traits
from bot.names import team_name
from bot.runtime import Runtime
from tests.doctor_fixtures import load_district
from tests.test_numbered_input import Visitor
from tests.test_questions_channels import sign
from tests.test_web import Page, site  # noqa: F401  (fixture)
from tests.test_wechat import Setup, fake, onboard, wx  # noqa: F401  (fixtures)


async def tickets_of(rt: Runtime, channel: str, user_id: str) -> list[Any]:
    loaded = await rt.stores.residents.load(channel, user_id)
    assert loaded is not None
    current = await rt.services.tickets.open_ticket(loaded[0].id)
    return [] if current is None else [current]


async def web_visitor(rt: Runtime) -> Visitor:
    v = Visitor(rt)
    v.id = (await v.web.new_session()).visitor
    await v.type("/start")
    await v.tap("English")
    await v.tap("I agree")
    return v


# -- 1. a number typed on a screen that waits for words presses the option ------------------
def test_free_text_screens_number_their_options_and_replace_the_older_offer() -> None:
    older = numbered.offer(numbered.flatten([Reply("menu", buttons=((Button("Old", "o"),),))]))
    assert older is not None and numbered.pick("1", older) is not None
    screen = Reply("Type your question", buttons=((Button("⬅️ Back", "b"),),), free_text=True)
    offer = numbered.offer(numbered.flatten([screen]))
    assert offer is not None and not offer["wants_text"]
    back = numbered.pick("1", offer)
    assert back is not None and back.data == "b"
    # Without options it still replaces the older offer: "1" presses nothing old.
    bare = numbered.offer(numbered.flatten([Reply("Type it", free_text=True)]))
    assert bare is not None and numbered.pick("1", bare) is None
    words = numbered.text_to_incoming("web", "v", "my knee hurts", offer)
    assert words.kind is Kind.TEXT and words.text == "my knee hurts"


async def test_web_a_number_on_the_question_screen_presses_back_not_sends(rt: Runtime) -> None:
    await load_district(rt)
    v = await web_visitor(rt)
    await sign(rt, "web", v.id)
    await v.tap("Questions")
    await v.tap("Ask my team")
    back = next(o for m in v.messages for o in m["options"] if "Back" in o["label"])
    assert back["key"] == str(back["n"])  # numbered, not lettered
    await v.type(str(back["n"]))
    assert "pick a topic" in v.text()  # the Questions screen again
    assert await tickets_of(rt, "web", v.id) == []  # nothing was sent to the team
    await v.tap("Ask my team")
    await v.type("my knee hurts")
    sent = await tickets_of(rt, "web", v.id)
    assert len(sent) == 1 and "as a new question" in v.text()


async def test_console_a_number_on_the_question_screen_presses_back(rt: Runtime) -> None:
    await load_district(rt)
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="1", out=out)
    for line in ("/start", "English", "✅ I agree"):
        await chat.feed(line)
    await sign(rt, "console", "1")
    await chat.feed("💬 Questions")
    await chat.feed("✍️ Ask my team")
    labels = [o.label for o in chat.options]
    back = labels.index("⬅️ Back") + 1
    assert f"[{back}] ⬅️ Back" in out.getvalue()
    await chat.feed(str(back))
    assert await tickets_of(rt, "console", "1") == []
    assert "pick a topic" in out.getvalue().rsplit("⬅️ Back", 1)[-1]


async def test_wechat_a_number_on_the_question_screen_presses_back(wx: Setup) -> None:  # noqa: F811
    await load_district(wx.rt)
    f = wx.follower()
    await onboard(f)
    await sign(wx.rt, "wechat", f.openid)
    await f.text("💬 Questions")
    screen = (await f.text("✍️ Ask my team")).content or ""
    line = next(x for x in screen.splitlines() if "⬅️ Back" in x)
    number = line.split(":")[0].split()[-1]
    assert number.isdecimal()
    answer = (await f.text(number)).content or ""
    assert "pick a topic" in answer
    assert await tickets_of(wx.rt, "wechat", f.openid) == []


# -- 8. one numbering of the emergency reply on every text channel --------------------------
EMERGENCY = "my husband collapsed and isn't responding"


async def test_the_emergency_reply_is_numbered_alike_on_sandbox_and_web(rt: Runtime) -> None:
    v = await web_visitor(rt)
    await v.type(EMERGENCY)
    web = [(o["key"], o["label"]) for m in v.messages for o in m["options"]]
    links = [link["label"] for m in v.messages for link in m["links"]]
    assert links and any("120" in label for label in links)
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="1", out=out)
    for line in ("/start", "English", "✅ I agree"):
        await chat.feed(line)
    out.truncate(0)
    out.seek(0)
    await chat.feed(EMERGENCY)
    shown = out.getvalue()
    console = [(str(o.n), o.label) for o in chat.options]
    assert console == web
    for key, label in web:
        assert f"[{key}] {label}" in shown
    for label in links:  # the call links are shown, not numbered
        assert f"🔗 {label}: tel:" in shown and f"] {label}" not in shown


# -- 9. elder mode: Ask my team shows the words and the team before sending -----------------
async def test_elder_ask_my_team_confirms_the_words_and_the_team(rt: Runtime) -> None:
    await load_district(rt)
    v = await web_visitor(rt)
    await sign(rt, "web", v.id)
    loaded = await rt.stores.residents.load("web", v.id)
    assert loaded is not None
    await rt.stores.residents.update(loaded[0], elder_mode=True)
    desk = await rt.services.tickets.destination(loaded[0].id)
    await v.tap("Questions")
    await v.tap("Ask my team")
    await v.type("my knee hurts")
    assert await tickets_of(rt, "web", v.id) == []  # nothing sent yet
    assert desk.doctor is not None
    # The team as every English screen names it (bot/names.py), not the stored Chinese name.
    assert "my knee hurts" in v.text() and team_name("en", desk.doctor) in v.text()
    assert desk.team not in v.text()
    await v.tap("Do not send")
    assert await tickets_of(rt, "web", v.id) == []
    await v.tap("Ask my team")
    await v.type("my knee hurts")
    await v.tap("✅ Send")
    sent = await tickets_of(rt, "web", v.id)
    assert len(sent) == 1 and sent[0].team == desk.team
    assert "as a new question" in v.text()
    # A stale ✅ Send (the words were sent) sends nothing twice.
    await v.web.handle(v.id, {"type": "text", "text": "/menu"})
    assert len(await tickets_of(rt, "web", v.id)) == 1


# -- the web chat: frames, stale tabs, notifications, /delete --------------------------------
async def test_web_unreadable_frames_get_a_kind_answer_and_keep_the_screen(site: Any) -> None:  # noqa: F811
    s, _ = site
    async with s.open(await s.visit()) as ws:
        page = Page(ws)
        await page.turn({"type": "text", "text": "/start"})
        for bad in ("{", "[1, 2]", {"type": "dance"}, {"type": "text", "text": "  "}):
            answer = await page.turn(bad)
            assert len(answer) == 1 and "could not be read" in Page.text(answer)
        english = await page.tap("English")  # the language screen still works
        assert "privacy" in Page.text(english).lower()


async def test_web_a_tap_in_a_stale_tab_is_answered_with_the_current_screen(site: Any) -> None:  # noqa: F811
    s, web = site
    cookie = await s.visit()
    async with s.open(cookie) as one, s.open(cookie) as two:
        a, b = Page(one), Page(two)
        await a.turn({"type": "text", "text": "/start"})
        await a.tap("English")
        await a.tap("I agree")
        menu = await a.turn({"type": "text", "text": "/menu"})
        old_screen = menu[-1]["screen"]
        tips = next(o for m in menu for o in m["options"] if "Health tips" in o["label"])
        b.shown = menu  # the second tab shows the same menu
        settings = await a.tap("Settings")  # answered in the first tab: a new screen
        assert settings[-1]["screen"] != old_screen
        stale = await b.turn({"type": "option", "n": tips["n"], "screen": old_screen})
        assert "out of date" in Page.text(stale) and "Elder mode" in Page.text(stale)
        assert stale[0]["screen"] == settings[-1]["screen"]
        visitor = await web.visitor(cookie)
        loaded = await web.rt.stores.residents.load("web", visitor)
        assert loaded is not None and loaded[1].name is None  # nothing was acted on
        # The re-shown screen's options are the current ones, with their numbers.
        labels = {o["n"]: o["label"] for o in settings[-1]["options"]}
        assert {o["n"]: o["label"] for o in stale[0]["options"]} == labels
        current = await b.turn(
            {"type": "option", "n": stale[0]["options"][0]["n"], "screen": stale[0]["screen"]}
        )
        assert "out of date" not in Page.text(current)


async def test_web_notifications_carry_home_and_back_to_the_open_flow(site: Any) -> None:  # noqa: F811
    s, web = site
    cookie = await s.visit()
    async with s.open(cookie) as ws:
        page = Page(ws)
        await page.turn({"type": "text", "text": "/start"})
        await page.tap("English")
        await page.tap("I agree")
        await page.tap("Questions")
        visitor = await web.visitor(cookie)
        await load_district(web.rt)
        await sign(web.rt, "web", visitor)
        asking = await page.tap("Ask my team")  # a flow waiting for words
        await web.rt.senders["web"].send(visitor, [Reply("Your reminder")])
        pushed = await page.pushed()
        labels = [o["label"] for o in pushed["options"]]
        assert labels == ["⬅️ Back", "🏠 Home"]
        back = await page.turn(
            {"type": "option", "n": pushed["options"][0]["n"], "screen": pushed["screen"]}
        )
        assert back[0]["text"] == asking[0]["text"]  # the screen the visitor was answering
        assert [o["n"] for o in back[0]["options"]] == [o["n"] for o in asking[0]["options"]]
        home = await page.turn(
            {"type": "option", "n": pushed["options"][1]["n"], "screen": pushed["screen"]}
        )
        assert "Main menu" in Page.text(home) or "choose" in Page.text(home).lower()
        # Outside a flow a notification gets Home only.
        await web.rt.senders["web"].send(visitor, [Reply("Another")])
        assert [o["label"] for o in (await page.pushed())["options"]] == ["🏠 Home"]


async def test_web_start_again_after_delete_works_on_the_same_page(site: Any) -> None:  # noqa: F811
    s, web = site
    cookie = await s.visit()
    async with s.open(cookie) as ws:
        page = Page(ws)
        await page.turn({"type": "text", "text": "/start"})
        await page.tap("English")
        await page.tap("I agree")
        old = await web.visitor(cookie)
        await page.turn({"type": "text", "text": "/delete"})
        await ws.send(
            json.dumps(
                {
                    "type": "option",
                    "n": next(
                        o["n"]
                        for m in page.shown
                        for o in m["options"]
                        if "delete everything" in o["label"]
                    ),
                }
            )
        )
        frames = []
        while True:
            frame = json.loads(await ws.recv())
            frames.append(frame)
            if frame["type"] == "done":
                break
        assert await web.rt.stores.residents.load("web", old) is None  # deleted
        fresh = next(f for f in frames if f["type"] == "session")
        assert fresh["fresh"] and fresh["token"]
        page.shown = [f for f in frames if f["type"] == "message"]
        again = await page.tap("Start again")  # the socket is open, the button works
        assert "Welcome to Doorstep" in Page.text(again) or "language" in Page.text(again)
        new = await web.visitor(fresh["token"])
        assert new is not None and new != old
    # The tab reconnects with the dead cookie and its new token: it is the new visitor.
    async with s.open(cookie, token=fresh["token"]) as ws:
        assert ws.close_code is None
        english = await Page(ws).turn({"type": "text", "text": "/start"})
        assert english


# -- 2. what a channel can send: files and pictures -----------------------------------------
async def test_files_are_sent_only_where_the_channel_can_send_them(rt: Runtime) -> None:
    from tests.harness import ChatUser

    for channel, can in (("wechat", False), ("web", True)):
        user = ChatUser(rt, user_id=f"{channel}-1", channel=channel)
        await user.onboard()
        assert traits(channel).can_send_files is can
        outcome = await user.text("/mydata")
        docs = [r.document for r in outcome.replies if r.document is not None]
        said = "\n".join(r.text for r in outcome.replies)
        if can:
            assert [d.filename for d in docs] == ["doorstep-my-data.json"]
            assert "Your data (JSON)" in said
            assert "The file above has all of it in JSON." in said
        else:
            assert docs == []
            assert "The file doorstep-my-data.json can't be sent in this chat." in said
            assert "Your data (JSON)" not in said  # the caption of a file never sent
            assert "file above" not in said  # nor the /mydata line pointing at it


def test_wechat_shows_no_caption_of_a_picture_it_cannot_send(rt: Runtime) -> None:
    from bot.channels.wechat_render import passive_text
    from bot.core import Attachment

    blocks = numbered.flatten(
        [
            Reply(text="📊 Your chart", photo=Attachment("week.png", b"png", "image/png")),
            Reply(text="Taken 6 of 7", buttons=((Button("OK", "v1:menu:home"),),)),
        ]
    )
    assert not traits("wechat").can_send_images
    text = passive_text(blocks, rt.catalogs.get("en"))
    assert "Your chart" not in text and "Taken 6 of 7" in text


# -- 10. zh wording: 您 to residents (elder mode too); no 他 for a family member -------------
def test_zh_catalog_says_nin_and_never_ta_for_a_relative() -> None:
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).parent.parent / "locales/zh_Hans/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    bad_ni, bad_ta = [], []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if not text:
                continue
            if "你" in text:
                bad_ni.append(text)
            # 他 alone (a relative of unknown sex: 对方 or the relation); 他们 and 其他 are fine.
            if re.search(r"(?<!其)他(?!们)", text):
                bad_ta.append(text)
    assert bad_ni == [] and bad_ta == []


# -- 11. texts that list or name the menu come from its one definition ----------------------
async def test_onboarding_and_help_list_the_whole_menu(rt: Runtime) -> None:
    from bot.menu import MAIN_MENU
    from tests.harness import ChatUser

    user = ChatUser(rt, user_id="menu-1", channel="web")
    await user.text("/start")
    await user.press("English")
    done = await user.press("✅")
    said = "\n".join(r.text for r in done.replies)
    helped = "\n".join(r.text for r in (await user.text("/help")).replies)
    for item in MAIN_MENU:
        assert item.label in said and item.label in helped
    assert "Tap a button" in said
    wechat = ChatUser(rt, user_id="menu-2", channel="wechat")
    await wechat.text("/start")
    await wechat.press("English")
    on_wechat = "\n".join(r.text for r in (await wechat.press("✅")).replies)
    assert "Send an option's number" in on_wechat and "Tap a button" not in on_wechat


def test_wechat_call_buttons_are_bare_numbers_wechat_makes_tappable(rt: Runtime) -> None:
    from bot.channels.wechat_render import passive_text

    blocks = numbered.flatten(
        [Reply("Call now", buttons=((Button("📞 Call 120", url="tel:120"),),))]
    )
    text = passive_text(blocks, rt.catalogs.get("en"))
    assert "📞 Call 120: 120" in text and "tel:" not in text


def test_wechat_menu_group_names_are_the_readmes(rt: Runtime) -> None:
    from pathlib import Path

    from bot.channels.wechat_menu import build_menu

    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    zh, en = rt.catalogs.get("zh_Hans"), rt.catalogs.get("en")
    groups_zh = [b["name"] for b in build_menu(zh)["button"] if "sub_button" in b]
    groups_en = [b["name"] for b in build_menu(en)["button"] if "sub_button" in b]
    assert groups_zh
    for name_zh, name_en in zip(groups_zh, groups_en, strict=True):
        assert f"{name_zh} / {name_en}" in readme


def test_readme_repeats_no_passage_within_a_paragraph() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.lstrip().startswith("|"):
            continue  # a table repeats its cells
        words = paragraph.split()
        seen: set[str] = set()
        for i in range(len(words) - 10):
            shingle = " ".join(words[i : i + 10])
            assert shingle not in seen, f"README repeats itself: {shingle!r}"
            seen.add(shingle)


# -- 3. a notification's numbers join the screen only once the resident saw them -------------
async def test_wechat_a_notification_that_waits_adds_no_numbers(wx: Setup) -> None:  # noqa: F811
    import pytest

    from bot.delivery.sender import Deferred

    f = wx.follower("o-waits")
    await onboard(f)
    await f.text("💡 Health tips")
    loaded = await wx.rt.stores.residents.load("wechat", f.openid)
    assert loaded is not None
    before = await wx.rt.stores.channels.load_options(loaded[0].id)
    wx.clock.set(wx.clock() + timedelta(hours=49))  # the 48-hour window is closed
    tip = Reply(text="Wash your hands", buttons=((Button("👍 Helpful", "v1:menu:home"),),))
    row = type("Row", (), {"kind": "vaccine", "params": {}})()
    with pytest.raises(Deferred):
        await wx.sender.send(f.openid, [tip], notification=row)
    # Nothing was shown: the numbers on screen are what the resident last saw.
    assert await wx.rt.stores.channels.load_options(loaded[0].id) == before
    answer = await f.text(str(len(before["options"]) + 1))
    assert "There is no option" in (answer.content or "")
    await wx.sender.send(f.openid, [tip])  # the window is open again: shown, numbered after
    after = await wx.rt.stores.channels.load_options(loaded[0].id)
    assert after["options"][-1]["label"] == "👍 Helpful"


async def test_web_a_number_typed_in_a_stale_tab_is_answered_with_the_current_screen(
    site: Any,  # noqa: F811
) -> None:
    s, _ = site
    cookie = await s.visit()
    async with s.open(cookie) as ws:
        a = Page(ws)
        await a.turn({"type": "text", "text": "/start"})
        await a.tap("English")
        await a.tap("I agree")
        menu = await a.turn({"type": "text", "text": "/menu"})
        old_screen = menu[-1]["screen"]
        settings = await a.tap("Settings")
        tips = next(o for m in menu for o in m["options"] if "Health tips" in o["label"])
        typed = {"type": "text", "text": str(tips["n"]), "screen": old_screen}
        stale = await a.turn(typed)
        assert "out of date" in Page.text(stale) and stale[0]["screen"] == settings[-1]["screen"]
        # Words typed in the older tab are words: answered as on any screen.
        words = await a.turn({"type": "text", "text": "opening hours", "screen": old_screen})
        assert "out of date" not in Page.text(words)
        # The same number typed on the current screen presses its option there.
        newest = next(m["screen"] for m in reversed(words) if m["options"])
        current = {"type": "text", "text": "1", "screen": newest}
        assert "out of date" not in Page.text(await a.turn(current))
