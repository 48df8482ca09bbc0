"""Tier 2: the Health tips menu through the real router, handlers and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time

import pytest

from bot.callbacks import cb
from bot.config import Settings
from bot.context import HOME
from bot.runtime import Runtime
from bot.services.tips import RHYME_ID
from handlers.resident.tips import render_tip
from tests.conftest import Clock
from tests.harness import ChatUser
from tests.test_tips_content import RHYME


async def _resident_id(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def _pending(rt: Runtime, rid: int) -> list:
    return [r for r in await rt.stores.outbox.for_resident(rid, "tip") if r.status == "pending"]


def _local(rt: Runtime, at: datetime) -> datetime:
    return at.astimezone(rt.settings.tz)


async def test_subscribe_change_and_unsubscribe(user: ChatUser, rt: Runtime) -> None:
    rid = await _resident_id(rt, user)
    await user.text("💡 Health tips")
    assert "Tips are off" in user.texts()
    await user.press("Turn on tips")
    assert "first tip comes" in user.texts()
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and sub.active and sub.slot == "morning" and sub.frequency == "daily"
    (row,) = await _pending(rt, rid)
    # 10:00 on Tuesday: this morning's slot has passed, so Wednesday 08:30.
    assert row.key == RHYME_ID
    assert _local(rt, row.due_at).isoformat() == "2026-11-25T08:30:00+08:00"

    # Time of day: evening -> the same tip moves to this evening, counted once.
    await user.press("⬅️ Back")
    await user.press("Time of day")
    await user.press("Evening")
    assert "next tip comes" in user.texts()
    (row,) = await _pending(rt, rid)
    assert row.key == RHYME_ID
    assert _local(rt, row.due_at).isoformat() == "2026-11-24T18:30:00+08:00"
    assert await rt.stores.tips.counts(rid) == {RHYME_ID: 1}

    # Frequency: once a week, on Friday.
    await user.text("💡 Health tips")
    await user.press("How often")
    await user.press("Once a week")
    await user.press("Friday")
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and (sub.frequency, sub.weekday, sub.slot) == ("weekly", 4, "evening")
    (row,) = await _pending(rt, rid)
    assert _local(rt, row.due_at).isoformat() == "2026-11-27T18:30:00+08:00"
    await user.text("💡 Health tips")
    assert "Every Friday" in user.texts()

    # Off: the pending tip is cancelled and given back to the history.
    await user.press("Turn off tips")
    assert "off" in user.texts()
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and not sub.active
    assert await _pending(rt, rid) == []
    assert await rt.stores.tips.counts(rid) == {RHYME_ID: 0}
    # Nightly planning leaves them alone now.
    assert (await rt.services.tips.plan_today()).rows == 0


async def test_topics_toggle_checklist(user: ChatUser, rt: Runtime) -> None:
    rid = await _resident_id(rt, user)
    await user.text("💡 Health tips")
    await user.press("Turn on tips")
    await user.press("Topics")
    assert "✅ 🧼 Hygiene" in user.labels()
    await user.press("✅ 🧼 Hygiene")
    assert "⬜ 🧼 Hygiene" in user.labels()
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and "hygiene" not in sub.topics and "nutrition" in sub.topics
    # The pending tip was the (hygiene) rhyme: it is replaced by one of the chosen topics.
    (row,) = await _pending(rt, rid)
    tip = rt.services.tips.catalog.get(row.key)
    assert tip is not None and tip.topic in sub.topics
    # Switch everything else off: the last topic stays on.
    for label in [x for x in user.labels() if x.startswith("✅ ") and "Done" not in x]:
        await user.press(label)
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and len(sub.topics) == 1
    assert user.last is not None and user.last.toast == "Keep at least one topic."
    await user.press("Done")
    assert "Topics: 1 of 9" in user.texts()


async def test_read_the_rhyme_in_chinese(make_user: Callable[..., ChatUser]) -> None:
    u = make_user(user_id="3003", language_code="zh-CN")
    await u.onboard(language="中文")
    await u.text("💡 健康小贴士")
    await u.press("健康口诀")
    assert RHYME in u.texts()
    assert "来源" in u.texts()


async def test_read_the_rhyme_in_english_shows_both(user: ChatUser) -> None:
    await user.text("💡 Health tips")
    await user.press("Read the rhyme")
    assert RHYME in user.texts() and "Wash your hands often" in user.texts()
    assert {"👍 Helpful", "🔕 Fewer tips", "🏠 Home"} <= set(user.labels())


async def test_another_tip_answers_at_once_without_repeats(user: ChatUser, rt: Runtime) -> None:
    rid = await _resident_id(rt, user)
    await user.text("💡 Health tips")
    seen = []
    for _ in range(5):
        await user.press("Another tip")
        assert "Health tip ·" in user.texts() and "👍 Helpful" in user.labels()
        seen.append(user.texts())
    assert len(set(seen)) == 5
    assert sum((await rt.stores.tips.counts(rid)).values()) == 5
    assert await rt.stores.outbox.for_resident(rid, "tip") == []  # not via the outbox


async def test_feedback_is_stored_and_fewer_offers_weekly(user: ChatUser, rt: Runtime) -> None:
    rid = await _resident_id(rt, user)
    await user.text("💡 Health tips")
    await user.press("Turn on tips")
    await user.press("⬅️ Back")
    await user.press("Read the rhyme")
    await user.press("👍 Helpful")
    assert "Thank you" in user.texts()
    assert await rt.stores.tips.feedback_of(rid) == {RHYME_ID: "helpful"}
    await user.press("Another tip")
    await user.press("🔕 Fewer tips")
    assert "fewer tips" in user.texts()
    assert {"🗓 Once a week instead", "🔕 Turn off tips"} <= set(user.labels())
    fb = await rt.stores.tips.feedback_of(rid)
    assert list(fb.values()).count("fewer") == 1 and fb[RHYME_ID] == "helpful"
    await user.press("Once a week instead")
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and sub.active and sub.frequency == "weekly" and sub.weekday == 1
    # The tip data is kept with the resident's data and leaves with it.
    exported = await rt.stores.residents.export(rid)
    assert {"tip_subscriptions", "tip_history", "tip_feedback"} <= set(exported)
    await rt.stores.residents.delete(rid)
    assert await rt.stores.tips.get(rid) is None
    assert await rt.stores.tips.feedback_of(rid) == {}


@pytest.mark.parametrize(
    "data",
    [
        "v1:tips:tt:astrology",
        "v1:tips:fb:no-such-tip:up",
        "v1:tips:fb:hygiene-rhyme:meh",
        "v1:tips:fb:hygiene-rhyme",
        "v1:tips:wd:9",
        "v1:tips:wd:x",
        "v1:tips:slot:midnight",
        "v1:tips:fq:hourly",
        "v1:tips:less:daily",
        "v1:tips:off:maybe",
        "v1:tips:on:again",
        "v1:tips:launch",
    ],
)
async def test_forged_and_stale_tip_buttons(user: ChatUser, rt: Runtime, data: str) -> None:
    rid = await _resident_id(rt, user)
    await user.press_data(data)
    assert "out of date" in user.texts()
    assert await rt.stores.tips.get(rid) is None
    assert await rt.stores.tips.feedback_of(rid) == {}


async def test_elder_mode_back_home_and_confirm_off(user: ChatUser, rt: Runtime) -> None:
    rid = await _resident_id(rt, user)
    residents = rt.stores.residents
    resident = await residents.get(rid)
    assert resident is not None
    await residents.update(resident, elder_mode=True)
    await user.text("💡 Health tips")
    assert "🏠 Home" in user.labels()
    assert all(len(row) <= 2 for r in user.all_replies() for row in r.buttons)
    await user.press("Turn on tips")
    assert "Turn on health tips? Every day, 🌅 Morning 08:30." in user.texts()
    assert await rt.stores.tips.get(rid) is None  # nothing saved before "Yes"
    await user.press("✅ Yes")
    assert "Tips are on" in user.texts()
    assert {"⬅️ Back", "🏠 Home"} <= set(user.labels())
    await user.press("⬅️ Back")
    await user.press("Turn off tips")
    assert "Turn off health tips?" in user.texts()
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and sub.active  # nothing saved before the confirmation
    await user.press("✅ Yes")
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and not sub.active


@pytest.fixture
async def sandbox(settings: Settings, clock) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, clock=clock, sandbox=True)
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_sandbox_first_tip_is_due_at_once(sandbox: Runtime) -> None:
    u = ChatUser(sandbox, user_id="4004", language_code="en")
    await u.onboard()
    await u.text("💡 Health tips")
    await u.press("Turn on tips")
    rid = await _resident_id(sandbox, u)
    (row,) = await _pending(sandbox, rid)
    assert row.key == RHYME_ID and row.due_at == sandbox.now()
    assert row.key == RHYME_ID and row.due_at == sandbox.now().replace(microsecond=0)
    # 10:00 in Shanghai: outside quiet hours, so the promise is the row's own time.
    assert "Your first tip comes Tue 24 Nov, 10:00." in u.texts()


async def test_promised_tip_time_is_the_rows_time_after_quiet_hours(settings: Settings) -> None:
    """At 03:10 Shanghai (quiet hours until 08:00) the reply names 08:00, not "a few seconds";
    a changed time and weekday move the row and the reply says the row's new time."""
    clock = Clock(datetime(2026, 12, 4, 19, 10, tzinfo=UTC))  # Sat 5 Dec 03:10 Shanghai
    runtime = Runtime(settings, clock=clock, sandbox=True)
    await runtime.start()
    try:
        u = ChatUser(runtime, user_id="4005", language_code="en")
        await u.onboard()
        await u.text("💡 Health tips")
        await u.press("Turn on tips")
        rid = await _resident_id(runtime, u)
        (row,) = await _pending(runtime, rid)
        assert _local(runtime, row.due_at).time() == time(3, 10)  # due now, held by quiet hours
        assert "Your first tip comes Sat 5 Dec, 08:00." in u.texts()
        assert "few seconds" not in u.texts()

        await u.press_data(cb("tips", "slot", "evening"))
        (row,) = await _pending(runtime, rid)
        assert _local(runtime, row.due_at) == datetime(
            2026, 12, 5, 18, 30, tzinfo=runtime.settings.tz
        )
        assert "Your next tip comes Sat 5 Dec, 18:30." in u.texts()

        await u.press_data(cb("tips", "fq", "weekly"))
        await u.press_data(cb("tips", "wd", 2))  # Wednesday
        (row,) = await _pending(runtime, rid)
        assert _local(runtime, row.due_at) == datetime(
            2026, 12, 9, 18, 30, tzinfo=runtime.settings.tz
        )
        assert "Your next tip comes Wed 9 Dec, 18:30." in u.texts()
    finally:
        await runtime.stop()


