"""The booking feature through the chat harness: real router, handlers and SQLite, with the
sample district. Buttons only, stale buttons, the last slot tapped by two at once, reminders
and the clinic-closed message as the resident would see them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import icalendar
import pytest

from bot.callbacks import cb
from bot.domain.directory import Doctor
from bot.domain.residents import Resident
from bot.runtime import Runtime
from bot.services.booking import CLOSED_KIND, REMINDER_KIND
from tests.conftest import Clock
from tests.harness import ChatUser
from tests.test_booking import at, load_district, slot_at

BOOK = "📅 Book a follow-up"


async def me(u: ChatUser) -> Resident:
    loaded = await u.rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0]


async def sample_home(rt: Runtime, u: ChatUser) -> Doctor:
    """Load the sample district; the user lives in the first community a team serves."""
    directory = rt.services.directory
    await directory.load_sample(rt.settings.content_dir / "district")
    snap = await directory.snapshot()
    town, community = sorted(snap.served)[0]
    await directory.set_home((await me(u)).id, town, community)
    team = await directory.team_for_resident((await me(u)).id)
    assert team is not None
    return team.doctor


def data_of(u: ChatUser, prefix: str) -> list[str]:
    return [
        b.data
        for r in u.all_replies()
        for b in r.all_buttons()
        if (b.data or "").startswith(prefix)
    ]


async def onboard(rt: Runtime, user_id: str, language: str = "English") -> ChatUser:
    u = ChatUser(rt, user_id=user_id, language_code="en" if language == "English" else "zh")
    await u.onboard(language)
    return u


async def to_confirm(u: ChatUser, reason: str = "chronic", day: int = 0) -> str:
    """From "Book a follow-up" to the confirm screen of the first free time on the `day`-th
    offered day; returns the confirm button's data."""
    await u.press_data(cb("book", "new", reason))
    await u.press_data(data_of(u, "v1:book:d:")[day])
    await u.press_data(data_of(u, "v1:book:t:")[0])
    (ok,) = data_of(u, "v1:book:ok:")
    return ok


async def booked(rt: Runtime) -> int:
    return await rt.db.fetchval("SELECT COUNT(*) FROM appointments WHERE status = 'booked'")


async def test_newcomer_books_moves_and_cancels_with_buttons_only(
    rt: Runtime, user: ChatUser
) -> None:
    await user.text(BOOK)
    assert "which community you live in" in user.texts()
    assert data_of(user, "v1:family:") == [cb("family", "where")]

    doctor = await sample_home(rt, user)
    await user.text(BOOK)
    assert doctor.name_en in user.texts()
    for reason in ("Chronic disease follow-up", "General consultation", "Vaccination"):
        assert reason in user.labels()
    await user.press("Elderly annual health check")
    days = data_of(user, "v1:book:d:annual:")
    assert 1 <= len(days) <= 7
    await user.press_data(days[0])
    await user.press_data(data_of(user, "v1:book:t:")[0])
    confirm = user.texts()
    directory = rt.services.directory
    centre = (await directory.team(doctor, signed=False)).centre
    assert centre is not None
    for shown in (doctor.name_en, centre.name_en, centre.address_en, "Date:", "Time:"):
        assert shown in confirm
    await user.press("Book this visit")
    assert "Your visit is booked" in user.texts()
    assert centre.address_en in user.texts()
    (doc,) = [r.document for r in user.all_replies() if r.document is not None]
    assert (doc.filename, doc.mime) == ("visit.ics", "text/calendar")
    (event,) = icalendar.Calendar.from_ical(doc.content).walk("VEVENT")
    assert centre.address_en in str(event["LOCATION"])
    resident = await me(user)
    (appt,) = await rt.stores.booking.upcoming(resident.id, rt.now())
    assert event.decoded("DTSTART") == appt.start_at
    assert appt.reason == "annual"

    await user.press("My appointments")
    assert "1." in user.texts()
    await user.press("Move 1")
    await user.press_data(data_of(user, "v1:book:d:m")[-1])
    await user.press_data(data_of(user, "v1:book:t:m")[-1])
    assert "Move your visit from" in user.texts()
    await user.press("Yes, move it")
    assert "Your visit is moved" in user.texts()
    (moved,) = await rt.stores.booking.upcoming(resident.id, rt.now())
    assert moved.id != appt.id and moved.start_at > appt.start_at and moved.reason == "annual"
    assert (await rt.stores.booking.slot(appt.slot_id)).free == 1  # type: ignore[union-attr]

    await user.press("My appointments")
    await user.press("Cancel 1")
    assert "Cancel this visit?" in user.texts()
    await user.press("Yes, cancel it")
    assert "cancelled" in user.texts()
    assert await booked(rt) == 0
    statuses = {r.status for r in await rt.stores.outbox.for_resident(resident.id)}
    assert statuses == {"cancelled"}


