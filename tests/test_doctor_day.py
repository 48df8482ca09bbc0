"""The doctor's day: today's visits (came / no-show), overdue follow-ups with reminders,
danger-sign flags, and the resident's card, all limited to the doctor's own team."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bot.callbacks import cb
from bot.runtime import Runtime
from bot.services.doctors import VISIT_ACCESS
from bot.services.readings import BloodPressure
from handlers.doctor.day import render_noshow, render_reminder
from tests.conftest import Clock
from tests.doctor_fixtures import (
    CHEN,
    WANG,
    RecordingSender,
    linked_doctor,
    load_district,
    signed_resident,
)
from tests.harness import ChatUser

STALE = "out of date"
T1, T2 = "13:30", "13:45"  # 24-hour in every locale


async def book(rt: Runtime, resident_id: int, doctor_id: str, day: date, reason: str) -> int:
    service = rt.services.booking
    doctor = await rt.services.directory.doctor(doctor_id)
    await service.ensure_slots(doctor, rt.now())
    slot = (await service.free_times(doctor_id, day, rt.now()))[0]
    result = await service.book(resident_id, slot.id, doctor_id, reason, rt.now())
    assert result.appointment is not None, result.problem
    return result.appointment.id


async def audit(rt: Runtime) -> list[tuple[str, int | None]]:
    return [(e.action, e.target_resident_id) for e in await rt.stores.doctors.audit_since(0)]


async def test_today_came_and_no_show(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    today = date(2026, 11, 24)  # a Tuesday: Dr Wang sees residents from 13:30
    li = await signed_resident(rt, "li", name="Li Hua", conditions=("hypertension",))
    zhao = await signed_resident(rt, "zhao", name="Zhao Min")
    came = await book(rt, li, WANG, today, "chronic")
    missed = await book(rt, zhao, WANG, today, "general")
    await book(rt, li, WANG, today + timedelta(days=1), "annual")
    other = await signed_resident(rt, "x", CHEN, community="待泾村")
    theirs = await book(rt, other, CHEN, today + timedelta(days=2), "general")

    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Today")
    text = doctor.texts()
    assert f"{T1} Li Hua · Chronic disease follow-up" in text
    assert f"{T2} Zhao Min · General consultation" in text
    assert "Elderly annual health check" in text  # tomorrow's, listed
    # 10:00: the visits have not started, so there is nothing to mark yet, and a forged or old
    # press is answered plainly: nothing changed, nothing sent.
    assert not any("no-show" in label or "came" in label for label in doctor.labels())
    bookings = rt.stores.booking
    for data in (cb("day", "ns", missed), cb("day", "nsok", missed), cb("day", "att", came)):
        await doctor.press_data(data)
        assert "has not started yet" in doctor.texts() and "nothing was sent" in doctor.texts()
    assert (await bookings.appointment(missed)).status == "booked"
    assert await rt.stores.outbox.for_resident(zhao, "doctor_noshow") == []
    clock.set(datetime(2026, 11, 24, 5, 50, tzinfo=UTC))  # 13:50 in Shanghai
    await doctor.press_data(cb("day", "today"))
    await doctor.press(f"{T1} came")
    await doctor.press(f"{T2} no-show")
    # A no-show asks first; nothing is marked or sent until "Yes".
    assert "Mark Zhao Min's visit at 13:45 as a no-show?" in doctor.texts()
    assert (await bookings.appointment(missed)).status == "booked"
    assert await rt.stores.outbox.for_resident(zhao, "doctor_noshow") == []
    await doctor.press("Yes, no-show")
    assert (await bookings.appointment(came)).status == "attended"
    assert (await bookings.appointment(missed)).status == "no_show"
    # The attended chronic visit counts as this quarter's follow-up.
    facts = (await rt.stores.health.facts([li]))[0]
    assert facts.last_event["followup"] == today
    # The no-show resident is asked to book again; their reminders are off.
    rows = await rt.stores.outbox.for_resident(zhao)
    noshow = [r for r in rows if r.kind == "doctor_noshow"]
    assert len(noshow) == 1
    assert all(r.status == "cancelled" for r in rows if r.kind == "booking_reminder")
    resident = await rt.stores.residents.get(zhao)
    (reply,) = await render_noshow(rt, rt.catalogs.get("en"), resident, noshow[0])
    assert "We missed you" in reply.text
    assert reply.buttons[0][0].data == cb("book", "new", "general")

    # Marking twice, tomorrow's visit, or another team's visit: nothing changes.
    for data in (cb("day", "att", came), cb("day", "ns", theirs)):
        await doctor.press_data(data)
        assert STALE in doctor.texts()
    assert (await bookings.appointment(theirs)).status == "booked"
    actions = await audit(rt)
    assert ("visit_attended", li) in actions and ("visit_no_show", zhao) in actions
    assert ("denied", None) in actions


async def test_overdue_oldest_first_with_a_one_tap_reminder(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    health = rt.services.health
    late = await signed_resident(rt, "late", name="Late Follow", conditions=("hypertension",))
    await health.record_event(late, "followup", date(2026, 5, 6))  # nothing since Q2
    elder = await signed_resident(rt, "elder", name="Old Annual", birth_year=1950)
    # A check recorded in 2024 and none in 2025: the 2025 check is overdue (the plan's rule).
    await health.record_event(elder, "annual_check", date(2024, 6, 1))
    # No check ever recorded: nothing is claimed about last year, so not overdue.
    await signed_resident(rt, "new", name="New Elder", birth_year=1950)
    await signed_resident(rt, "fine", name="All Fine", conditions=("diabetes2",))
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Overdue")
    text = doctor.texts()
    assert "2 overdue follow-ups" in text
    assert text.index("Old Annual") < text.index("Late Follow")  # due 2025-12-31 first
    assert "All Fine" not in text and "New Elder" not in text
    assert "due 31 Dec 2025" in text
    await doctor.press("Remind 2")
    # Read back from the row: still waiting to go (it is 10:00, outside quiet hours: now).
    (row,) = await rt.stores.outbox.for_resident(late, "doctor_reminder")
    assert row.status == "pending"
    assert doctor.last.toast == "The message to them is on its way now."
    await doctor.press("Remind 2")
    # The second press: the row is still pending, so "already reminded" would be false.
    assert doctor.last.toast == (
        "Today's reminder was already made. The message to them is on its way now."
    )
    rt.senders["test"] = RecordingSender()
    await rt.delivery.dispatcher.drain()
    (row,) = await rt.stores.outbox.for_resident(late, "doctor_reminder")
    assert row.status == "sent"
    await doctor.press("Remind 2")
    assert doctor.last.toast == "Today's reminder was already made. It has been sent."
    (row,) = await rt.stores.outbox.for_resident(late, "doctor_reminder")
    resident = await rt.stores.residents.get(late)
    (reply,) = await render_reminder(rt, rt.catalogs.get("en"), resident, row)
    assert "Dr Wang Lihua" in reply.text and "30 Sep 2026" in reply.text
    assert reply.buttons[0][0].data == cb("book", "new", "chronic")
    assert ("reminder", late) in await audit(rt)
    # Not overdue, or another team's: refused.
    other = await signed_resident(rt, "x", CHEN, community="待泾村", birth_year=1940)
    await doctor.press_data(cb("day", "rem", other, "annual"))
    assert STALE in doctor.texts()
    assert await rt.stores.outbox.for_resident(other, "doctor_reminder") == []
    assert elder != other


async def test_flags_and_card(rt: Runtime, make_user: Callable[..., ChatUser]) -> None:
    await load_district(rt)
    health = rt.services.health
    rid = await signed_resident(
        rt, "p", name="Pressure High", conditions=("hypertension",), birth_year=1956
    )
    await health.log_reading(rid, BloodPressure(150, 95))
    await health.log_reading(rid, BloodPressure(190, 120))
    await book(rt, rid, WANG, date(2026, 11, 25), "chronic")
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Flags")
    assert "Pressure High: 🚨 190/120 mmHg · urgent: see a doctor today" in doctor.texts()
    assert all(f.seen_at is not None for f in await health.flags_for([rid]))
    await doctor.press("Card 1")
    card = doctor.texts()
    assert "Pressure High" in card and "Age: 70" in card
    assert "Hypertension" in card and "⚠️ 150/95 mmHg" in card
    assert "Next visit:" in card and "Chronic disease follow-up" in card
    assert "Children's vaccines: no children recorded" in card
    await rt.services.children.add(rid, "Xiaobao", date(2026, 11, 20))
    await doctor.press_data(cb("day", "card", rid))
    assert "👶 Xiaobao:" in doctor.texts() and "HepB-1: late" in doctor.texts()
    assert ("view_card", rid) in await audit(rt)


async def test_cannot_see_another_teams_resident(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    health = rt.services.health
    other = await signed_resident(rt, "o", CHEN, community="待泾村", name="Not Yours")
    await health.log_reading(other, BloodPressure(200, 125))
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("day", "card", other))
    assert STALE in doctor.texts() and "Not Yours" not in doctor.texts()
    await doctor.press("🏠")
    await doctor.press_data(cb("day", "flags"))
    assert "Not Yours" not in doctor.texts()
    assert ("view_card", other) not in await audit(rt)
    assert [a for a, _ in await audit(rt)].count("denied") == 1


async def test_only_signed_or_recently_seen_residents_are_reachable(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    """Least privilege: a booking that was cancelled gives no access; a booked or attended
    visit does, and an attended one only for VISIT_ACCESS days."""
    await load_district(rt)
    today = date(2026, 11, 24)
    rid = await signed_resident(rt, "c1", CHEN, community="待泾村", name="Chen Signed")
    await rt.services.health.log_reading(rid, BloodPressure(150, 95))
    doctors = rt.services.doctors
    wang = await rt.services.directory.doctor(WANG)
    assert wang is not None
    doctor = await linked_doctor(rt, make_user)

    cancelled = await book(rt, rid, WANG, today, "general")
    result = await rt.services.booking.cancel(rid, cancelled, rt.now())
    assert result.problem is None
    assert not await doctors.can_reach(wang, rid)
    await doctor.press_data(cb("day", "card", rid))
    assert STALE in doctor.texts() and "⚠️ 150/95 mmHg" not in doctor.texts()

    visit = await book(rt, rid, WANG, today, "general")
    assert await doctors.can_reach(wang, rid)
    await doctor.press_data(cb("day", "card", rid))
    card = doctor.texts()
    assert "⚠️ 150/95 mmHg" in card
    # The name was given to Chen's team, not Wang's: the card does not show it.
    assert "Chen Signed" not in card and f"Resident #{rid}" in card
    booked_visit = await rt.stores.booking.appointment(visit)
    assert booked_visit is not None
    clock.set(booked_visit.start_at)  # the visit has started: it can be marked
    await doctor.press_data(cb("day", "att", visit))
    assert (await rt.stores.booking.appointment(visit)).status == "attended"

    clock.set(clock.current + VISIT_ACCESS - timedelta(days=1))
    assert await doctors.can_reach(wang, rid)
    clock.set(clock.current + timedelta(days=2))
    assert not await doctors.can_reach(wang, rid)
    await doctor.press_data(cb("day", "card", rid))
    assert STALE in doctor.texts() and "⚠️ 150/95 mmHg" not in doctor.texts()
    # Chen's own team still sees their signed resident.
    chen = await rt.services.directory.doctor(CHEN)
    assert chen is not None and await doctors.can_reach(chen, rid)


async def test_card_shows_only_the_teams_own_next_visit(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    rid = await signed_resident(rt, "w1", WANG, name="Wang Signed")
    await book(rt, rid, CHEN, date(2026, 11, 25), "chronic")  # a visit with another team
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("day", "card", rid))
    card = doctor.texts()
    assert "Wang Signed" in card
    assert "Next visit: none booked" in card and "Chronic disease follow-up" not in card
    await book(rt, rid, WANG, date(2026, 11, 25), "annual")
    await doctor.press_data(cb("day", "card", rid))
    assert "Elderly annual health check" in doctor.texts()


async def test_reminder_in_quiet_hours_says_when_it_goes(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    """At 23:00 Shanghai the resident's quiet hours hold the row until 08:00: the doctor is
    told that, not "Reminder sent"."""
    clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    await load_district(rt)
    late = await signed_resident(rt, "late", name="Late Follow", conditions=("hypertension",))
    await rt.services.health.record_event(late, "followup", date(2026, 5, 6))
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Overdue")
    await doctor.press("Remind 1")
    (row,) = await rt.stores.outbox.for_resident(late, "doctor_reminder")
    assert row.status == "pending" and not row.urgent
    assert (
        doctor.last.toast == "It is in their quiet hours: the message goes out Wed 25 Nov, 08:00."
    )