# -- elder mode: every change is asked first; scheduled tips lead home -------------------------
async def _elder(rt: Runtime, u: ChatUser) -> int:
    rid = await _resident_id(rt, u)
    residents = rt.stores.residents
    resident = await residents.get(rid)
    assert resident is not None
    await residents.update(resident, elder_mode=True)
    return rid


async def test_elder_mode_asks_before_saving_topics_time_and_frequency(
    user: ChatUser, rt: Runtime
) -> None:
    rid = await _elder(rt, user)
    store = rt.stores.tips
    await user.text("💡 Health tips")
    await user.press("Turn on tips")
    await user.press("✅ Yes")
    before = await store.get(rid)
    assert before is not None and before.active and "hygiene" in before.topics

    # A topic: the question names it; "No" and the question itself change nothing.
    await user.press("Topics")
    await user.press("✅ 🧼 Hygiene")
    assert "Save: no more tips about 🧼 Hygiene?" in user.texts()
    assert {"✅ Yes", "❌ No", "🏠 Home"} <= set(user.labels())
    assert await store.get(rid) == before
    yes = next(b.data for r in user.all_replies() for b in r.all_buttons() if b.label == "✅ Yes")
    await user.press("❌ No")
    assert "✅ 🧼 Hygiene" in user.labels() and await store.get(rid) == before
    assert yes is not None
    await user.press_data(yes)
    sub = await store.get(rid)
    assert sub is not None and "hygiene" not in sub.topics
    # The same "Yes" tapped again (an old message) does not switch it back on.
    await user.press_data(yes)
    assert user.last is not None and user.last.toast == "Already up to date."
    again = await store.get(rid)
    assert again is not None and "hygiene" not in again.topics

    # Time of day.
    await user.text("💡 Health tips")
    await user.press("Time of day")
    await user.press("Evening")
    assert "Save: health tips Every day, 🌇 Evening 18:30?" in user.texts()
    sub = await store.get(rid)
    assert sub is not None and sub.slot == "morning"
    await user.press("✅ Yes")
    assert "next tip comes" in user.texts()
    sub = await store.get(rid)
    assert sub is not None and sub.slot == "evening"

    # How often: once a week on Friday, asked first; "No" keeps every day.
    await user.text("💡 Health tips")
    await user.press("How often")
    await user.press("Once a week")
    await user.press("Friday")
    assert "Save: health tips Every Friday, 🌇 Evening 18:30?" in user.texts()
    await user.press("❌ No")
    sub = await store.get(rid)
    assert sub is not None and sub.frequency == "daily"
    await user.press("How often")
    await user.press("Once a week")
    await user.press("Friday")
    await user.press("✅ Yes")
    sub = await store.get(rid)
    assert sub is not None and (sub.frequency, sub.weekday) == ("weekly", 4)


