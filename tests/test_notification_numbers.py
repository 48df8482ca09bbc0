"""Text channels (sandbox, web chat, WeChat) number buttons. A notification that arrives while
a resident is answering a screen must not change what a number on that screen means: its own
buttons are numbered after the screen's. And the sandbox delivers each user's notifications
only to that user, keeping the others pending until they play again."""

from __future__ import annotations

import io
from datetime import timedelta

from bot.channels import numbered
from bot.channels.console import ConsoleChat, ConsoleSender
from bot.channels.web import WebChat, WebSender
from bot.commands.chat import wake_kept
from bot.core import Button, Reply
from bot.domain.outbox import Planned
from bot.runtime import Runtime
from tests.conftest import Clock

TIPS_ON = ("/start", "English", "✅ I agree", "💡 Health tips", "🔔 Turn on tips")


async def plan_tip(rt: Runtime, channel: str, user_id: str, key: str) -> None:
    loaded = await rt.stores.residents.load(channel, user_id)
    assert loaded is not None
    tip = rt.services.tips.catalog.tips[1]
    now = rt.now()
    await rt.stores.outbox.plan(
        [Planned(loaded[0].id, "tip", tip.id, now, key, expires_at=now + timedelta(days=1))],
        now,
    )


async def status(rt: Runtime, key: str) -> tuple[str, str | None]:
    row = await rt.stores.outbox.by_dedupe(key)
    assert row is not None
    return row.status, row.last_error


# -- the mechanism ------------------------------------------------------------------------------
def test_a_notification_is_numbered_after_the_screen() -> None:
    screen = numbered.flatten(
        [Reply("tips", buttons=((Button("Topics", "a"), Button("Time", "b")),))]
    )
    current = numbered.offer(screen)
    assert current is not None
    tip = numbered.flatten(
        [Reply("a tip", buttons=((Button("Helpful", "h"), Button("Fewer", "f")),))], after=current
    )
    assert [(o.n, o.key, o.label) for o in tip[0].options] == [
        (3, "3", "Helpful"),
        (4, "4", "Fewer"),
    ]
    merged = numbered.merge(current, tip)
    assert merged is not None
    assert numbered.pick("2", merged).data == "b"  # type: ignore[union-attr]
    assert numbered.pick("4", merged).data == "f"  # type: ignore[union-attr]
    # On a screen that wants a typed value, the notification's keys are letters too.
    keypad = numbered.offer(
        numbered.flatten([Reply("bp", buttons=((Button("7", "k7"),),), wants_text=True)])
    )
    assert keypad is not None
    late = numbered.flatten([Reply("tip", buttons=((Button("Helpful", "h"),),))], after=keypad)
    assert late[0].options[0].key == "b"
    assert numbered.merge(keypad, numbered.flatten([Reply("no buttons")], after=keypad)) is None


# -- the sandbox ---------------------------------------------------------------------------------
async def test_console_tip_mid_flow_keeps_the_screens_numbers(rt: Runtime, clock: Clock) -> None:
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="1", out=out)
    rt.senders["console"] = ConsoleSender(chat)
    for line in TIPS_ON:
        await chat.feed(line)
    assert "[2] ⏰ Time of day" in out.getvalue()
    await plan_tip(rt, "console", "1", "tip:mid-flow")
    assert await rt.delivery.dispatcher.drain() == 1
    shown = out.getvalue()
    assert "🔔" in shown and "[6] 👍 Helpful" in shown and "[7] 🔕 Fewer tips" in shown
    assert await status(rt, "tip:mid-flow") == ("sent", None)
    await chat.feed("2")  # meant as "⏰ Time of day" on the screen being answered
    after = out.getvalue()[len(shown) :]
    assert "Morning" in after and "Evening" in after  # the time-of-day screen
    loaded = await rt.stores.residents.load("console", "1")
    assert loaded is not None
    assert await rt.stores.outbox.for_resident(loaded[0].id, "tip")  # not turned down
    # The notification's own button works by its number until the next screen.
    out2 = io.StringIO()
    chat.out = out2
    await plan_tip(rt, "console", "1", "tip:second")
    # One message per chat per second (on PostgreSQL the claim itself holds the second row).
    clock.set(clock() + timedelta(seconds=2))
    await rt.delivery.dispatcher.drain()
    helpful = next(line for line in out2.getvalue().splitlines() if "👍 Helpful" in line)
    number = helpful.split("[")[1].split("]")[0]
    await chat.feed(number)
    assert "Thank you" in out2.getvalue()


async def test_sandbox_keeps_another_users_notifications_until_they_play(rt: Runtime) -> None:
    one = ConsoleChat(rt, user_id="1", out=io.StringIO())
    for line in TIPS_ON[:3]:
        await one.feed(line)
    # Now the sandbox is played as user 2 (`doorstep chat --user 2`).
    two_out = io.StringIO()
    two = ConsoleChat(rt, user_id="2", out=two_out)
    rt.senders["console"] = ConsoleSender(two)
    for line in TIPS_ON[:3]:
        await two.feed(line)
    await plan_tip(rt, "console", "1", "tip:for-one")
    await plan_tip(rt, "console", "2", "tip:for-two")
    assert await rt.delivery.dispatcher.drain() == 2
    assert (await status(rt, "tip:for-two"))[0] == "sent"
    kept, why = await status(rt, "tip:for-one")
    assert kept == "pending" and why == "deferred: sandbox: user 1 is not playing"
    assert two_out.getvalue().count("🔔") == 1  # only user 2's own tip was shown to user 2
    assert await rt.delivery.dispatcher.drain() == 0  # not due again while user 2 plays
    # User 1 plays again: what was kept is due now and shown to them.
    one_out = io.StringIO()
    back = ConsoleChat(rt, user_id="1", out=one_out)
    rt.senders["console"] = ConsoleSender(back)
    assert await wake_kept(rt, "1") == 1
    assert await rt.delivery.dispatcher.drain() == 1
    assert await status(rt, "tip:for-one") == ("sent", None)
    assert "🔔" in one_out.getvalue() and "👍 Helpful" in one_out.getvalue()
    assert await wake_kept(rt, "nobody") == 0


# -- the web chat ---------------------------------------------------------------------------------
async def test_web_tip_mid_flow_keeps_the_screens_numbers(rt: Runtime) -> None:
    web = await WebChat.create(rt)
    rt.senders["web"] = WebSender(web)
    visitor = (await web.new_session()).visitor
    shown: list[dict[str, object]] = []
    for text in TIPS_ON:
        shown = await web.handle(visitor, {"type": "text", "text": text}, "en")
    screen = {o["label"]: o["n"] for m in shown for o in m.get("options", [])}  # type: ignore[attr-defined]
    assert screen["⏰ Time of day"] == 2
    await plan_tip(rt, "web", visitor, "tip:web")
    assert await rt.delivery.dispatcher.drain() == 1
    pushed: list[dict[str, object]] = []

    async def collect(message: dict[str, object]) -> None:
        pushed.append(message)

    assert await web.drain(visitor, collect) == 1
    tip_numbers = {o["label"]: o["n"] for m in pushed for o in m.get("options", [])}  # type: ignore[attr-defined]
    assert set(tip_numbers.values()).isdisjoint(screen.values())
    answer = await web.handle(visitor, {"type": "option", "n": 2}, "en")
    assert "When would you like your tip?" in " ".join(str(m.get("text")) for m in answer)
    loaded = await rt.stores.residents.load("web", visitor)
    assert loaded is not None
    offer = await rt.stores.channels.load_options(loaded[0].id)
    assert all(o["label"] != "👍 Helpful" for o in offer["options"])  # the next screen renumbers
