"""Findings of the channel audit (sandbox, web chat, WeChat): each class checked where the
resident sees it, against the database."""

from __future__ import annotations

import io
from typing import Any

from bot.channels import numbered
from bot.channels.console import ConsoleChat
from bot.core import Button, Kind, Reply
from bot.runtime import Runtime
from tests.doctor_fixtures import load_district
from tests.test_numbered_input import Visitor
from tests.test_questions_channels import sign
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
    assert "my knee hurts" in v.text() and desk.team in v.text()
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