async def test_normal_mode_still_saves_a_topic_at_once(user: ChatUser, rt: Runtime) -> None:
    rid = await _resident_id(rt, user)
    await user.text("💡 Health tips")
    await user.press("Turn on tips")
    await user.press("Topics")
    await user.press("✅ 🧼 Hygiene")
    assert "Save:" not in user.texts() and "⬜ 🧼 Hygiene" in user.labels()
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and "hygiene" not in sub.topics


async def test_elder_mode_in_chinese_asks_and_a_planned_tip_leads_home(
    make_user: Callable[..., ChatUser], rt: Runtime
) -> None:
    u = make_user(user_id="5005", language_code="zh-CN")
    await u.onboard(language="中文")
    rid = await _elder(rt, u)
    await u.text("💡 健康小贴士")
    await u.press("🔔 开启小贴士")
    assert "要开启健康小贴士吗？" in u.texts()
    assert {"✅ 是", "❌ 否", "🏠 首页"} <= set(u.labels())
    assert await rt.stores.tips.get(rid) is None
    await u.press("✅ 是")
    (row,) = await _pending(rt, rid)
    resident = await rt.stores.residents.get(rid)
    assert resident is not None
    (reply,) = await render_tip(rt, rt.catalogs.get("zh_Hans"), resident, row)
    assert all(len(r) <= 2 for r in reply.buttons)
    assert [b.label for b in reply.buttons[-1]] == ["🏠 首页"]
    assert reply.buttons[-1][0].data == HOME


async def test_mydata_does_not_call_a_waiting_tip_sent(user: ChatUser, rt: Runtime) -> None:
    """A tip chosen for a row still pending is not "sent to you": /mydata's counts come from
    the rows' stored statuses."""
    await user.text("💡 Health tips")
    await user.press("Turn on tips")
    rid = await _resident_id(rt, user)
    rows = await rt.stores.outbox.for_resident(rid)
    sent = sum(1 for r in rows if r.status == "sent")
    waiting = sum(1 for r in rows if r.status == "pending")
    assert waiting >= 1 and sent == 0
    await user.text("/mydata")
    text = user.texts()
    assert "health tips sent to you" not in text
    assert "health tips chosen for you (sent or still planned): 1 record" in text
    assert f"{sent} sent, {waiting} still waiting, {len(rows) - sent - waiting} not sent" in text
