"""Every promise the bot makes is checked against the rows in the database: the reminders a
booking, a recheck or a snooze actually has, the message a signing decision actually planned,
and whether any doctor can see a danger-sign flag. Each kind has its "none created" case."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.callbacks import cb
from bot.domain.outbox import OutboxRow
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services.booking import REMINDER_KIND
from bot.services.followup import NOTIFICATION_KIND as FOLLOWUP_KIND
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser
from tests.test_booking import at, resident, slot_at
from tests.test_booking import load_district as load_booking_district


def moment(t: Translator, row: OutboxRow) -> str:
    """How a row's due time must read (computed here from the row, not from the bot)."""
    return t.weekday_datetime(row.due_at.astimezone(t.tz))


def assert_promises_exactly(text: str, t: Translator, rows: Sequence[OutboxRow]) -> None:
    """The promise names exactly these rows' times, soonest first, and no other."""
    assert rows, "use the none case"
    ordered = sorted(rows, key=lambda r: r.due_at)
    expected = f"I will remind you on {t.list([moment(t, r) for r in ordered])}."
    assert expected in text, (expected, text)
    assert text.count("I will remind you") == 1, text


async def pending(rt: Runtime, resident_id: int, kind: str) -> list[OutboxRow]:
    rows = await rt.stores.outbox.for_resident(resident_id, kind)
    return [r for r in rows if r.status == "pending"]


async def booking_user(rt: Runtime) -> tuple[ChatUser, int]:
    await load_booking_district(rt)
    rid = await resident(rt, "2001")
    return ChatUser(rt, user_id="2001"), rid


async def test_booking_promises_exactly_the_reminder_rows_it_wrote(rt: Runtime) -> None:
    u, rid = await booking_user(rt)
    slot = await slot_at(rt, "d1", at(26, 9, 0))  # Thursday: both reminders ahead
    await u.press_data(cb("book", "ok", "chronic", slot.id))
    rows = await pending(rt, rid, REMINDER_KIND)
    assert len(rows) == 2
    t = rt.catalogs.get("en")
    assert_promises_exactly(u.texts(), t, rows)
    await u.press("My appointments")
    assert_promises_exactly(u.texts(), t, rows)


async def test_booking_later_today_promises_only_the_two_hour_reminder(rt: Runtime) -> None:
    u, rid = await booking_user(rt)
    slot = await slot_at(rt, "d1", at(24, 14, 0))  # now 10:00: the eve has passed
    await u.press_data(cb("book", "ok", "chronic", slot.id))
    (row,) = await pending(rt, rid, REMINDER_KIND)
    assert_promises_exactly(u.texts(), rt.catalogs.get("en"), [row])
    assert row.due_at.astimezone(at(24, 0).tzinfo) == at(24, 12, 0)


async def test_booking_1030_at_1020_promises_no_reminder(rt: Runtime, clock: Clock) -> None:
    u, rid = await booking_user(rt)
    slot = await slot_at(rt, "d1", at(24, 10, 30))
    clock.set(at(24, 10, 20))
    await u.press_data(cb("book", "ok", "chronic", slot.id))
    assert "Your visit is booked" in u.texts()
    assert await pending(rt, rid, REMINDER_KIND) == []
    assert "I will remind you" not in u.texts()
    assert "No reminder is set" in u.texts()
    await u.press("My appointments")
    assert "I will remind you" not in u.texts() and "No reminder is set" in u.texts()


async def test_moving_promises_the_new_bookings_rows(rt: Runtime) -> None:
    u, rid = await booking_user(rt)
    first = await slot_at(rt, "d1", at(26, 9, 0))
    await u.press_data(cb("book", "ok", "chronic", first.id))
    (appt,) = await rt.stores.booking.upcoming(rid, rt.now())
    later = await slot_at(rt, "d1", at(27, 9, 0))
    outcome = await u.press_data(cb("book", "ok", f"m{appt.id}", later.id))
    # The toast says what happened; the answer names both times, the new one as stored.
    assert outcome.toast == "Moved."
    (moved,) = await rt.stores.booking.upcoming(rid, rt.now())
    t = rt.catalogs.get("en")
    old, new = t.weekday_datetime(appt.start_at), t.weekday_datetime(moved.start_at)
    assert moved.id != appt.id and old != new
    assert f"Your visit is moved from {old} to {new}." in u.texts()
    rows = await pending(rt, rid, REMINDER_KIND)
    assert len(rows) == 2 and all(r.params["appointment_id"] != appt.id for r in rows)
    assert_promises_exactly(u.texts(), rt.catalogs.get("en"), rows)


async def test_recheck_answer_promises_only_with_recheck_rows(user: ChatUser) -> None:
    """The reading answer (its wording is the clinical rules' module's) says "I will remind
    you" exactly when the recheck's reminder rows are pending in the outbox."""
    rt = user.rt
    rid = (await rt.stores.residents.load(user.channel, user.user_id))[0].id  # type: ignore[index]
    await rt.services.health.set_condition(rid, "hypertension")
    await user.text("/bp 150/95")
    rows = [r for r in await pending(rt, rid, FOLLOWUP_KIND) if r.params.get("reason") == "recheck"]
    assert rows and "I will remind you" in user.texts()


