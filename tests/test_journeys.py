"""The main journeys, walked as a person would through the chat harness (buttons and typed
text only), with every fact the bot shows checked against the database: names, dates, times,
counts and statuses, not only that a reply came."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from bot.callbacks import cb
from bot.menu import main_menu_keyboard
from bot.runtime import Runtime
from bot.services.booking import REMINDER_KIND
from bot.services.vaccines.dose_state import Shown, states
from handlers.resident.vaccines_view import age_text, dose_when
from tests.doctor_fixtures import WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser


async def me(u: ChatUser) -> int:
    loaded = await u.rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


def local(rt: Runtime, at: datetime) -> datetime:
    return at.astimezone(rt.settings.tz)


async def test_onboarding_in_chinese_and_english(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    for user_id, language, locale in (("j1", "中文", "zh_Hans"), ("j2", "English", "en")):
        u = make_user(user_id, language_code=None)
        await u.text("/start")
        assert "请选择语言 / Choose your language" in u.texts()
        await u.press(language)
        loaded = await rt.stores.residents.load("test", user_id)
        assert loaded is not None and loaded[0].locale == locale and not loaded[0].consented
        await u.press("✅")
        loaded = await rt.stores.residents.load("test", user_id)
        assert loaded is not None and loaded[0].consented and loaded[0].consent_at is not None
        # The main menu, in the language chosen.
        (menu,) = [r.keyboard for r in u.all_replies() if r.keyboard is not None]
        expected = main_menu_keyboard(rt.catalogs.get(locale), elder=False)
        assert [k.label for row in menu.rows for k in row] == [
            k.label for row in expected.rows for k in row
        ]


async def test_find_my_family_doctor_and_ask_to_sign(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    u = make_user("j3")
    await u.onboard()
    await u.text("👨‍⚕️ My family doctor")
    await u.press("Zhujing")
    await u.press("Donglin Neighbourhood")
    rid = await me(u)
    home = await rt.services.directory.home(rid)
    assert home is not None and (home.town, home.community) == ("朱泾", "东林居委")
    team = await rt.services.directory.team_for_resident(rid)
    assert team is not None and team.doctor.id == WANG
    card = u.texts()
    for fact in (team.doctor.name_en, team.doctor.phone):
        assert fact in card, fact
    assert team.centre is not None and team.centre.name_en in card
    await u.press("Request signing")
    await u.text("139 1234 5678")
    await u.text("张三")
    assert "Name: 张三" in u.texts() and "Phone: 13912345678" in u.texts()
    await u.press("✅ Send")
    req = await rt.services.directory.latest_request(rid)
    assert req is not None and (req.name, req.phone, req.status) == (
        "张三",
        "13912345678",
        "pending",
    )
    shown = rt.catalogs.get("en").date(req.updated_at)
    assert f"Signing request sent on {shown}: waiting for the team." in u.texts()
    # Nobody on the team uses Doorstep yet: the bot says so, and gives the team's phone.
    assert f"Please call them: {team.doctor.phone}" in u.texts()


async def test_book_move_and_cancel_a_visit(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    rid = await signed_resident(rt, "j4", WANG)
    u = make_user("j4")
    await u.onboard()
    t = rt.catalogs.get("en")
    await u.text("📅 Book a follow-up")
    await u.press("Chronic disease follow-up")
    day_buttons = [b for r in u.all_replies() for b in r.all_buttons() if ":book:d:" in b.data]
    await u.press_data(day_buttons[1].data)  # the second day offered
    time_buttons = [b for r in u.all_replies() for b in r.all_buttons() if ":book:t:" in b.data]
    await u.press_data(time_buttons[0].data)
    await u.press("Book this visit")
    (appt,) = await rt.stores.booking.upcoming(rid, rt.now())
    doctor = await rt.services.directory.doctor(appt.doctor_id)
    assert doctor is not None and doctor.id == WANG
    text = u.texts()
    start = appt.start_at.astimezone(t.tz)
    for fact in (doctor.name_en, t.weekday_date(start), t.time(start)):
        assert fact in text, fact
    reminders = [
        r for r in await rt.stores.outbox.for_resident(rid, REMINDER_KIND) if r.status == "pending"
    ]
    assert len(reminders) == 2
    for r in reminders:
        at = local(rt, r.due_at)
        assert t.weekday_datetime(at) in text

    await u.press("My appointments")
    assert f"1. {t.weekday_datetime(start)}" in u.texts()
    await u.press("Move 1")
    days = [b for r in u.all_replies() for b in r.all_buttons() if ":book:d:m" in b.data]
    await u.press_data(days[-1].data)
    times = [b for r in u.all_replies() for b in r.all_buttons() if ":book:t:m" in b.data]
    await u.press_data(times[-1].data)
    await u.press("Yes, move it")
    (moved,) = await rt.stores.booking.upcoming(rid, rt.now())
    old = await rt.stores.booking.appointment(appt.id)
    assert old is not None and old.status == "moved" and moved.id != appt.id
    new_start = moved.start_at.astimezone(t.tz)
    assert t.weekday_date(new_start) in u.texts() and t.time(new_start) in u.texts()

    await u.press("My appointments")
    await u.press("Cancel 1")
    await u.press("Yes, cancel it")
    gone = await rt.stores.booking.appointment(moved.id)
    assert gone is not None and gone.status == "cancelled"
    assert await rt.stores.booking.upcoming(rid, rt.now()) == []
    pending = [r for r in await rt.stores.outbox.for_resident(rid) if r.status == "pending"]
    assert not [r for r in pending if r.kind == REMINDER_KIND]
    await u.press("My appointments")
    assert "You have no upcoming visits." in u.texts()


async def test_log_a_reading_and_see_it(user: ChatUser) -> None:
    rt = user.rt
    rid = await me(user)
    await rt.services.health.set_condition(rid, "hypertension")
    await user.text("❤️ My health")
    await user.press("Log blood pressure")
    await user.text("152/96")
    (reading,) = await rt.services.health.readings(rid)
    assert (reading.systolic, reading.diastolic, reading.controlled) == (152, 96, False)
    assert f"Saved: {reading.systolic}/{reading.diastolic} mmHg" in user.texts()
    dues = await rt.services.health.due(rid)
    recheck = next(d for d in dues if str(d.reason) == "recheck")
    assert rt.catalogs.get("en").date(recheck.due) in user.texts()
    await user.press("My readings")
    assert "152/96" in user.texts()


async def test_subscribe_to_tips(user: ChatUser) -> None:
    rt = user.rt
    rid = await me(user)
    t = rt.catalogs.get("en")
    await user.text("💡 Health tips")
    assert "Tips are off" in user.texts()
    await user.press("Turn on tips")
    sub = await rt.stores.tips.get(rid)
    assert sub is not None and sub.active
    (row,) = [r for r in await rt.stores.outbox.for_resident(rid, "tip") if r.status == "pending"]
    at = local(rt, row.due_at)
    assert t.time(at) in user.texts() and t.weekday_date(at) in user.texts()


async def test_add_a_child_and_read_the_card(user: ChatUser) -> None:
    rt = user.rt
    rid = await me(user)
    born = date(2026, 3, 14)
    await user.text("💉 Vaccines")
    await user.press("Add a child")
    await user.text("Mimi")
    await user.press_data(cb("addchild", "y", born.year))
    await user.press_data(cb("addchild", "m", f"{born.year}{born.month:02d}"))
    await user.press_data(cb("addchild", "d", born.strftime("%Y%m%d")))
    (child,) = await rt.stores.vaccines.children_of(rid)
    assert (child.nickname, child.born) == ("Mimi", born)
    if "already had" in user.texts():
        await user.press("All up to today")
    await user.press_data(cb("vaccines", "c", child.id))
    card = user.texts()
    t = rt.catalogs.get("en")
    record = await rt.services.children.mine(rid, child.id)
    assert record is not None
    plan = rt.services.children.plan(record)
    assert "Mimi" in card and t.date(born) in card
    assert age_text(t, born, plan.today) in card
    for s in states(plan):
        if s.shown in (Shown.LATE, Shown.DUE, Shown.DUE_WHILE, Shown.LATE_WAITING):
            assert dose_when(t, s, plan.today) in card, s.code


async def test_the_doctors_today_overdue_and_broadcast(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    health = rt.services.health
    li = await signed_resident(rt, "d1", name="Li Hua", conditions=("hypertension",))
    await health.record_event(li, "followup", date(2026, 5, 6))  # nothing since Q2: overdue
    zhao = await signed_resident(rt, "d2", name="Zhao Min", conditions=("hypertension",))
    booking = rt.services.booking
    doctor_row = await rt.services.directory.doctor(WANG)
    assert doctor_row is not None
    await booking.ensure_slots(doctor_row, rt.now())
    slot = (await booking.free_times(WANG, date(2026, 11, 24), rt.now()))[0]
    made = await booking.book(zhao, slot.id, WANG, "general", rt.now())
    assert made.appointment is not None
    doctor = await linked_doctor(rt, make_user)
    t = rt.catalogs.get("en")

    await doctor.press("Today")
    visit = made.appointment
    assert f"{t.time(visit.start_at)} Zhao Min · General consultation" in doctor.texts()
    assert t.weekday_date(date(2026, 11, 24)) in doctor.texts()

    await doctor.press_data(cb("desk", "menu"))
    await doctor.press("Overdue")
    items = await rt.services.doctor_day.overdue(doctor_row)
    assert f"{len(items)} overdue follow-up" in doctor.texts()
    for item in items:
        assert f"{item.name} · " in doctor.texts() and t.date(item.due) in doctor.texts()

    await doctor.press_data(cb("desk", "menu"))
    await doctor.press("New broadcast")
    await doctor.press("Hypertension")
    recipients = await rt.services.broadcasts.recipients(doctor_row, "hypertension", None)
    assert recipients is not None and len(recipients) == 2
    assert "2 residents" in doctor.texts()
    await doctor.press("Type my own message")
    await doctor.text("Free blood pressure checks on Saturday.")
    await doctor.press("Now")
    await doctor.press("Send to 2")
    (b,) = await rt.services.broadcasts.recent(doctor_row)
    rows = await rt.db.fetchall("SELECT * FROM outbox WHERE group_key = ?", (f"bc:{b.id}",))
    assert b.total == len(rows) == 2
    assert f"sent 0 / {b.total}" in doctor.texts()