async def test_two_residents_tap_the_last_slot_at_the_same_instant(rt: Runtime) -> None:
    await load_district(rt)
    a, b = await onboard(rt, "2001"), await onboard(rt, "2002")
    for u in (a, b):
        await rt.services.directory.set_home((await me(u)).id, "朱泾", "东林居委")
    ok_a, ok_b = await to_confirm(a), await to_confirm(b)
    assert ok_a == ok_b  # both look at the same free time
    await asyncio.gather(a.press_data(ok_a), b.press_data(ok_b))
    outcomes = sorted(("booked" in u.texts(), u) for u in (a, b))
    (lost_flag, lost), (won_flag, _) = outcomes[0], outcomes[1]
    assert (lost_flag, won_flag) == (False, True)
    assert "just taken" in lost.texts() and "nearest free times" in lost.texts()
    offered = data_of(lost, "v1:book:t:chronic:")
    assert offered and ok_a.replace(":ok:", ":t:") not in offered
    await lost.press_data(offered[0])
    await lost.press("Book this visit")
    assert "Your visit is booked" in lost.texts()
    assert await booked(rt) == 2 and await rt.stores.booking.overbooked() == []


async def test_old_buttons_recheck_everything_and_change_nothing(rt: Runtime, clock) -> None:
    await load_district(rt)
    a, b = await onboard(rt, "3001"), await onboard(rt, "3002")
    for u in (a, b):
        await rt.services.directory.set_home((await me(u)).id, "朱泾", "东林居委")
    ok = await to_confirm(a)
    await a.press_data(ok)
    (appt,) = await rt.stores.booking.upcoming((await me(a)).id, rt.now())

    await a.press_data(ok)  # the same confirm button again
    assert "already booked this time" in a.texts()
    await b.press_data(ok)  # another resident, an old screen with that time
    assert "just taken" in b.texts()
    for action in ("cx", "cxok", "mv", "come"):  # someone else's booking
        await b.press_data(cb("book", action, appt.id))
        assert "already cancelled or moved" in b.texts()
    await b.press_data(cb("book", "t", f"m{appt.id}", appt.slot_id))
    assert "already cancelled or moved" in b.texts()
    assert await booked(rt) == 1

    await a.press_data(cb("book", "cx", appt.id))
    stale_yes = data_of(a, "v1:book:cxok:")[0]
    await a.press_data(stale_yes)
    await a.press_data(stale_yes)  # cancelled already
    assert "already cancelled or moved" in a.texts()

    ok_later = await to_confirm(a)
    slot_id = int(ok_later.rsplit(":", 1)[1])
    slot = await rt.stores.booking.slot(slot_id)
    assert slot is not None
    clock.set(slot.start_at + timedelta(seconds=60))
    await a.press_data(ok_later)
    assert "already passed" in a.texts()
    assert data_of(a, "v1:book:t:chronic:")  # with the nearest free times
    assert await booked(rt) == 0

    await rt.services.booking.ensure_slots(
        await rt.services.directory.doctor("d2"),  # type: ignore[arg-type]
        rt.now(),
    )
    other = await rt.stores.booking.slots_between("d2", int(rt.now().timestamp()), 2**40)
    await a.press_data(cb("book", "ok", "chronic", other[0].id))  # not this resident's doctor
    assert "no longer offered" in a.texts()
    await a.press_data(cb("book", "t", "nonsense", 1))
    assert "out of date" in a.texts()
    await a.press_data(cb("book", "d", "chronic", "20261399"))
    assert "out of date" in a.texts()
    assert await booked(rt) == 0


