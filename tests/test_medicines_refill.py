"""Refills ("running low") through the signed family doctor team: a request approved (ready
date, station pin and hours in the resident's notice), declined with a reason, or "come in";
requests only called "sent" when a doctor of the team can see them; the doctor's Flags show
residents with 3 or more missed doses in 7 days, and the card shows the medicines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.medicines import Meals, NewEntry, RefillStatus
from bot.runtime import Runtime
from bot.services.directory import short_key
from bot.services.medicines_refill import notice_key
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"DOORSTEP_GLOBAL_RATE": "0", "DOORSTEP_PER_CHAT_INTERVAL": "0"},
        db_path=tmp_path / "refill.sqlite3",
    )


@pytest.fixture
async def sender(rt: Runtime) -> AsyncIterator[RecordingSender]:
    s = RecordingSender()
    rt.senders["test"] = s
    yield s


def new_entry(name: str, today: date) -> NewEntry:
    return NewEntry(None, name, name, "", "", "1", "tablet", ("08:00",), Meals.AFTER, today, None)


async def resident_with_medicines(
    rt: Runtime, make_user: Callable[..., ChatUser], uid: str = "1001", doctor: str = WANG
) -> tuple[ChatUser, int]:
    rid = await signed_resident(
        rt, uid, doctor, community="东林居委" if doctor == WANG else "待泾村"
    )
    u = make_user(uid)
    await u.onboard()
    svc = rt.services.medicines
    await svc.add(rid, new_entry("Amlodipine", svc.today()))
    await svc.add(rid, new_entry("Metformin", svc.today()))
    return u, rid


async def ask(u: ChatUser, weeks: str = "4 weeks", family: str | None = None) -> None:
    await u.press_data("v1:refill:new")
    await u.press("Metformin")  # untick: only amlodipine
    await u.press("Next")
    assert "up to 12 weeks" in u.texts() and "长期处方管理规范" in u.texts()
    await u.press(weeks)
    if family:
        await u.press("A family member picks it up")
        await u.text(family)
    else:
        await u.press("📍")
    await u.press("Send")


async def test_refill_approved_with_pin_and_hours(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u, rid = await resident_with_medicines(rt, make_user)
    await ask(u)
    assert "Sent to your family doctor team" in u.texts()
    [req] = await rt.stores.medicines.refills_of(rid)
    assert (req.status, req.weeks, req.names, req.doctor_id) == (
        RefillStatus.REQUESTED,
        4,
        ("Amlodipine",),
        WANG,
    )
    assert req.station_id
    await doctor.text("/doctor")
    assert "Refills (1)" in " ".join(doctor.labels())
    await doctor.press("Refills")
    assert "Amlodipine" in doctor.texts() and "For 4 weeks" in doctor.texts()
    await doctor.press("Approve")
    await doctor.press("⭐")  # the place the resident chose
    tomorrow = rt.services.medicines.today() + timedelta(days=1)
    await doctor.press(rt.catalogs.get("en").weekday_date(tomorrow))
    # Composed from the notification row: pending and not in quiet hours, so on its way.
    assert "The message to them is on its way now." in doctor.texts()
    assert "has been told" not in doctor.texts() and "has been sent" not in doctor.texts()
    [done] = await rt.stores.medicines.refills_of(rid)
    assert (done.status, done.ready_on, done.ready_station_id) == (
        RefillStatus.APPROVED,
        tomorrow,
        req.station_id,
    )
    row = await rt.stores.outbox.by_dedupe(f"mdf:{req.id}:approved")
    assert row is not None and row.status == "pending"
    await rt.delivery.dispatcher.drain()
    text, pin = sender.to("1001")[-2:]
    assert "Your refill is approved: Amlodipine (4 weeks)" in text.text
    assert "Ready from" in text.text and "Opening hours:" in text.text
    assert pin.venue is not None
    # The request is no longer waiting; an old approve button is refused.
    await doctor.press_data(f"v1:refills:ok:{req.id}")
    assert "out of date" in doctor.texts()


async def test_refill_declined_with_a_reason_and_come_in(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u, rid = await resident_with_medicines(rt, make_user)
    await ask(u, "12 weeks", family="王小明")
    [req] = await rt.stores.medicines.refills_of(rid)
    assert (req.weeks, str(req.pickup), req.family_name) == (12, "family", "王小明")
    await doctor.text("/doctor")
    await doctor.press("Refills")
    assert "picked up by 王小明" in doctor.texts()
    await doctor.press("Decline")
    await doctor.press("stable condition")
    assert "Declined: A long prescription is only for a stable condition" in doctor.texts()
    assert "The message to them is on its way now." in doctor.texts()
    [done] = await rt.stores.medicines.refills_of(rid)
    assert (done.status, done.reason) == (RefillStatus.DECLINED, "not_stable")
    await rt.delivery.dispatcher.drain()
    notice = sender.to("1001")[-1]
    assert "was declined" in notice.text and "only for a stable condition" in notice.text
    # The next step, with the button that takes it (a visit: the doctor must see them).
    assert "You can book a visit with your family doctor here." in notice.text
    assert any(b.data == "v1:book:new:chronic" for b in notice.all_buttons())
    await u.press_data("v1:refill:new")
    assert "declined: A long prescription is only for a stable condition" in u.texts()
    # A second request; the doctor asks the resident to come in.
    await ask(u)
    await doctor.press_data("v1:refills:list")
    await doctor.press("Ask to come in")
    assert "You asked the resident to come in." in doctor.texts()
    assert "The message to them is on its way now." in doctor.texts()
    latest = (await rt.stores.medicines.refills_of(rid))[0]
    assert latest.status is RefillStatus.COME_IN
    await rt.delivery.dispatcher.drain()
    notice = sender.to("1001")[-1]
    assert "asks you to come in" in notice.text
    assert any(b.data == "v1:book:new:chronic" for b in notice.all_buttons())


async def test_only_called_sent_when_the_team_can_see_it(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    u, rid = await resident_with_medicines(rt, make_user)  # no doctor has linked an account
    await ask(u)
    assert "Sent to" not in u.texts()
    assert "does not read requests on Doorstep yet" in u.texts()
    assert len(await rt.stores.medicines.refills_of(rid)) == 1
    # Not signed at all: no request is stored.
    other = make_user("1002")
    await other.onboard()
    svc = rt.services.medicines

    loaded = await rt.stores.residents.load("test", "1002")
    assert loaded is not None
    await svc.add(loaded[0].id, new_entry("Aspirin", svc.today()))
    await other.press_data("v1:refill:new")
    assert "sign with a family doctor first" in other.texts()
    assert await rt.stores.medicines.refills_of(loaded[0].id) == []


async def test_another_team_cannot_decide(rt: Runtime, make_user: Callable[..., ChatUser]) -> None:
    await load_district(rt)
    await linked_doctor(rt, make_user)
    stranger = await linked_doctor(rt, make_user, CHEN, user_id="9002")
    u, rid = await resident_with_medicines(rt, make_user)
    await ask(u)
    [req] = await rt.stores.medicines.refills_of(rid)
    await stranger.text("/doctor")
    assert "Refills (0)" in " ".join(stranger.labels())
    await stranger.press_data(f"v1:refills:in:{req.id}")
    assert "out of date" in stranger.texts()
    [same] = await rt.stores.medicines.refills_of(rid)
    assert same.status is RefillStatus.REQUESTED


async def test_flags_list_missed_doses_and_card_shows_medicines(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    _, rid = await resident_with_medicines(rt, make_user)
    _, rid2 = await resident_with_medicines(rt, make_user, "1003")
    svc = rt.services.medicines
    start = clock()
    for i in range(1, 4):  # three mornings of doses, two medicines each
        clock.set(start + timedelta(days=i, hours=-3))  # 07:00 local: plan the day
        await svc.plan_day(svc.today())
        clock.set(start + timedelta(days=i, hours=-2, minutes=5))
        if i < 3:
            await svc.answer(rid2, int((start + timedelta(days=i, hours=-2)).timestamp()), True)
    clock.set(start + timedelta(days=3, hours=2))  # 12:00 on day 3: unanswered ones are missed
    assert (await svc.not_taken([rid]))[rid] == 6
    assert (await svc.not_taken([rid2]))[rid2] == 2
    await doctor.text("/doctor")
    await doctor.press("Flags")
    assert "Missed medicine doses (3 or more in 7 days)" in doctor.texts()
    assert "Resident 1001: 6 missed" in doctor.texts()
    assert "Resident 1003" not in doctor.texts()
    await doctor.press("Card 💊1")
    assert "Amlodipine — 1 tablet" in doctor.texts()
    assert "Last 7 days: 0 taken, 6 missed or skipped" in doctor.texts()


async def test_decision_in_quiet_hours_says_when_the_message_goes_out(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock, sender: RecordingSender
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u, rid = await resident_with_medicines(rt, make_user)
    await ask(u)
    [req] = await rt.stores.medicines.refills_of(rid)
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai: quiet hours
    await doctor.text("/doctor")
    await doctor.press("Refills")
    await doctor.press("Ask to come in")
    row = await rt.stores.outbox.by_dedupe(notice_key(req.id, RefillStatus.COME_IN))
    assert row is not None and row.status == "pending"
    at = await rt.services.send_times.of_row(row)
    assert at is not None and at.astimezone(rt.settings.tz).hour == 8
    en = rt.catalogs.get("en")
    assert f"the message goes out {en.weekday_datetime(at)}" in doctor.texts()
    assert "on its way now" not in doctor.texts()
    # It goes out at the end of quiet hours, not before.
    await rt.delivery.dispatcher.drain()
    assert not any("asks you to come in" in r.text for r in sender.to("1001") if r.text)
    clock.set(datetime(2026, 11, 25, 0, 30, tzinfo=UTC))  # 08:30
    await rt.delivery.dispatcher.drain()
    assert any("asks you to come in" in r.text for r in sender.to("1001") if r.text)


async def test_ready_days_are_only_days_the_station_is_open(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u, rid = await resident_with_medicines(rt, make_user)
    await ask(u)
    [req] = await rt.stores.medicines.refills_of(rid)
    station = await rt.services.refills.station(req.station_id)
    assert station is not None and station.hours == "Mon-Sat 08:00-11:00"
    # Friday 17:00 in Shanghai: closed for the rest of today, open Saturday, closed Sunday.
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    await doctor.text("/doctor")
    await doctor.press("Refills")
    await doctor.press("Approve")
    await doctor.press("⭐")
    en = rt.catalogs.get("en")
    labels = doctor.labels()
    friday = date(2026, 11, 27)
    offered = {
        d for d in (friday + timedelta(days=i) for i in range(8)) if en.weekday_date(d) in labels
    }
    # The next 5 open days, none skipped (Fri 4 Dec would be the sixth).
    assert offered == {
        date(2026, 11, 28),
        date(2026, 11, 30),
        date(2026, 12, 1),
        date(2026, 12, 2),
        date(2026, 12, 3),
    }
    # A hand-made button for the Sunday is refused and nothing is decided.
    key = short_key(station.id)
    await doctor.press_data(f"v1:refills:day:{req.id}:{key}:2")
    assert "out of date" in doctor.texts()
    [same] = await rt.stores.medicines.refills_of(rid)
    assert same.status is RefillStatus.REQUESTED
    await doctor.press_data("v1:refills:list")
    await doctor.press("Approve")
    await doctor.press("⭐")
    await doctor.press(en.weekday_date(date(2026, 11, 30)))
    [done] = await rt.stores.medicines.refills_of(rid)
    assert (done.status, done.ready_on) == (RefillStatus.APPROVED, date(2026, 11, 30))


async def test_the_refill_screen_in_chinese_uses_full_width_punctuation(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u, _ = await resident_with_medicines(rt, make_user)
    await ask(u, family="王小明")
    await doctor.text("/lang zh")
    await doctor.text("/doctor")
    await doctor.press_data("v1:refills:list")
    [line] = [x for x in doctor.texts().splitlines() if "王小明" in x]
    assert "，" in line and ", " not in line, line


async def test_refill_names_medicines_and_team_in_each_readers_language(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    """Finding: the English confirmation named the team and the medicine in Chinese (the
    stored zh names). Each reader sees the names of their language, from bot.names."""
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    svc = rt.services.medicines
    m = svc.catalog.get("amlodipine")
    assert m is not None
    entry = NewEntry(
        m.id, m.name_zh, m.name_en, m.ingredient_zh, "5 mg", "1", "tablet", ("08:00",),
        Meals.AFTER, svc.today(), None,
    )  # fmt: skip
    en_rid = await signed_resident(rt, "1001", WANG, community="东林居委")
    zh_rid = await signed_resident(rt, "1002", WANG, community="东林居委")
    en, zh = make_user("1001"), make_user("1002", "zh")
    await en.onboard()
    await zh.onboard("中文")
    for rid in (en_rid, zh_rid):
        await svc.add(rid, entry)
    await en.press_data("v1:refill:new")
    await en.press("Next")
    await en.press("4 weeks")
    await en.press("📍")
    await en.press("Send")
    shown = en.all_replies()[-1].text
    assert "Zhujing Family Doctor Team 1" in shown
    assert "Amlodipine besylate tablets 5 mg" in shown
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in shown), shown
    [req] = await rt.stores.medicines.refills_of(en_rid)
    assert req.names == ("苯磺酸氨氯地平片 5 mg",)
    assert req.names_en == ("Amlodipine besylate tablets 5 mg",)
    await zh.press_data("v1:refill:new")
    await zh.press("下一步")
    await zh.press("4 周")
    await zh.press("📍")
    await zh.press("发送")
    shown = zh.all_replies()[-1].text
    assert "朱泾家庭医生一团队" in shown and "苯磺酸氨氯地平片 5 mg" in shown
    assert "Amlodipine" not in shown and "Team 1" not in shown
    # The decision the English reader is sent names the medicine in English too.
    await doctor.text("/doctor")
    await doctor.press("Refills")
    await doctor.press("Decline")
    await doctor.press_data(next(b.data for b in doctor.all_replies()[-1].all_buttons()))
    await rt.delivery.dispatcher.drain()
    told = " ".join(r.text for r in sender.to("1001"))
    assert "Amlodipine besylate tablets 5 mg" in told and "苯磺酸" not in told


async def test_the_doctor_sees_two_medicines_with_one_active_ingredient(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """Audit (session 4): the resident's screens warned of a shared active ingredient, the
    refill card the doctor approves from did not."""
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u, rid = await resident_with_medicines(rt, make_user)
    svc = rt.services.medicines
    for name in ("Nifedipine", "Nifedipine SR"):
        await svc.add(
            rid,
            NewEntry(
                None,
                name,
                name,
                "硝苯地平",
                "",
                "1",
                "tablet",
                ("08:00",),
                Meals.AFTER,
                svc.today(),
                None,
            ),
        )
    await ask(u)
    await doctor.text("/doctor")
    await doctor.press("Refills")
    assert "⚠️ Same active ingredient: Nifedipine and Nifedipine SR." in doctor.texts()
    # Not for a resident whose list has no shared ingredient.
    await rt.db.execute("DELETE FROM med_entries WHERE name LIKE 'Nifedipine%'")
    await doctor.press_data("v1:refills:list")
    assert "Same active ingredient" not in doctor.texts()
