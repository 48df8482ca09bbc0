"""A ticket's notifications (the team's answer with Thanks / Ask again, the rating asked after
a ticket closes) on the text channels: their buttons are numbered after the screen on display
and work by their number on the console sandbox, the web chat and WeChat. Checked against the
database: the ticket closed, the rating stored."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from bot.channels.console import ConsoleChat, ConsoleSender
from bot.channels.web import WebChat, WebSender
from bot.runtime import Runtime
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, load_district
from tests.test_questions_channels import sign
from tests.test_questions_chat import rows
from tests.test_wechat import Setup, fake, onboard, wx  # noqa: F401  (fixtures)


def number_of(shown: str, label: str) -> str:
    """The key printed before `label` on a text channel ("[7] 🙏 Thanks" gives "7")."""
    m = re.search(r"(?:\[|Reply )(\w+)(?:\]|:)\s*" + re.escape(label) + "(?!⭐)", shown)
    assert m is not None, f"{label!r} not offered in {shown[-600:]!r}"
    return m.group(1)


async def answer_and_close(rt: Runtime, rid: int, text: str) -> int:
    """The team answers the resident's ticket (the dispatcher delivers it); returns its id."""
    wang = await rt.services.directory.doctor(WANG)
    assert wang is not None
    ticket = await rt.services.tickets.open_ticket(rid)
    assert ticket is not None
    assert await rt.services.tickets.answer(wang, ticket.id, text) is not None
    assert await rt.delivery.dispatcher.drain() == 1
    return ticket.id


async def rating_of(rt: Runtime, ticket_id: int) -> int | None:
    got = await rows(rt, "SELECT rating FROM ticket_ratings WHERE ticket_id = ?", ticket_id)
    return got[0]["rating"] if got else None


async def test_console_thanks_and_rating_by_number(rt: Runtime) -> None:
    await load_district(rt)
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="1", out=out)
    rt.senders["console"] = ConsoleSender(chat)
    for line in ("/start", "English", "✅ I agree"):
        await chat.feed(line)
    rid = await sign(rt, "console", "1")
    await chat.feed("💬 Questions")
    await chat.feed(number_of(out.getvalue(), "✍️ Ask my team"))
    await chat.feed("Is my new tablet safe with my old one?")
    await chat.feed("💬 Questions")  # a screen with many numbers is on display
    ticket = await answer_and_close(rt, rid, "Bring both to your visit.")
    shown = out.getvalue()
    assert "Bring both to your visit." in shown
    await chat.feed(number_of(shown, "🙏 Thanks"))
    assert (await rows(rt, "SELECT status FROM tickets"))[0]["status"] == "closed"
    after = out.getvalue()[len(shown) :]
    assert "How helpful" in after
    await chat.feed(number_of(after, "⭐⭐⭐⭐"))
    assert await rating_of(rt, ticket) == 4


async def test_console_rating_notification_after_the_ticket_closes(
    rt: Runtime, clock: Clock
) -> None:
    await load_district(rt)
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="2", out=out)
    rt.senders["console"] = ConsoleSender(chat)
    for line in ("/start", "English", "✅ I agree"):
        await chat.feed(line)
    rid = await sign(rt, "console", "2")
    await chat.feed("💬 Questions")
    await chat.feed(number_of(out.getvalue(), "✍️ Ask my team"))
    await chat.feed("Is my new tablet safe with my old one?")
    ticket = await answer_and_close(rt, rid, "Bring both to your visit.")
    await chat.feed("💬 Questions")  # the screen on display has options 1..13
    await rt.db.execute("UPDATE tickets SET answered_at = answered_at - 30 * 86400")
    assert await rt.services.tickets.close_stale() == 1
    shown = out.getvalue()
    # One message per chat per second (on PostgreSQL the claim itself holds the next row).
    clock.set(clock() + timedelta(seconds=2))
    assert await rt.delivery.dispatcher.drain() == 1
    pushed = out.getvalue()[len(shown) :]
    assert "How helpful" in pushed
    # The stars are chosen by the number printed before them, not by a star count that is
    # also a number of the screen's options.
    assert "Tap 1 to 5" not in pushed
    key = number_of(pushed, "⭐⭐")
    assert key != "2"
    await chat.feed(key)
    assert await rating_of(rt, ticket) == 2


async def test_web_thanks_and_rating_by_number(rt: Runtime) -> None:
    await load_district(rt)
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    visitor = (await web.new_session()).visitor
    for text in ("/start", "English", "✅ I agree"):
        await web.handle(visitor, {"type": "text", "text": text}, "en")
    rid = await sign(rt, "web", visitor)
    await web.handle(visitor, {"type": "text", "text": "💬 Questions"}, "en")
    await web.handle(visitor, {"type": "text", "text": "✍️ Ask my team"}, "en")
    await web.handle(visitor, {"type": "text", "text": "Is my tablet safe?"}, "en")
    await web.handle(visitor, {"type": "text", "text": "💬 Questions"}, "en")
    ticket = await answer_and_close(rt, rid, "Bring both.")
    pushed: list[dict[str, object]] = []

    async def collect(message: dict[str, object]) -> None:
        pushed.append(message)

    assert await web.drain(visitor, collect) == 1
    numbers = {o["label"]: o["n"] for m in pushed for o in m.get("options", [])}  # type: ignore[attr-defined]
    got = await web.handle(visitor, {"type": "text", "text": str(numbers["🙏 Thanks"])}, "en")
    assert "How helpful" in " ".join(str(m.get("text")) for m in got)
    stars = {o["label"]: o["n"] for m in got for o in m.get("options", [])}  # type: ignore[attr-defined]
    await web.handle(visitor, {"type": "option", "n": stars["⭐⭐⭐⭐⭐"]}, "en")
    assert await rating_of(rt, ticket) == 5
    assert (await rows(rt, "SELECT status FROM tickets"))[0]["status"] == "closed"


async def test_wechat_thanks_and_rating_by_number(rt: Runtime, wx: Setup) -> None:  # noqa: F811
    await load_district(rt)
    f = wx.follower("o-tk1")
    await onboard(f)
    rid = await sign(rt, "wechat", "o-tk1")
    await f.text("💬 Questions")
    await f.text("✍️ Ask my team")
    await f.text("Is my tablet safe?")
    await f.text("💬 Questions")
    ticket = await answer_and_close(rt, rid, "Bring both.")
    pushed = wx.api.texts("o-tk1")[-1]
    assert "Bring both." in pushed
    answer = await f.text(number_of(pushed, "🙏 Thanks"))
    content = answer.content or "\n".join(wx.api.texts("o-tk1")[-1:])
    assert "How helpful" in content
    await f.text(number_of(content, "⭐"))
    assert await rating_of(rt, ticket) == 1