async def test_danger_sign_says_who_sees_it(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    # Not signed with any team: no doctor sees the flag, and the answer says so.
    alone = make_user("3001")
    await alone.onboard()
    await alone.text("/bp 185/95")
    assert "No family doctor sees your readings on Doorstep yet" in alone.texts()
    assert "flagged this reading" not in alone.texts()
    # Signed, but the team's doctor has no chat account: nobody sees the desk either.
    rid = await signed_resident(rt, "3002", WANG)
    signed = make_user("3002")
    await signed.onboard()
    await signed.text("/bp 185/95")
    assert "No family doctor sees your readings on Doorstep yet" in signed.texts()
    # Once the doctor has linked an account, the flag is on their desk and the answer names them.
    doctor = await linked_doctor(rt, make_user)
    await signed.text("/bp 190/100")
    assert "flagged this reading for your family doctor, Dr Wang Lihua" in signed.texts()
    await doctor.press("Flags")
    assert "🚨 190/100 mmHg · urgent: see a doctor today" in doctor.texts()
    assert len(await rt.services.health.flags_for([rid])) == 2


async def test_signing_decision_says_told_only_with_a_planned_message(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    r = await rt.stores.residents.create("test", "4001")
    await rt.services.directory.set_home(r.id, "朱泾", "东林居委")
    req = await rt.services.directory.request_signing(r.id, WANG, "Li Ming", "13800000000")
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("desk", "ok", req.id))
    (row,) = await rt.stores.outbox.for_resident(r.id, "signing_decision")
    assert row.key == "approved"
    assert "Li Ming is now signed with your team" in doctor.texts()
    assert "They get a message from the bot about it." in doctor.texts()


async def test_signing_request_says_whether_the_team_can_see_it(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    for user_id, linked in (("5001", False), ("5002", True)):
        if linked:
            await linked_doctor(rt, make_user)
        u = make_user(user_id)
        await u.onboard()
        r = (await rt.stores.residents.load("test", user_id))[0]  # type: ignore[index]
        await rt.services.directory.set_home(r.id, "朱泾", "东林居委")
        await u.text("👨‍⚕️ My family doctor")
        await u.press("Request signing")
        await u.text("138-0000 1111")
        await u.text("李四")
        await u.press("✅ Send")
        req = await rt.services.directory.latest_request(r.id)
        assert req is not None and req.status == "pending" and req.doctor_id == WANG
        text = u.texts()
        assert "The team will call you" not in text
        if linked:
            assert "The team sees your request on their Doorstep desk" in text
        else:
            assert "this team does not use Doorstep yet, so they have not seen it" in text


async def test_snooze_and_adult_reminders_quote_their_rows(rt: Runtime, user: ChatUser) -> None:
    rid = (await rt.stores.residents.load(user.channel, user.user_id))[0].id  # type: ignore[index]
    t = rt.catalogs.get("en")
    # Adults: born 1950 → eligible; nothing planned yet, so nothing is promised.
    await rt.services.health.set_birth_year(rid, 1950)
    await user.press_data(cb("adultvax", "show"))
    assert "No reminder of them is waiting for you right now." in user.texts()
    await rt.services.adult_vaccines.plan_all()
    rows = await pending(rt, rid, "adult_vaccine")
    assert rows
    await user.press_data(cb("adultvax", "show"))
    # One promise per vaccine, naming it, with that vaccine's own rows' times (from the rows).
    text = user.texts()
    names = {"flu": "the flu vaccine", "ppv23": "the pneumococcal vaccine (PPV23)"}
    assert {r.key for r in rows} == set(names)
    for key, name in names.items():
        mine = sorted((r for r in rows if r.key == key), key=lambda r: r.due_at)
        # Planned at 10:00 for 09:30 today: they go out now, and the promise says so.
        times = t.list([t.weekday_datetime(max(r.due_at, rt.now())) for r in mine])
        assert f"I will remind you about {name} on {times}." in text, text
    assert text.count("I will remind you") == len(names), text


async def test_promised_times_are_when_quiet_hours_let_the_rows_go_out(rt: Runtime) -> None:
    """A resident whose quiet hours run 17:00-10:00: the day-before reminder (18:00) goes out
    at 10:00 on the day, the adult vaccine reminders (09:30) at 10:00; every promise names the
    moment delivery will send each row, not the row's due time."""
    u, rid = await booking_user(rt)
    me = await rt.stores.residents.get(rid)
    assert me is not None
    await rt.stores.residents.update(me, quiet_start="17:00", quiet_end="10:00")
    t = rt.catalogs.get("en")
    slot = await slot_at(rt, "d1", at(26, 14, 0))
    await u.press_data(cb("book", "ok", "chronic", slot.id))
    rows = {r.key: r for r in await pending(rt, rid, REMINDER_KIND)}
    assert rows["eve"].due_at == at(25, 18, 0) and rows["2h"].due_at == at(26, 12, 0)
    expected = f"I will remind you on {t.list(['Thu 26 Nov, 10:00', 'Thu 26 Nov, 12:00'])}."
    assert expected in u.texts(), u.texts()
    await u.press("My appointments")
    assert expected in u.texts()
    # Adults: both reminders are due at 09:30 and go out at 10:00.
    await rt.services.health.set_birth_year(rid, 1950)
    await rt.services.adult_vaccines.plan_all()
    adult = await pending(rt, rid, "adult_vaccine")
    assert adult and {r.due_at.astimezone(t.tz).strftime("%H:%M") for r in adult} == {"09:30"}
    await u.press_data(cb("adultvax", "show"))
    day = t.weekday_date(adult[0].due_at)
    assert f"I will remind you about the flu vaccine on {day}, 10:00." in u.texts(), u.texts()