async def test_limit_is_explained_at_the_first_step_with_a_way_out(rt: Runtime) -> None:
    """Finding 3 of the product walk: with 3 bookings the limit came only after reason, day,
    time and the confirm screen. Now the first step says it and offers My appointments."""
    await load_district(rt)
    u = await onboard(rt, "4001")
    rid = (await me(u)).id
    await rt.services.directory.set_home(rid, "朱泾", "东林居委")
    # A day button from before the limit was reached (a stale screen) is refused as well.
    await u.press_data(cb("book", "new", "chronic"))
    stale_day = data_of(u, "v1:book:d:")[0]
    svc = rt.services.booking
    for minute in (0, 15, 30):
        s = await slot_at(rt, "d1", at(26, 9, minute))
        assert (await svc.book(rid, s.id, "d1", "general", rt.now())).appointment
    assert await booked(rt) == 3
    await u.text(BOOK)
    assert "already have 3 upcoming visits" in u.texts()
    assert "My appointments" in " ".join(u.labels())
    assert not data_of(u, "v1:book:new:")  # no reason to pick
    for data in (cb("book", "new", "chronic"), stale_day):
        await u.press_data(data)
        assert "already have 3 upcoming visits" in u.texts()
        assert not data_of(u, "v1:book:t:") and not data_of(u, "v1:book:d:")
    await u.press("My appointments")
    assert len(data_of(u, "v1:book:cx:")) == 3
    assert await booked(rt) == 3


@pytest.mark.parametrize("reason", ["chronic", "annual", "vaccination"])
async def test_book_it_buttons_from_other_features_preselect_the_reason(
    rt: Runtime, reason: str
) -> None:
    await load_district(rt)
    u = await onboard(rt, "5001")
    await rt.services.directory.set_home((await me(u)).id, "朱泾", "东林居委")
    await u.press_data(cb("book", "new", reason))
    assert "choose a day" in u.texts()
    assert all(d.startswith(f"v1:book:d:{reason}:") for d in data_of(u, "v1:book:d:"))
    await u.press_data(await to_confirm(u, reason))
    (appt,) = await rt.stores.booking.upcoming((await me(u)).id, rt.now())
    assert appt.reason == reason


async def test_reminder_message_has_come_move_cancel_and_vanishes_when_cancelled(
    rt: Runtime, clock: Clock
) -> None:
    await load_district(rt)
    u = await onboard(rt, "6001")
    resident = await me(u)
    await rt.services.directory.set_home(resident.id, "朱泾", "东林居委")
    await u.press_data(await to_confirm(u, day=1))  # tomorrow: both reminders are ahead
    rows = {r.key: r for r in await rt.stores.outbox.for_resident(resident.id)}
    render = rt.registry.notifications[REMINDER_KIND]
    t = rt.catalogs.get("en")
    (appt,) = await rt.stores.booking.upcoming(resident.id, rt.now())
    hhmm = t.time(appt.start_at)
    # Worded from the visit's time and the moment it is sent, never "in about 2 hours": the
    # resident's quiet hours may hold it (here until the visit is 40 minutes away).
    sent = clock()
    clock.set(rows["eve"].due_at)
    (eve,) = await render(rt, t, resident, rows["eve"])
    assert f"Reminder: your visit is tomorrow at {hhmm}." in eve.text
    clock.set(appt.start_at - timedelta(minutes=40))
    (reply,) = await render(rt, t, resident, rows["2h"])
    assert f"Reminder: your visit is today at {hhmm}." in reply.text
    assert "Dr Wang Lihua" in reply.text
    clock.set(sent)
    labels = [b.label for b in reply.all_buttons()]
    assert labels == ["✅ I'll come", "🔁 Move", "❌ Cancel"]
    await u.press_data(reply.all_buttons()[0].data or "")
    assert "See you then" in u.texts()
    (appt,) = await rt.stores.booking.upcoming(resident.id, rt.now())
    assert appt.confirmed_at is not None

    await u.press_data(reply.all_buttons()[2].data or "")
    await u.press("Yes, cancel it")
    assert await render(rt, rt.catalogs.get("en"), resident, rows["eve"]) == []


