"""My health through the chat harness: logging readings with buttons or typed, the urgent
answer to a danger sign, conditions, birth year, My readings, and follow-up reminders as
outbox rows."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.callbacks import cb
from bot.domain.directory import Doctor, Station
from bot.runtime import Runtime
from bot.services.followup import NOTIFICATION_KIND
from handlers.resident.health import render_followup
from tests.harness import ChatUser


async def rid(u: ChatUser) -> int:
    loaded = await u.rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def tap(u: ChatUser, *keys: str) -> None:
    """Tap keypad keys by their exact labels (digits, ⌫, ✅)."""
    for key in keys:
        for label in key if key.isdigit() else (key,):
            labels = u.labels()
            assert label in labels, f"{label!r} not in {labels}"
            await u.press_data(
                next(b.data for r in u.all_replies() for b in r.all_buttons() if b.label == label)
            )


async def readings(u: ChatUser) -> list:
    return await u.rt.services.health.readings(await rid(u))


async def pending_followups(rt: Runtime, resident_id: int) -> list[tuple[str, str]]:
    rows = await rt.stores.outbox.for_resident(resident_id, NOTIFICATION_KIND)
    return sorted((r.dedupe_key, r.status) for r in rows)


async def test_log_blood_pressure_with_buttons_only(user: ChatUser) -> None:
    await user.text("/health")
    assert "My health" in user.texts()
    await user.press("Log blood pressure")
    await user.press("Exact numbers (keypad)")
    assert "Step 1 of 3" in user.texts()
    await tap(user, "134", "✅")
    assert "Step 2 of 3" in user.texts() and "134" in user.texts()
    await tap(user, "8", "6", "⌫", "4", "✅")
    assert "Step 3 of 3" in user.texts()
    await user.press("Skip")
    assert "Saved: 134/84 mmHg" in user.texts()
    # A home reading is judged against the home target, below 135/85 (中国高血压防治指南 2018).
    assert "within the home target" in user.texts()
    saved = await readings(user)
    assert [(r.systolic, r.diastolic, r.pulse, r.controlled, r.danger) for r in saved] == [
        (134, 84, None, True, False)
    ]


async def test_pulse_from_the_keypad(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.press("Exact numbers (keypad)")
    await tap(user, "128", "✅", "78", "✅", "72", "✅")
    assert "128/78 mmHg, pulse 72" in user.texts()
    assert [(r.systolic, r.diastolic, r.pulse) for r in await readings(user)] == [(128, 78, 72)]


async def test_typed_blood_pressure(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.text("135/85")
    assert "Saved: 135/85 mmHg" in user.texts()
    assert len(await readings(user)) == 1


async def test_typed_glucose(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log glucose")
    await user.press("Fasting")
    await user.text("6.1")
    assert "Saved: 6.1 mmol/L" in user.texts()
    assert [(r.kind, r.glucose) for r in await readings(user)] == [("glucose", 6.1)]


async def test_glucose_with_the_keypad(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log glucose")
    await user.press("Fasting")
    await tap(user, "6")
    await user.press("decimal point")
    await tap(user, "1", "✅")
    assert "Saved: 6.1 mmol/L" in user.texts()


async def test_invalid_typed_values_keep_the_state_for_a_retry(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.text("400/20")
    assert "between 60 and 260" in user.texts()
    await user.text("85/135")
    assert "must be smaller than the upper number" in user.texts()
    await user.text("hello")
    assert "numbers only" in user.texts()
    assert await readings(user) == []
    await user.text("135/85")
    assert "Saved: 135/85 mmHg" in user.texts()


async def test_invalid_keypad_values_are_corrected_in_place(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.press("Exact numbers (keypad)")
    await tap(user, "300", "✅")
    assert "between 60 and 260" in user.texts() and "Step 1 of 3" in user.texts()
    await tap(user, "120", "✅", "130", "✅")
    assert "must be smaller" in user.texts() and "Step 2 of 3" in user.texts()
    await tap(user, "80", "✅")
    assert "Step 3 of 3" in user.texts()
    assert await readings(user) == []


async def test_keypad_of_a_finished_reading_is_out_of_date(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.text("135/85")
    await user.press_data(cb("reading", "k", "5"))
    assert "out of date" in user.texts()
    assert len(await readings(user)) == 1


async def add_directory(rt: Runtime) -> None:
    store = rt.stores.directory

    def centre(sid: str, name: str, phone: str, lat: float) -> Station:
        return Station(
            sid, "centre", name, "", "金山区", "朱泾镇", "", "", lat, 121.16, phone, "", ""
        )

    await store.apply_stations(
        [
            centre("C01", "金山区主中心", "021-1111", 30.74),
            centre("C02", "朱泾社区卫生服务中心", "021-2222", 30.90),
        ],
        [],
    )
    await store.apply_doctors(
        [Doctor("D1", "王医生", "Dr Wang", "Team 1", "C02", "", "", "东林村", "")],
        [],
        [("D1", "朱泾镇", "东林村")],
    )


async def test_danger_reading_gets_the_urgent_message_and_a_flag(user: ChatUser) -> None:
    await add_directory(user.rt)
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.text("185/95")
    text = user.texts()
    assert "185/95 mmHg: please see a doctor today" in text
    # No home and no team: the district's main centre; the conditional 120 signs come last.
    assert "021-1111" in text and text.index("021-1111") < text.index("Call 120 at once if")
    flags = await user.rt.services.health.flags_for([await rid(user)])
    assert len(flags) == 1
    assert flags[0].reading is not None and flags[0].reading.systolic == 185


async def test_urgent_message_names_the_residents_own_team_centre(user: ChatUser) -> None:
    await add_directory(user.rt)
    await user.rt.stores.directory.set_home(await rid(user), "朱泾镇", "东林村", user.rt.now())
    await user.text("/health")
    await user.press("Log glucose")
    await user.press("Fasting")
    await user.text("17.0")
    assert "please see a doctor today" in user.texts() and "021-2222" in user.texts()


async def test_danger_without_any_directory_still_says_120(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log glucose")
    await user.press("Fasting")
    await user.text("16.7")
    assert "please see a doctor today" in user.texts() and "Call 120 at once if" in user.texts()
    assert len(await user.rt.services.health.flags_for([await rid(user)])) == 1


async def test_boundary_readings_are_not_flagged(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.text("179/109")
    assert "danger" not in user.texts()
    assert await user.rt.services.health.flags_for([await rid(user)]) == []


async def test_elder_mode_confirms_before_saving_a_reading(user: ChatUser) -> None:
    await user.text("/settings")
    await user.press("Elder mode: turn on")
    await user.press("Yes")
    await user.text("/health")
    await user.press("Log blood pressure")
    await user.text("135/85")
    assert "Save this reading?" in user.texts()
    assert await readings(user) == []
    await user.press("Save")
    assert "Saved: 135/85 mmHg" in user.texts()
    assert len(await readings(user)) == 1


async def test_conditions_toggle_with_confirmation_in_elder_mode(user: ChatUser) -> None:
    health = user.rt.services.health
    await user.text("/settings")
    await user.press("Elder mode: turn on")
    await user.press("Yes")
    await user.text("/health")
    await user.press("My conditions")
    await user.press("Hypertension")
    assert "Record that you have" in user.texts()
    assert not (await health.profile(await rid(user))).conditions
    await user.press("Yes")
    assert (await health.profile(await rid(user))).has("hypertension")
    await user.press("Hypertension")
    await user.press("Yes")
    assert not (await health.profile(await rid(user))).has("hypertension")


async def test_conditions_set_by_a_doctor_are_not_removed_by_the_resident(user: ChatUser) -> None:
    health = user.rt.services.health
    await health.set_condition(await rid(user), "diabetes2", set_by="doctor", doctor_id="D1")
    await user.text("/health")
    await user.press("My conditions")
    await user.press("Type-2 diabetes")
    assert "Your family doctor recorded" in user.texts()
    assert (await health.profile(await rid(user))).has("diabetes2")


async def test_birth_year_by_decade_then_year(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Birth year")
    await user.press("1950–1959")
    await user.press("1958")
    assert await user.rt.services.health.birth_year(await rid(user)) == 1958
    assert "Birth year: 1958" in user.texts()
    # 68 this year: the elderly annual check is planned.
    assert "annual health check" in user.texts()


async def test_a_birth_year_in_the_future_is_refused(user: ChatUser) -> None:
    await user.press_data(cb("health", "bys", 2100))
    assert "out of date" in user.texts()
    assert await user.rt.services.health.birth_year(await rid(user)) is None


async def test_my_readings_text_and_chart(user: ChatUser, clock) -> None:
    await user.text("/readings")
    assert "No readings" in user.texts()
    for i, value in enumerate(("150/95", "135/85")):
        clock.set(datetime(2026, 11, 20 + i, 1, tzinfo=UTC))
        await user.text("/bp " + value)
    clock.set(datetime(2026, 11, 24, 2, tzinfo=UTC))
    await user.text("/readings")
    photos = [r.photo for r in user.all_replies() if r.photo is not None]
    assert len(photos) == 1
    assert photos[0].content.startswith(b"\x89PNG") and photos[0].mime == "image/png"
    assert "150/95 mmHg" in user.texts() and "135/85 mmHg" in user.texts()
    # Newest first.
    assert user.texts().index("135/85") < user.texts().index("150/95")


async def test_uncontrolled_reading_plans_the_two_week_recheck(user: ChatUser) -> None:
    health = user.rt.services.health
    resident = await rid(user)
    await health.set_condition(resident, "hypertension")
    await user.text("/bp 150/95")
    assert "within 2 weeks" in user.texts()
    # Today is Tuesday 24 November: due 8 December, reminded on Monday 7 December.
    assert "8 Dec 2026" in user.texts()
    assert cb("book", "new", "chronic") in [
        b.data for r in user.all_replies() for b in r.all_buttons()
    ]
    keys = dict(await pending_followups(user.rt, resident))
    assert keys[f"fu:{resident}:recheck:2026-12-08:week"] == "pending"


async def test_reminders_are_deduplicated_and_cancelled_when_a_visit_is_recorded(
    user: ChatUser, rt: Runtime
) -> None:
    health = rt.services.health
    resident = await rid(user)
    await health.set_condition(resident, "hypertension")
    first = await pending_followups(rt, resident)
    assert first == [
        # The yearly comprehensive check of every managed patient (规范: 每年1次较全面的健康检查).
        (f"fu:{resident}:comprehensive:2026-12-31:ahead", "pending"),
        (f"fu:{resident}:comprehensive:2026-12-31:week", "pending"),
        (f"fu:{resident}:quarterly:2026-12-31:ahead", "pending"),
        (f"fu:{resident}:quarterly:2026-12-31:week", "pending"),
    ]
    # Re-planning (twice, and by the daily scan) changes nothing.
    await health.replan(resident)
    await health.replan(resident)
    assert await health.replan_all() == (0, 0)
    assert await pending_followups(rt, resident) == first
    # The resident records this quarter's visit: those reminders go, Q1's are planned.
    await user.text("/health")
    await user.press("Record a visit")
    await user.press("I had a follow-up visit")
    await user.press("Today")
    after = dict(await pending_followups(rt, resident))
    assert after[f"fu:{resident}:quarterly:2026-12-31:ahead"] == "cancelled"
    assert after[f"fu:{resident}:quarterly:2026-12-31:week"] == "cancelled"
    assert after[f"fu:{resident}:quarterly:2027-03-31:ahead"] == "pending"
    assert after[f"fu:{resident}:quarterly:2027-03-31:week"] == "pending"


async def test_removing_and_re_adding_a_condition_brings_the_reminders_back(
    user: ChatUser, rt: Runtime
) -> None:
    health = rt.services.health
    resident = await rid(user)
    await health.set_condition(resident, "hypertension")
    await health.remove_condition(resident, "hypertension")
    assert {s for _, s in await pending_followups(rt, resident)} == {"cancelled"}
    await health.set_condition(resident, "hypertension")
    assert {s for _, s in await pending_followups(rt, resident)} == {"pending"}


async def test_daily_scan_plans_the_annual_check_for_65_plus(rt: Runtime, user: ChatUser) -> None:
    health = rt.services.health
    resident = await rid(user)
    await health.store.set_birth_year(resident, 1950, rt.now())  # stored without a re-plan
    assert await pending_followups(rt, resident) == []
    # The registered daily job, run as the scheduler runs it.
    await rt.delivery.jobs.run_now("followup.scan")
    assert [k for k, _ in await pending_followups(rt, resident)] == [
        f"fu:{resident}:annual:2026-12-31:ahead",
        f"fu:{resident}:annual:2026-12-31:week",
    ]
    assert await health.replan_all() == (0, 0)


async def test_reminder_renders_with_a_one_tap_book_button(rt: Runtime, user: ChatUser) -> None:
    health = rt.services.health
    resident = await rid(user)
    await health.set_birth_year(resident, 1950)
    rows = await rt.stores.outbox.for_resident(resident, NOTIFICATION_KIND)
    person = await rt.stores.residents.get(resident)
    assert person is not None
    for locale in ("en", "zh_Hans"):
        replies = await render_followup(rt, rt.catalogs.get(locale), person, rows[0])
        data = [b.data for b in replies[0].all_buttons()]
        assert cb("book", "new", "annual") in data
        assert cb("health", "evk", "annual_check") in data
        assert replies[0].text
    en = await render_followup(rt, rt.catalogs.get("en"), person, rows[0])
    assert "Elderly annual health check" in en[0].text and "31 Dec 2026" in en[0].text


async def test_recording_an_event_in_the_future_is_refused(user: ChatUser) -> None:
    tomorrow = (date(2026, 11, 24) + timedelta(days=1)).strftime("%Y%m%d")
    await user.press_data(cb("health", "evd", "followup", tomorrow))
    assert "out of date" in user.texts()


async def test_health_data_is_exported_and_deleted_with_the_resident(
    user: ChatUser, rt: Runtime
) -> None:
    resident = await rid(user)
    health = rt.services.health
    await health.set_condition(resident, "hypertension")
    await user.text("/bp 185/95")
    exported = await rt.stores.residents.export(resident)
    for table in ("health_conditions", "health_readings", "health_flags"):
        assert exported.get(table), table
    assert await rt.stores.residents.delete(resident)
    assert await health.store.readings(resident, datetime(2000, 1, 1, tzinfo=UTC)) == []
    assert await health.flags_for([resident]) == []


@pytest.mark.parametrize("locale", ["zh_Hans"])
async def test_chinese_resident_sees_chinese(make_user, locale: str) -> None:
    u = make_user("2002", "zh-CN")
    await u.onboard("中文")
    await u.text("/health")
    assert "我的健康" in u.texts()


@pytest.mark.parametrize("typed", ["151", "１５１", "¹⁵¹"])
async def test_typed_upper_number_in_any_digits(user: ChatUser, typed: str) -> None:
    await user.text("/bp")
    await user.text(typed)  # a superscript used to crash int() and log the value
    assert "Step 2 of 3" in user.texts() and "went wrong" not in user.texts()
    await user.text("97")
    await user.text("83")
    assert "Saved: 151/97 mmHg, pulse 83" in user.texts()


async def test_no_reading_value_reaches_the_log(
    user: ChatUser, caplog: pytest.LogCaptureFixture
) -> None:
    """Odd ways of typing a reading each get a friendly answer, and nothing typed is logged."""
    # INFO: the most the bot ever logs (`-v`); aiosqlite's DEBUG lines echo SQL parameters.
    caplog.set_level(logging.INFO)
    odd = ["¹⁵¹", "②", "١٥١", "1e999", "NaN", "∞", "151/⁹⁷ ⁸³", "151" * 400]
    for start, typed in [("/bp", t) for t in odd] + [("/health", t) for t in ("8.3", "⁸·³")]:
        await user.text(start)
        if start == "/health":
            await user.press("Log glucose")
            await user.press("Fasting")
        await user.text(typed)
        assert "went wrong" not in user.texts(), typed
    await user.text("/bp")
    await user.text("151/97 83")
    assert "Saved: 151/97 mmHg, pulse 83" in user.texts()
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    for value in ("151", "97", "83", "8.3", "¹⁵¹", "١٥١"):
        assert value not in logged


# -- gettext and elder mode: lists joined the reader's way; follow-up reminders lead home -------
@pytest.mark.parametrize(
    ("language", "joined"),
    [
        ("English", "Conditions: Type-2 diabetes and Hypertension (high blood pressure)"),
        ("中文", "慢性病：2型糖尿病和高血压"),
    ],
)
async def test_conditions_are_listed_the_readers_way(make_user, language: str, joined: str) -> None:
    u = make_user("2102", "en" if language == "English" else "zh-CN")
    await u.onboard(language)
    health = u.rt.services.health
    await health.set_condition(await rid(u), "hypertension")
    await health.set_condition(await rid(u), "diabetes2")
    await u.text("/health")
    assert joined in u.texts()
    if language == "中文":
        assert ", " not in u.texts()


@pytest.mark.parametrize(("locale", "home"), [("en", "🏠 Home"), ("zh_Hans", "🏠 首页")])
async def test_followup_reminder_offers_home_in_elder_mode(
    rt: Runtime, user: ChatUser, locale: str, home: str
) -> None:
    resident = await rid(user)
    await rt.services.health.set_birth_year(resident, 1950)
    rows = await rt.stores.outbox.for_resident(resident, NOTIFICATION_KIND)
    residents = rt.stores.residents
    person = await residents.get(resident)
    assert person is not None
    t = rt.catalogs.get(locale)
    (normal,) = await render_followup(rt, t, person, rows[0])
    assert home not in [b.label for b in normal.all_buttons()]  # normal mode as before
    await residents.update(person, elder_mode=True)
    elder = await residents.get(resident)
    assert elder is not None
    (reply,) = await render_followup(rt, t, elder, rows[0])
    assert [b.label for b in reply.buttons[-1]] == [home]
    assert reply.buttons[-1][0].data == cb("menu", "home")
    assert [b.data for b in reply.all_buttons()][:-1] == [b.data for b in normal.all_buttons()]
