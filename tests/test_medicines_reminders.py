"""Medicine reminders end to end on a real SQLite file with a controlled clock: planned rows,
sent by the dispatcher within 60 s of their time (due_at and the recorded send time, from the
database), one message per moment, the gentle repeat, taken / later / skipped as stored, missed
doses counted, the weekly summary with its chart, the nightly planner, quiet hours and the cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.domain.medicines import DoseStatus, Meals, NewEntry
from bot.runtime import Runtime
from tests.conftest import Clock
from tests.doctor_fixtures import RecordingSender
from tests.harness import ChatUser

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"DOORSTEP_GLOBAL_RATE": "0", "DOORSTEP_PER_CHAT_INTERVAL": "0"},
        db_path=tmp_path / "meds.sqlite3",
    )


@pytest.fixture
async def sender(rt: Runtime) -> AsyncIterator[RecordingSender]:
    s = RecordingSender()
    rt.senders["test"] = s
    yield s


def at(clock: Clock, day: int, hh: int, mm: int = 0, ss: int = 0) -> int:
    moment = datetime(2026, 11, day, hh, mm, ss, tzinfo=SH)
    clock.set(moment.astimezone(ZoneInfo("UTC")))
    return int(moment.timestamp())


def ts(day: int, hh: int, mm: int = 0) -> int:
    return int(datetime(2026, 11, day, hh, mm, tzinfo=SH).timestamp())


async def resident(
    rt: Runtime, make_user: Callable[..., ChatUser], uid: str = "1001"
) -> tuple[ChatUser, int]:
    u = make_user(uid)
    await u.onboard()
    loaded = await rt.stores.residents.load("test", uid)
    assert loaded is not None
    return u, loaded[0].id


def entry(
    name: str, times: tuple[str, ...], ingredient: str = "", amount: str = "1", start: int = 24
) -> NewEntry:
    from datetime import date

    return NewEntry(
        catalog_id=None,
        name=name,
        name_en=name,
        ingredient=ingredient,
        strength="",
        amount=amount,
        unit="tablet",
        times=times,
        meals=Meals.AFTER,
        start_on=date(2026, 11, start),
        end_on=None,
    )


async def med_rows(rt: Runtime, rid: int) -> list:
    return await rt.stores.outbox.for_resident(rid, "med_dose")


async def test_one_message_per_moment_sent_within_a_minute_then_taken(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    u, rid = await resident(rt, make_user)
    at(clock, 24, 10)
    svc = rt.services.medicines
    await svc.add(rid, entry("Amlodipine", ("18:00",)))
    await svc.add(rid, entry("Metformin", ("08:00", "18:00")))
    rows = [r for r in await med_rows(rt, rid) if r.key == "due"]
    # Today 18:00 (one row for both medicines), tomorrow 08:00 and 18:00.
    assert sorted(int(r.due_at.timestamp()) for r in rows) == [ts(24, 18), ts(25, 8), ts(25, 18)]
    dispatcher = rt.delivery.dispatcher
    at(clock, 24, 17, 59, 59)
    assert await dispatcher.drain() == 0  # nothing before its time
    now = at(clock, 24, 18, 0, 20)
    assert await dispatcher.drain() == 1
    row = await rt.stores.outbox.by_dedupe(f"md:{rid}:{ts(24, 18)}")
    assert row is not None and row.status == "sent"
    sent_at = await rt.db.fetchval("SELECT updated_at FROM outbox WHERE id = ?", (row.id,))
    due = int(row.due_at.timestamp())
    assert due <= sent_at <= due + 60 and sent_at == now
    [msg] = sender.to("1001")
    assert "Time for your 18:00 medicines" in msg.text
    assert "Amlodipine" in msg.text and "Metformin" in msg.text
    assert [b.label for b in msg.all_buttons()] == ["✅ Taken", "⏰ 30 min later", "✖ Skipped"]
    # Taken: both doses stored as taken, the repeat cancelled.
    await u.press_data(msg.all_buttons()[0].data or "")
    assert "Recorded as taken" in u.texts()
    doses = await svc.slot(rid, ts(24, 18))
    assert {d.dose.status for d in doses} == {DoseStatus.TAKEN}
    # Answered: no gentle repeat is planned for that moment.
    at(clock, 24, 18, 45)
    assert await svc.plan_repeats() == 0
    assert await rt.stores.outbox.by_dedupe(f"mdr:{rid}:{ts(24, 18)}") is None
    # The same button again changes nothing and says what is stored.
    await u.press_data(msg.all_buttons()[2].data or "")
    assert "Already recorded" in u.texts() and "taken" in u.texts()
    assert {d.dose.status for d in await svc.slot(rid, ts(24, 18))} == {DoseStatus.TAKEN}


async def test_quiet_hours_do_not_hold_a_bedtime_reminder(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    _, rid = await resident(rt, make_user)
    at(clock, 24, 10)
    await rt.services.medicines.add(rid, entry("Simvastatin", ("21:30",)))
    at(clock, 24, 21, 30, 5)  # inside the default quiet hours (21:00-08:00)
    assert await rt.delivery.dispatcher.drain() == 1
    row = await rt.stores.outbox.by_dedupe(f"md:{rid}:{ts(24, 21, 30)}")
    assert row is not None and row.status == "sent" and row.urgent


async def test_gentle_repeat_then_missed_and_no_double_dose_wording(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    u, rid = await resident(rt, make_user)
    at(clock, 24, 7)
    svc = rt.services.medicines
    await svc.add(rid, entry("Aspirin", ("08:00",)))
    dispatcher = rt.delivery.dispatcher
    at(clock, 24, 8)
    assert await dispatcher.drain() == 1
    at(clock, 24, 8, 43)
    assert await svc.plan_repeats() == 0  # not yet
    at(clock, 24, 8, 44, 30)  # the job runs every minute: the repeat is planned ahead
    assert await rt.delivery.jobs.run_now("meds.repeat") is None
    row = await rt.stores.outbox.by_dedupe(f"mdr:{rid}:{ts(24, 8)}")
    assert row is not None and int(row.due_at.timestamp()) == ts(24, 8, 45) and row.urgent
    assert await svc.plan_repeats() == 0  # once
    assert await dispatcher.drain() == 0
    at(clock, 24, 8, 45)
    assert await dispatcher.drain() == 1
    first, repeat = sender.to("1001")
    assert "gentle reminder" in repeat.text and "not sure, do not take them again" in repeat.text
    assert "Never take two doses" in repeat.text
    for text in (first.text, repeat.text):
        assert "double" not in text.lower() and "take it now" not in text.lower()
    # Unanswered for 3 hours: missed, counted for the week and for the doctor.
    at(clock, 24, 11, 1)
    [today] = [d for d in await svc.days(rid, svc.today()) if d.day == svc.today()][:1]
    assert (today.taken, today.missed) == (0, 1)
    assert (await svc.not_taken([rid]))[rid] == 1
    # Taking it late is still recorded (the resident took it).
    await u.press_data(first.all_buttons()[0].data or "")
    assert (await svc.not_taken([rid])).get(rid, 0) == 0


async def test_later_and_skipped(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    u, rid = await resident(rt, make_user)
    at(clock, 24, 7)
    svc = rt.services.medicines
    await svc.add(rid, entry("Metformin", ("08:00",)))
    dispatcher = rt.delivery.dispatcher
    at(clock, 24, 8, 0, 10)
    await dispatcher.drain()
    [msg] = sender.to("1001")
    later = msg.all_buttons()[1].data or ""
    await u.press_data(later)
    assert "remind you again at 08:30" in u.texts()
    await u.press_data(later)  # a double tap plans one "later", not two
    outbox = rt.stores.outbox
    laters = [r for r in await med_rows(rt, rid) if r.key == "later"]
    assert len(laters) == 1 and int(laters[0].due_at.timestamp()) == ts(24, 8, 30) + 10
    at(clock, 24, 8, 45)
    assert await rt.services.medicines.plan_repeats() == 0  # the "later" replaces it
    assert await outbox.by_dedupe(f"mdr:{rid}:{ts(24, 8)}") is None
    at(clock, 24, 8, 30, 30)
    assert await dispatcher.drain() == 1
    second = sender.to("1001")[-1]
    assert "have you taken your 08:00 medicines" in second.text
    await u.press_data(second.all_buttons()[2].data or "")
    assert "Recorded as skipped" in u.texts() and "Never take two doses" in u.texts()
    [d] = await svc.slot(rid, ts(24, 8))
    assert d.dose.status is DoseStatus.SKIPPED
    assert (await svc.not_taken([rid]))[rid] == 1


async def test_a_reminder_for_someone_else_is_refused(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    _, rid = await resident(rt, make_user)
    other, _ = await resident(rt, make_user, "1002")
    at(clock, 24, 7)
    await rt.services.medicines.add(rid, entry("Metformin", ("08:00",)))
    row = (await med_rows(rt, rid))[0]
    await other.press_data(f"v1:dose:tk:{row.id}")
    assert "out of date" in other.texts()
    [d] = await rt.services.medicines.slot(rid, ts(24, 8))
    assert d.dose.status is DoseStatus.DUE


async def test_nightly_planner_and_start_up_plan_once(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    _, rid = await resident(rt, make_user)
    at(clock, 24, 10)
    svc = rt.services.medicines
    await svc.add(rid, entry("Metformin", ("08:00", "20:00")))
    before = {r.dedupe_key for r in await med_rows(rt, rid)}
    at(clock, 24, 23, 30)
    await rt.delivery.jobs.run_now("meds.plan")  # plans tomorrow: already there, adds nothing
    assert {r.dedupe_key for r in await med_rows(rt, rid)} == before
    at(clock, 25, 23, 30)
    await rt.delivery.jobs.run_now("meds.plan")
    keys = {r.dedupe_key for r in await med_rows(rt, rid)}
    assert {f"md:{rid}:{ts(26, 8)}", f"md:{rid}:{ts(26, 20)}"} <= keys
    firsts = [r for r in await med_rows(rt, rid) if r.key == "due"]
    assert len(firsts) == 5  # today 20:00, and two a day on the 25th and 26th
    assert await svc.plan_day(svc.today() + timedelta(days=1)) == 0


async def test_weekly_summary_with_chart(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    _, rid = await resident(rt, make_user)
    at(clock, 23, 7)  # Monday 23 Nov
    svc = rt.services.medicines
    await svc.add(rid, entry("Metformin", ("08:00",), start=23))
    for day in range(23, 30):  # the whole week, planned day by day
        at(clock, day, 0, 1)
        await svc.plan_day(svc.today())
    for day in (23, 24, 25, 26):
        at(clock, day, 8, 5)
        await svc.answer(rid, ts(day, 8), taken=True)
    at(clock, 27, 8, 5)
    await svc.answer(rid, ts(27, 8), taken=False)
    at(clock, 30, 9)  # the next Monday
    await rt.delivery.jobs.run_now("meds.weekly")
    row = await rt.stores.outbox.by_dedupe(f"mdw:{rid}:2026-11-23")
    assert row is not None and row.params == {"from": "2026-11-23"}
    await rt.delivery.jobs.run_now("meds.weekly")  # twice: one row
    assert len(await rt.stores.outbox.for_resident(rid, "med_weekly")) == 1
    await rt.delivery.dispatcher.drain()
    photo, text = sender.to("1001")[-2:]
    assert photo.photo is not None and photo.photo.content.startswith(b"\x89PNG")
    assert "4 doses taken" in text.text and "3 doses missed or skipped" in text.text
    days = await svc.days(rid, datetime(2026, 11, 23).date())
    assert [(d.taken, d.not_taken) for d in days] == [(1, 0)] * 4 + [(0, 1)] * 3


async def test_deployment_cap_refuses_late_times(
    tmp_path: Path, clock: Clock, make_user: Callable[..., ChatUser]
) -> None:
    settings = Settings.from_env(
        {"DOORSTEP_MEDS_HOURS": "06:00-21:00"}, db_path=tmp_path / "cap.sqlite3"
    )
    runtime = Runtime(settings, clock=clock)
    await runtime.start()
    try:
        u = ChatUser(runtime, user_id="2001")
        await u.onboard()
        await u.press("My medicines")
        await u.press("Metformin")
        await u.press("1 tablet")
        await u.press("🌙 Bedtime")  # 21:00 is outside 06:00-21:00
        assert "between 06:00 and 21:00 only" in u.texts()
        loaded = await runtime.stores.residents.load("test", "2001")
        assert loaded is not None
        assert await runtime.services.medicines.entries(loaded[0].id) == []
    finally:
        await runtime.stop()


async def test_later_is_refused_once_the_dose_is_missed(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    u, rid = await resident(rt, make_user)
    at(clock, 24, 7)
    await rt.services.medicines.add(rid, entry("Metformin", ("08:00",)))
    at(clock, 24, 8)
    await rt.delivery.dispatcher.drain()
    [msg] = sender.to("1001")
    at(clock, 24, 11, 30)  # missed now
    await u.press_data(msg.all_buttons()[1].data or "")
    assert "will not remind you again" in u.texts()
    assert [b.label for b in u.all_replies()[-1].all_buttons()][:2] == ["✅ Taken", "✖ Skipped"]
    assert not [r for r in await med_rows(rt, rid) if r.key == "later"]


async def test_day_planner_reads_pages_and_skips_medicines_not_running_that_day(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.services.medicines as meds

    monkeypatch.setattr(meds, "PLAN_PAGE", 2)  # several pages
    svc = rt.services.medicines
    at(clock, 24, 22)
    ids = []
    for i in range(5):
        r = await rt.stores.residents.create("test", f"p{i}")
        ids.append(r.id)
        for name, times in (("A", ("08:00",)), ("B", ("08:00", "12:00")), ("C", ("21:00",))):
            await svc.store.add(r.id, entry(name, times), int(clock().timestamp()) - 60)
    later = replace(entry("D", ("10:00",)), start_on=date(2026, 11, 26))
    ended = replace(entry("E", ("11:00",)), end_on=date(2026, 11, 24))
    for e in (later, ended):
        await svc.store.add(ids[0], e, int(clock().timestamp()) - 60)
    assert await svc.plan_day(svc.today() + timedelta(days=1)) == 5 * 3  # 08:00, 12:00, 21:00
    for rid in ids:
        keys = {r.dedupe_key for r in await med_rows(rt, rid)}
        assert keys == {f"md:{rid}:{ts(25, h)}" for h in (8, 12, 21)}


async def test_start_up_plans_in_the_background_and_the_jobs_are_scheduled(
    rt: Runtime, clock: Clock, sender: RecordingSender
) -> None:
    import asyncio

    at(clock, 24, 7)
    r = await rt.stores.residents.create("test", "bg1")
    await rt.services.medicines.store.add(r.id, entry("A", ("08:00",)), int(clock().timestamp()))
    assert await med_rows(rt, r.id) == []  # added behind the planner's back
    await rt.start_background()
    async with asyncio.timeout(20):  # a condition on the database, not a timing assertion
        while len(await med_rows(rt, r.id)) < 2:  # noqa: ASYNC110 - today's and tomorrow's
            await asyncio.sleep(0.02)
    keys = {x.dedupe_key for x in await med_rows(rt, r.id)}
    assert keys == {f"md:{r.id}:{ts(24, 8)}", f"md:{r.id}:{ts(25, 8)}"}
    scheduler = rt.delivery.jobs.scheduler
    assert scheduler is not None
    for job_id in ("meds.plan", "meds.repeat", "meds.weekly"):
        assert scheduler.get_job(job_id) is not None, job_id


async def test_planner_skips_a_resident_deleted_between_its_read_and_write(
    rt: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """/delete while the nightly planner runs: the page read still holds the resident, the
    write must skip them and plan everyone else, with no error (finding: the catch-up job died
    with a FOREIGN KEY error and nobody got reminders)."""
    import logging

    svc = rt.services.medicines
    at(clock, 24, 22)
    ids = []
    for i in range(3):
        r = await rt.stores.residents.create("test", f"d{i}")
        ids.append(r.id)
        await svc.store.add(r.id, entry("A", ("08:00",)), int(clock().timestamp()) - 60)
    read = svc.store.plan_rows

    async def read_then_delete(*args: object) -> object:
        page = await read(*args)  # type: ignore[arg-type]
        if page:
            await rt.stores.residents.delete(ids[1])  # /delete confirmed meanwhile
        return page

    monkeypatch.setattr(svc.store, "plan_rows", read_then_delete)
    with caplog.at_level(logging.WARNING):
        assert await svc.plan_day(svc.today() + timedelta(days=1)) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    for rid in (ids[0], ids[2]):
        assert {r.dedupe_key for r in await med_rows(rt, rid)} == {f"md:{rid}:{ts(25, 8)}"}
    assert await med_rows(rt, ids[1]) == []