async def test_clinic_closed_message_offers_times_that_book_in_one_more_tap(
    rt: Runtime,
) -> None:
    await load_district(rt)
    u = await onboard(rt, "7001")
    resident = await me(u)
    await rt.services.directory.set_home(resident.id, "朱泾", "东林居委")
    svc = rt.services.booking
    slot = await slot_at(rt, "d1", at(26, 9, 0))
    assert (await svc.book(resident.id, slot.id, "d1", "chronic", rt.now())).appointment
    closed = await svc.close_day("d1", date(2026, 11, 26), "staff training", rt.now())
    (notice,) = [
        r for r in await rt.stores.outbox.for_resident(resident.id) if r.kind == CLOSED_KIND
    ]
    (reply,) = await rt.registry.notifications[CLOSED_KIND](
        rt, rt.catalogs.get("en"), resident, notice
    )
    assert "staff training" in reply.text and "was cancelled" in reply.text
    times = [b for b in reply.all_buttons() if (b.data or "").startswith("v1:book:t:chronic:")]
    assert len(times) == 4
    assert [a.id for a in closed.cancelled] and not any("Nov 26" in b.label for b in times)
    await u.press_data(times[0].data or "")
    await u.press("Book this visit")
    assert "Your visit is booked" in u.texts()


async def test_my_appointments_says_the_clinic_cancelled_until_noted(rt: Runtime) -> None:
    """A closed day's visit does not silently vanish from "My appointments": it is listed as
    cancelled by the clinic, with the reason, while the notice row may still wait for quiet
    hours; after ✓ Noted it is gone (and stays stored as cancelled)."""
    await load_district(rt)
    u = await onboard(rt, "7002")
    resident = await me(u)
    await rt.services.directory.set_home(resident.id, "朱泾", "东林居委")
    svc = rt.services.booking
    slot = await slot_at(rt, "d1", at(26, 9, 0))
    booked = (await svc.book(resident.id, slot.id, "d1", "chronic", rt.now())).appointment
    assert booked is not None
    await svc.close_day("d1", date(2026, 11, 26), "staff training", rt.now())
    stored = await rt.stores.booking.appointment(booked.id)
    assert stored is not None and stored.status == "cancelled" and stored.note == "staff training"
    await u.press_data(cb("book", "list"))
    text = u.texts()
    assert "Cancelled by the clinic" in text and "staff training" in text
    assert "You have no upcoming visits." in text
    await u.press_data(cb("book", "seen", booked.id))
    assert "Cancelled by the clinic" not in u.texts()
    row = await rt.db.fetchone(
        "SELECT clinic_cancel_seen_at FROM appointments WHERE id = ?", (booked.id,)
    )
    assert row is not None and row[0] is not None
    # An old button again changes nothing and still shows the truth.
    await u.press_data(cb("book", "seen", booked.id))
    assert "You have no upcoming visits." in u.texts()


async def test_chinese_reader_sees_chinese_dates_and_words(rt: Runtime) -> None:
    await load_district(rt)
    u = await onboard(rt, "8001", language="中文")
    await rt.services.directory.set_home((await me(u)).id, "朱泾", "东林居委")
    await u.press_data(cb("book", "new"))
    assert "王丽华" in u.texts()
    await u.press_data(cb("book", "new", "chronic"))
    assert "11月24日 周二" in u.labels()
    ok = await to_confirm(u)
    assert "日期" in u.texts() and "王丽华" in u.texts()
    await u.press_data(ok)
    assert "预约成功" in u.texts()


