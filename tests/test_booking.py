"""Booking rules against the real SQLite file: slots from clinic hours, capacity under
concurrency, the per-resident limits, move / cancel, reminders as outbox rows, closing a day,
and the calendar file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.config import Settings
from bot.domain.booking import Appointment, Problem, Slot
from bot.runtime import Runtime
from bot.services.booking import (
    CLOSED_KIND,
    REMINDER_KIND,
    ReminderPolicy,
    closed_key,
    slot_times,
)
from bot.services.directory import DirectoryService
from bot.services.hours import parse_hours
from bot.services.ics import CalendarEvent, calendar

SH = ZoneInfo("Asia/Shanghai")
HOURS = "Mon-Fri 08:00-11:30,13:30-16:30; Sat 08:00-11:30"
STATIONS = (
    "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services\n"
    "c1,centre,朱泾社区卫生服务中心,Zhujing Community Health Service Centre,金山区,朱泾,"
    '金山区朱泾镇人民路107号,"107 Renmin Road, Zhujing",30.895,121.162,021-0000-0100,'
    "Mon-Fri 08:00-16:30,vaccination\n"
)
DOCTORS = (
    "id,name_zh,name_en,team,centre_id,phone,clinic_hours,communities,languages\n"
    f'd1,王丽华,Dr Wang Lihua,朱泾一团队,c1,139-0000-0110,"{HOURS}",东林居委,普通话\n'
    'd2,陈建国,Dr Chen Jianguo,朱泾二团队,c1,139-0000-0120,"Mon-Fri 08:00-11:30",西林居委,普通话\n'
)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """A Shanghai time in November 2026 (the 24th is a Tuesday)."""
    return datetime(2026, 11, day, hh, mm, tzinfo=SH)


async def load_district(rt: Runtime) -> DirectoryService:
    service = rt.services.directory
    await service.import_csv("stations", STATIONS.encode())
    report = await service.import_csv("doctors", DOCTORS.encode())
    assert not report.rejected
    return service


async def resident(rt: Runtime, user_id: str, community: str = "东林居委") -> int:
    """A consented resident living in a community served by d1 (or d2 for 西林居委)."""
    store = rt.stores.residents
    r = await store.create("test", user_id)
    await store.update(r, consent_at=datetime(2026, 11, 1, tzinfo=UTC), locale="en")
    await rt.services.directory.set_home(r.id, "朱泾", community)
    return r.id


async def slot_at(rt: Runtime, doctor_id: str, when: datetime) -> Slot:
    svc = rt.services.booking
    doctor = await svc.directory.doctor(doctor_id)
    assert doctor is not None
    await svc.ensure_slots(doctor, rt.now())
    slots = await svc.store.slots_between(
        doctor_id, int(when.timestamp()), int(when.timestamp()) + 1
    )
    assert slots, f"no slot of {doctor_id} at {when}"
    return slots[0]


@pytest.fixture
async def district(rt: Runtime) -> DirectoryService:
    return await load_district(rt)


# -- slots from clinic hours ------------------------------------------------------------------


def _local_times(pairs: list[tuple[int, int]]) -> list[tuple[str, str]]:
    return [
        (
            datetime.fromtimestamp(s, SH).strftime("%a %H:%M"),
            datetime.fromtimestamp(e, SH).strftime("%H:%M"),
        )
        for s, e in pairs
    ]


def test_slots_follow_clinic_hours_with_lunch_break_and_saturday_half_day() -> None:
    times = _local_times(slot_times(parse_hours(HOURS), date(2026, 11, 27), 3, 15, SH))
    friday = [t for t in times if t[0].startswith("Fri")]
    saturday = [t for t in times if t[0].startswith("Sat")]
    sunday = [t for t in times if t[0].startswith("Sun")]
    assert len(friday) == 14 + 12  # 08:00-11:30 and 13:30-16:30
    assert ("Fri 11:15", "11:30") in friday
    assert not any("11:30" <= t[0][4:] < "13:30" for t in friday)  # the lunch break
    assert friday[-1] == ("Fri 16:15", "16:30")
    assert len(saturday) == 14 and saturday[-1] == ("Sat 11:15", "11:30")
    assert sunday == []


def test_a_slot_never_runs_past_the_end_of_a_session() -> None:
    times = _local_times(slot_times(parse_hours("Tue 08:00-09:10"), date(2026, 11, 24), 1, 20, SH))
    assert times == [("Tue 08:00", "08:20"), ("Tue 08:20", "08:40"), ("Tue 08:40", "09:00")]


async def test_free_days_are_the_next_seven_with_room_and_skip_the_past(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    doctor = await district.doctor("d1")
    assert doctor is not None
    days = await svc.free_days(doctor, rt.now())  # Tuesday 10:00
    assert [d.isoformat() for d, _ in days] == [
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
        "2026-11-27",
        "2026-11-28",
        "2026-11-30",
        "2026-12-01",
    ]
    # Today: 10:00 has begun, so 10:15..11:15 (5) and the afternoon (12) are left.
    assert days[0][1] == 5 + 12
    assert days[4][1] == 14  # Saturday morning only
    today = await svc.free_times("d1", date(2026, 11, 24), rt.now())
    assert today[0].start_at.astimezone(SH) == at(24, 10, 15)


async def test_changed_clinic_hours_drop_unbooked_slots_but_keep_booked_ones(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    rid = await resident(rt, "u1")
    afternoon = await slot_at(rt, "d1", at(25, 14, 0))
    assert (await svc.book(rid, afternoon.id, "d1", "general", rt.now())).appointment
    doctor = await district.doctor("d1")
    assert doctor is not None
    await svc.ensure_slots(replace(doctor, clinic_hours="Mon-Fri 08:00-11:30"), rt.now())
    wednesday = await svc.store.slots_between(
        "d1", int(at(25, 0).timestamp()), int(at(26, 0).timestamp())
    )
    assert [s.start_at.astimezone(SH).strftime("%H:%M") for s in wednesday][-2:] == [
        "11:15",
        "14:00",
    ]


# -- no double booking, ever ------------------------------------------------------------------


async def test_many_residents_tapping_the_last_slot_at_once_get_exactly_one_booking(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    ids = [await resident(rt, f"u{i}") for i in range(60)]
    slot = await slot_at(rt, "d1", at(26, 9, 0))
    results = await asyncio.gather(
        *(svc.book(rid, slot.id, "d1", "chronic", rt.now()) for rid in ids)
    )
    booked = [r for r in results if r.appointment is not None]
    assert len(booked) == 1
    assert {r.problem for r in results if r.appointment is None} == {Problem.TAKEN}
    assert (await svc.slot(slot.id)).taken == 1  # type: ignore[union-attr]
    assert await svc.store.overbooked() == []


async def test_the_write_transaction_alone_decides_when_all_reads_saw_a_free_place(
    rt: Runtime, district: DirectoryService
) -> None:
    """Straight at the store (no per-slot queue of the service): every task's first read
    sees the slot free, so only the count inside BEGIN IMMEDIATE can refuse."""
    svc = rt.services.booking
    ids = [await resident(rt, f"s{i}") for i in range(40)]
    slot = await slot_at(rt, "d1", at(26, 9, 15))
    rules = replace(svc.rules, max_future=3)
    results = await asyncio.gather(
        *(
            svc.store.book(
                rid,
                slot.id,
                "d1",
                "chronic",
                rt.now(),
                rules,
                svc.reminders,
            )
            for rid in ids
        )
    )
    assert sum(r.appointment is not None for r in results) == 1
    assert await svc.store.overbooked() == []


async def test_capacity_holds_across_two_processes_writing_the_same_file(
    rt: Runtime, district: DirectoryService, settings: Settings, clock
) -> None:
    """Two runtimes (two connections, like the bot and a second worker) race for a slot
    with capacity 3: BEGIN IMMEDIATE makes the count-then-insert atomic across both."""
    wide = replace(settings, slot_capacity=3)
    rt_a = Runtime(wide, clock=clock)
    rt_b = Runtime(wide, clock=clock)
    await rt_a.start()
    await rt_b.start()
    try:
        ids = [await resident(rt, f"p{i}") for i in range(40)]
        svc_a, svc_b = rt_a.services.booking, rt_b.services.booking
        doctor = await district.doctor("d2")
        assert doctor is not None
        await svc_a.ensure_slots(doctor, rt.now())
        slot = await slot_at(rt_a, "d2", at(27, 8, 30))
        assert slot.capacity == 3
        results = await asyncio.gather(
            *(
                (svc_a if i % 2 else svc_b).book(rid, slot.id, "d2", "general", rt.now())
                for i, rid in enumerate(ids)
            )
        )
    finally:
        await rt_a.stop()
        await rt_b.stop()
    assert sum(r.appointment is not None for r in results) == 3
    assert await rt.stores.booking.overbooked() == []
    count = await rt.db.fetchval(
        "SELECT COUNT(*) FROM appointments WHERE slot_id = ? AND status = 'booked'", (slot.id,)
    )
    assert count == 3


async def test_one_resident_cannot_hold_the_same_slot_twice(
    rt: Runtime, district: DirectoryService, settings: Settings
) -> None:
    svc = rt.services.booking
    rid = await resident(rt, "u1")
    slot = await slot_at(rt, "d1", at(25, 9, 0))
    first, second = await asyncio.gather(
        svc.book(rid, slot.id, "d1", "chronic", rt.now()),
        svc.book(rid, slot.id, "d1", "chronic", rt.now()),
    )
    assert [first.problem, second.problem].count(Problem.DUPLICATE) == 1
    # The database itself refuses a second active row, whatever the code above does.
    with pytest.raises(Exception, match=r"UNIQUE|unique constraint"):
        await rt.db.execute(
            "INSERT INTO appointments (resident_id, slot_id, doctor_id, start_at, end_at, "
            "reason, created_at, updated_at) VALUES (?, ?, 'd1', ?, ?, 'other', 0, 0)",
            (rid, slot.id, int(slot.start_at.timestamp()), int(slot.end_at.timestamp())),
        )


async def test_at_most_max_bookings_upcoming_visits(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    assert rt.settings.max_bookings == 3
    rid = await resident(rt, "u1")
    slots = [await slot_at(rt, "d1", at(25, 8, 15 * i)) for i in range(4)]
    made = [await svc.book(rid, s.id, "d1", "general", rt.now()) for s in slots]
    assert [m.problem for m in made] == [None, None, None, Problem.LIMIT]
    assert (await svc.slot(slots[3].id)).taken == 0  # type: ignore[union-attr]
    first = made[0].appointment
    assert first is not None
    assert (await svc.cancel(rid, first.id, rt.now())).problem is None
    assert (await svc.book(rid, slots[3].id, "d1", "general", rt.now())).appointment


async def test_past_visits_do_not_count_against_the_limit(
    rt: Runtime, district: DirectoryService, clock
) -> None:
    svc = rt.services.booking
    rid = await resident(rt, "u1")
    for minute in (15, 30, 45):
        s = await slot_at(rt, "d1", at(24, 10, minute))
        assert (await svc.book(rid, s.id, "d1", "general", rt.now())).appointment
    clock.set(at(24, 11, 0).astimezone(UTC))
    later = await slot_at(rt, "d1", at(25, 9, 0))
    assert (await svc.book(rid, later.id, "d1", "general", rt.now())).appointment


# -- stale requests change nothing ------------------------------------------------------------


async def test_stale_requests_are_refused_and_change_nothing(
    rt: Runtime, district: DirectoryService, clock
) -> None:
    svc = rt.services.booking
    me, other = await resident(rt, "u1"), await resident(rt, "u2")
    soon = await slot_at(rt, "d1", at(24, 10, 30))
    taken = await slot_at(rt, "d1", at(24, 10, 45))
    theirs = (await svc.book(other, taken.id, "d1", "general", rt.now())).appointment
    assert theirs is not None

    assert (await svc.book(me, taken.id, "d1", "general", rt.now())).problem is Problem.TAKEN
    assert (await svc.book(me, soon.id, "d2", "general", rt.now())).problem is Problem.NO_SLOT
    assert (await svc.book(me, 999_999, "d1", "general", rt.now())).problem is Problem.NO_SLOT
    # Someone else's booking looks like a missing one: cannot be cancelled, moved, confirmed.
    assert (await svc.cancel(me, theirs.id, rt.now())).problem is Problem.GONE
    assert (await svc.move(me, theirs.id, soon.id, rt.now())).problem is Problem.GONE
    assert await svc.confirm(me, theirs.id, rt.now()) is Problem.GONE
    assert (await svc.store.appointment(theirs.id)).status == "booked"  # type: ignore[union-attr]

    mine = (await svc.book(me, soon.id, "d1", "general", rt.now())).appointment
    assert mine is not None
    assert (await svc.cancel(me, mine.id, rt.now())).problem is None
    assert (await svc.cancel(me, mine.id, rt.now())).problem is Problem.GONE
    assert (await svc.move(me, mine.id, soon.id, rt.now())).problem is Problem.GONE

    clock.set(at(24, 10, 31).astimezone(UTC))
    assert (await svc.book(me, soon.id, "d1", "general", rt.now())).problem is Problem.PAST
    assert (await svc.cancel(other, theirs.id, at(24, 10, 45))).problem is Problem.OVER
    assert await rt.db.fetchval("SELECT COUNT(*) FROM appointments WHERE status = 'booked'") == 1


# -- move and cancel free the slot and the reminders ------------------------------------------


async def _outbox(rt: Runtime, rid: int) -> dict[str, str]:
    return {r.dedupe_key: r.status for r in await rt.stores.outbox.for_resident(rid)}


async def test_move_frees_the_old_slot_and_swaps_the_reminders(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    rid, other = await resident(rt, "u1"), await resident(rt, "u2")
    old_slot = await slot_at(rt, "d1", at(26, 9, 0))
    new_slot = await slot_at(rt, "d1", at(27, 14, 0))
    appt = (await svc.book(rid, old_slot.id, "d1", "chronic", rt.now())).appointment
    assert appt is not None
    assert await _outbox(rt, rid) == {f"bk:{appt.id}:eve": "pending", f"bk:{appt.id}:2h": "pending"}

    moved = await svc.move(rid, appt.id, new_slot.id, rt.now())
    new = moved.appointment
    assert new is not None and new.reason == "chronic" and new.slot_id == new_slot.id
    old = await svc.store.appointment(appt.id)
    assert old is not None and old.status == "moved" and old.moved_to == new.id
    assert await _outbox(rt, rid) == {
        f"bk:{appt.id}:eve": "cancelled",
        f"bk:{appt.id}:2h": "cancelled",
        f"bk:{new.id}:eve": "pending",
        f"bk:{new.id}:2h": "pending",
    }
    # The old place is free at once: somebody else can take it.
    assert (await svc.book(other, old_slot.id, "d1", "general", rt.now())).appointment
    assert (await svc.move(rid, new.id, new_slot.id, rt.now())).problem is Problem.SAME


async def test_move_to_a_full_slot_keeps_the_old_booking(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    rid, other = await resident(rt, "u1"), await resident(rt, "u2")
    mine = await slot_at(rt, "d1", at(26, 9, 0))
    full = await slot_at(rt, "d1", at(26, 9, 15))
    appt = (await svc.book(rid, mine.id, "d1", "chronic", rt.now())).appointment
    assert appt is not None
    assert (await svc.book(other, full.id, "d1", "general", rt.now())).appointment
    assert (await svc.move(rid, appt.id, full.id, rt.now())).problem is Problem.TAKEN
    assert (await svc.store.appointment(appt.id)).status == "booked"  # type: ignore[union-attr]
    assert set((await _outbox(rt, rid)).values()) == {"pending"}


async def test_cancel_frees_the_slot_and_cancels_the_reminders(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    rid = await resident(rt, "u1")
    slot = await slot_at(rt, "d1", at(26, 9, 0))
    appt = (await svc.book(rid, slot.id, "d1", "chronic", rt.now())).appointment
    assert appt is not None and (await svc.slot(slot.id)).free == 0  # type: ignore[union-attr]
    await svc.cancel(rid, appt.id, rt.now())
    assert (await svc.slot(slot.id)).free == 1  # type: ignore[union-attr]
    assert set((await _outbox(rt, rid)).values()) == {"cancelled"}


# -- reminders as outbox rows -----------------------------------------------------------------


def _appt(start: datetime) -> Appointment:
    end, made = start + timedelta(minutes=15), datetime(2026, 11, 1, tzinfo=UTC)
    return Appointment(7, 1, 1, "d1", start, end, "chronic", "booked", "", None, None, made, made)


@pytest.mark.parametrize(
    ("visit", "now", "expected"),
    [
        # An early visit: the 2-hour reminder falls in quiet hours and may bypass them.
        (at(25, 9, 0), at(24, 10), {"eve": (at(24, 18), False), "2h": (at(25, 7), True)}),
        (at(25, 9, 45), at(24, 10), {"eve": (at(24, 18), False), "2h": (at(25, 7, 45), True)}),
        # From 10:00 on the reminder is at 08:00 or later: no need to bypass quiet hours.
        (at(25, 10, 0), at(24, 10), {"eve": (at(24, 18), False), "2h": (at(25, 8), False)}),
        # Booked after 18:00 the day before: only the 2-hour reminder is still ahead.
        (at(25, 14, 0), at(24, 19), {"2h": (at(25, 12), False)}),
        # Booked for later today, less than 2 hours ahead: no reminder at all.
        (at(24, 11, 0), at(24, 10), {}),
    ],
)
def test_reminder_times_in_shanghai_and_the_urgent_rule(
    visit: datetime, now: datetime, expected: dict[str, tuple[datetime, bool]]
) -> None:
    rows = ReminderPolicy(SH).plan(_appt(visit), now)
    assert {r.key: (r.due_at, r.urgent) for r in rows} == expected
    for r in rows:
        assert r.kind == REMINDER_KIND
        assert r.expires_at == visit
        assert r.dedupe_key == f"bk:7:{r.key}"
        assert r.params == {"appointment_id": 7}


async def test_booking_writes_its_reminders_to_the_outbox(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    rid = await resident(rt, "u1")
    slot = await slot_at(rt, "d1", at(25, 8, 30))
    appt = (await svc.book(rid, slot.id, "d1", "chronic", rt.now())).appointment
    assert appt is not None
    rows = {r.key: r for r in await rt.stores.outbox.for_resident(rid, REMINDER_KIND)}
    assert rows["eve"].due_at == at(24, 18)
    assert rows["2h"].due_at == at(25, 6, 30)
    assert rows["2h"].urgent and not rows["eve"].urgent
    assert rows["eve"].expires_at == rows["2h"].expires_at == at(25, 8, 30)


# -- closing a day ----------------------------------------------------------------------------


async def test_closing_a_day_cancels_its_bookings_and_offers_another_time(
    rt: Runtime, district: DirectoryService
) -> None:
    svc = rt.services.booking
    rid, other = await resident(rt, "u1"), await resident(rt, "u2")
    hit = await slot_at(rt, "d1", at(26, 9, 0))
    spared = await slot_at(rt, "d1", at(27, 9, 0))
    appt = (await svc.book(rid, hit.id, "d1", "chronic", rt.now())).appointment
    kept = (await svc.book(other, spared.id, "d1", "general", rt.now())).appointment
    assert appt is not None and kept is not None

    result = await svc.close_day("d1", date(2026, 11, 26), "training day", rt.now())
    assert result.slots == 26 and [a.id for a in result.cancelled] == [appt.id]
    cancelled = await svc.store.appointment(appt.id)
    assert cancelled is not None
    assert (cancelled.status, cancelled.note) == ("cancelled", "training day")
    assert (await svc.store.appointment(kept.id)).status == "booked"  # type: ignore[union-attr]
    assert await _outbox(rt, rid) == {
        f"bk:{appt.id}:eve": "cancelled",
        f"bk:{appt.id}:2h": "cancelled",
        f"bk:{appt.id}:closed": "pending",
    }
    notice = await rt.stores.outbox.by_dedupe(f"bk:{appt.id}:closed")
    assert notice is not None and notice.kind == CLOSED_KIND and not notice.urgent
    # The closed day is no longer offered, and stays closed when slots are regenerated.
    doctor = await district.doctor("d1")
    assert doctor is not None
    assert date(2026, 11, 26) not in dict(await svc.free_days(doctor, rt.now()))
    svc._synced.clear()
    await svc.ensure_slots(doctor, rt.now())
    assert (await svc.book(other, hit.id, "d1", "general", rt.now())).problem is Problem.CLOSED


# -- the calendar file ------------------------------------------------------------------------


def test_ics_is_valid_rfc5545_with_crlf_and_folding() -> None:
    address = "金山区朱泾镇人民路107号, 朱泾社区卫生服务中心; 二楼 全科诊室 " * 2
    data = calendar(
        CalendarEvent(
            uid="appointment-42@doorstep",
            start=at(25, 9, 0),
            end=at(25, 9, 15),
            summary="就诊：王丽华 (朱泾一团队)",
            location=address,
            description="Chronic disease follow-up",
        ),
        stamp=at(24, 10, 0),
    )
    text = data.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")[:-1]
    assert "\n" not in "".join(lines) and "\r" not in "".join(lines)
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert any(line.startswith(" ") for line in lines)  # the long address was folded
    for needed in ("UID:appointment-42@doorstep", "DTSTAMP:20261124T020000Z"):
        assert needed in lines
    assert "DTSTART:20261125T010000Z" in lines and "DTEND:20261125T011500Z" in lines

    cal = icalendar.Calendar.from_ical(data)  # an independent parser reads it back
    (event,) = cal.walk("VEVENT")
    assert str(event["LOCATION"]) == address
    assert str(event["SUMMARY"]) == "就诊：王丽华 (朱泾一团队)"
    assert event.decoded("DTSTART") == at(25, 9, 0)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=15)


# -- the operator command ---------------------------------------------------------------------


def test_slots_close_command_cancels_and_reports(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`doorstep slots close` in its own process (real clock), then `slots list --date`."""
    from bot.cli import main

    db = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DOORSTEP_DB", str(db))
    settings = Settings.from_env()
    tomorrow = datetime.now(SH).date() + timedelta(days=1)

    async def setup() -> int:
        rt = Runtime(settings)
        await rt.start()
        try:
            service = rt.services.directory
            await service.import_csv("stations", STATIONS.encode())
            await service.import_csv(
                "doctors",
                DOCTORS.replace(f'"{HOURS}"', "Daily 08:00-12:00").encode(),
            )
            rid = await resident(rt, "cli")
            slot = await slot_at(
                rt, "d1", datetime.combine(tomorrow, datetime.min.time(), SH) + timedelta(hours=9)
            )
            res = await rt.services.booking.book(rid, slot.id, "d1", "other", rt.now())
            assert res.appointment is not None
            return res.appointment.id
        finally:
            await rt.stop()

    appt_id = asyncio.run(setup())
    assert main(["slots", "close", "d1", tomorrow.isoformat(), "--reason", "flu clinic"]) == 0
    out = capsys.readouterr().out
    assert "closed 16 slot(s)" in out and "1 booking(s) cancelled" in out
    # Per booking, what became of the notice (this process delivers nothing: it waits).
    [line] = [x for x in out.splitlines() if x.startswith("  resident #")]
    assert (
        line.endswith(("The message to them is on its way now.", "(quiet hours)"))
        or "quiet hours: the message goes out" in line
    )
    assert "told" not in out
    assert main(["slots", "list", "d1", "--date", tomorrow.isoformat()]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0] == "08:00-08:15  closed: flu clinic" and len(listing) == 16
    # The same command again: the day was already closed; it says so and keeps the reason.
    assert main(["slots", "close", "d1", tomorrow.isoformat(), "--reason", "other"]) == 0
    again = capsys.readouterr().out
    assert "already closed (reason: flu clinic); nothing changed" in again
    assert "told" not in again
    assert "0 booking(s) cancelled" not in again
    assert main(["slots", "list", "d1", "--date", tomorrow.isoformat()]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "08:00-08:15  closed: flu clinic"
    assert main(["slots", "close", "nobody", tomorrow.isoformat(), "--reason", "x"]) == 1
    assert "no doctor" in capsys.readouterr().err

    async def check() -> tuple[str, str]:
        rt = Runtime(settings)
        await rt.start()
        try:
            a = await rt.stores.booking.appointment(appt_id)
            n = await rt.stores.outbox.by_dedupe(f"bk:{appt_id}:closed")
            assert a is not None and n is not None
            return a.status, n.status
        finally:
            await rt.stop()

    assert asyncio.run(check()) == ("cancelled", "pending")


async def test_slots_close_says_per_booking_when_the_notice_goes_out(
    rt: Runtime, district: DirectoryService, clock
) -> None:
    """Closed at 22:00: the notice is held by the resident's quiet hours until 08:00, and the
    report says so from the outbox row, never that the resident was told."""
    from bot.commands.slots import close_report

    rid = await resident(rt, "q1")
    slot = await slot_at(rt, "d1", at(26, 9, 0))
    soon = await slot_at(rt, "d1", at(25, 9, 0))
    booked = await rt.services.booking.book(rid, slot.id, "d1", "other", rt.now())
    early = await rt.services.booking.book(rid, soon.id, "d1", "other", rt.now())
    assert booked.appointment is not None and early.appointment is not None
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    # Tomorrow 09:00 (11 h away): the notice cannot wait for 08:00, quiet hours or not.
    await close_report(rt, "d1", date(2026, 11, 25), "training")
    urgent = await rt.stores.outbox.by_dedupe(closed_key(early.appointment.id))
    assert urgent is not None and urgent.urgent
    assert await rt.services.send_times.of_row(urgent) == rt.now()
    # The day after (35 h away): held by quiet hours until 08:00, and the report says so.
    lines = await close_report(rt, "d1", date(2026, 11, 26), "training")
    row = await rt.stores.outbox.by_dedupe(closed_key(booked.appointment.id))
    assert row is not None and row.status == "pending" and not row.urgent
    goes = await rt.services.send_times.of_row(row)
    assert goes == at(25, 8, 0)
    assert lines[1] == (
        f"  resident #{rid}, visit 09:00: It is in their quiet hours: the message goes out "
        + rt.catalogs.get("en").weekday_datetime(goes)
        + "."
    )
    assert not any("told" in x or "notified" in x for x in lines)


async def test_slots_list_never_makes_slots(
    rt: Runtime, district: DirectoryService, capsys: pytest.CaptureFixture[str]
) -> None:
    """Listing a day beyond the booking window (or any day) writes nothing."""
    from bot.commands.slots import _print_slots

    async def count() -> int:
        row = await rt.db.fetchone("SELECT COUNT(*) FROM slots", ())
        assert row is not None
        return int(row[0])

    before = await count()
    import argparse

    for day in (date(2026, 12, 29), date(2026, 11, 25)):  # beyond the window, inside it
        args = argparse.Namespace(doctor_id="d1", date=day)
        await _print_slots(args, rt.settings, rt.services.booking, rt.now())
    args = argparse.Namespace(doctor_id="d1", date=None)
    await _print_slots(args, rt.settings, rt.services.booking, rt.now())
    assert await count() == before == 0
    out = capsys.readouterr().out
    assert "no slots stored in the next 14 days: " in out  # the summary says why it is empty
    why = await rt.services.booking.why_no_slots("d1", date(2026, 12, 29), rt.now())
    assert "beyond the 14-day booking window: its slots are made on 2026-12-16" in why