# -- elder mode: reminders lead home; names in the reader's language ----------------------------
async def _set_elder(rt: Runtime, resident: Resident) -> Resident:
    await rt.stores.residents.update(resident, elder_mode=True)
    found = await rt.stores.residents.get(resident.id)
    assert found is not None and found.elder_mode
    return found


@pytest.mark.parametrize(("language", "home"), [("English", "🏠 Home"), ("中文", "🏠 首页")])
async def test_reminder_and_closed_messages_offer_home_in_elder_mode(
    rt: Runtime, language: str, home: str
) -> None:
    await load_district(rt)
    u = await onboard(rt, "6101", language)
    resident = await me(u)
    await rt.services.directory.set_home(resident.id, "朱泾", "东林居委")
    await u.press_data(await to_confirm(u, day=1))
    rows = {r.key: r for r in await rt.stores.outbox.for_resident(resident.id)}
    t = rt.catalogs.get(resident.locale)
    render = rt.registry.notifications[REMINDER_KIND]
    (normal,) = await render(rt, t, resident, rows["eve"])
    assert home not in [b.label for b in normal.all_buttons()]  # normal mode as before
    elder = await _set_elder(rt, resident)
    (reply,) = await render(rt, t, elder, rows["eve"])
    assert [b.label for b in reply.buttons[-1]] == [home]
    assert reply.buttons[-1][0].data == cb("menu", "home")
    assert all(len(row) <= 2 for row in reply.buttons)
    await u.press_data(reply.buttons[-1][0].data or "")
    assert any(r.keyboard is not None for r in u.all_replies())  # the main menu

    svc = rt.services.booking
    (appt,) = await svc.upcoming(resident.id, rt.now())
    day = appt.start_at.astimezone(rt.settings.tz).date()
    await svc.close_day(appt.doctor_id, day, "staff training", rt.now())
    (notice,) = [
        r for r in await rt.stores.outbox.for_resident(resident.id) if r.kind == CLOSED_KIND
    ]
    (closed,) = await rt.registry.notifications[CLOSED_KIND](rt, t, elder, notice)
    assert [b.label for b in closed.buttons[-1]] == [home]
    assert all(len(row) <= 2 for row in closed.buttons)


COMMUNITIES = (
    "id,town,town_en,name_zh,name_en,lat,lon\n"
    "n1,朱泾,Zhujing,南门居委,Nanmen Neighbourhood,30.90,121.16\n"
)


@pytest.mark.parametrize(
    ("language", "shown"),
    [("English", "serves Nanmen Neighbourhood (Zhujing) yet"), ("中文", "南门居委")],
)
async def test_no_team_names_the_home_in_the_readers_language(
    rt: Runtime, language: str, shown: str
) -> None:
    directory = await load_district(rt)
    report = await directory.import_csv("communities", COMMUNITIES.encode())
    assert not report.rejected
    u = await onboard(rt, "6201", language)
    await directory.set_home((await me(u)).id, "朱泾", "南门居委")
    await u.press_data(cb("book", "new"))
    assert shown in u.texts()
    if language == "English":
        assert "南门" not in u.texts() and "朱泾" not in u.texts()


async def test_calendar_place_reads_as_chinese_in_chinese(rt: Runtime) -> None:
    await load_district(rt)
    u = await onboard(rt, "6301", language="中文")
    await rt.services.directory.set_home((await me(u)).id, "朱泾", "东林居委")
    await u.press_data(await to_confirm(u))
    (doc,) = [r.document for r in u.all_replies() if r.document is not None]
    (event,) = icalendar.Calendar.from_ical(doc.content).walk("VEVENT")
    assert str(event["LOCATION"]) == "朱泾社区卫生服务中心，金山区朱泾镇人民路107号"
