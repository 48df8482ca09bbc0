"""Issue 15 through the chat: each reply fits the reading's type, direction and the person,
and every claim in it ("flagged for your doctor", "I will remind you") is checked against the
rows actually written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bot.domain.health import NewReading
from bot.runtime import Runtime
from bot.services.followup import NOTIFICATION_KIND, Reason
from handlers.resident.health import render_followup
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, linked_doctor, load_district
from tests.harness import ChatUser


async def rid(u: ChatUser) -> int:
    loaded = await u.rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def readings(u: ChatUser) -> list:
    return await u.rt.services.health.readings(await rid(u))


async def flags(u: ChatUser) -> list:
    return await u.rt.services.health.flags_for([await rid(u)])


async def glucose(u: ChatUser, when: str, value: str) -> None:
    await u.text("/health")
    await u.press("Log glucose")
    await u.press(when)
    await u.text(value)


async def sign(rt: Runtime, resident_id: int, doctor_id: str = WANG) -> None:
    directory = rt.services.directory
    await directory.set_home(resident_id, "朱泾", "东林居委")
    req = await directory.request_signing(resident_id, doctor_id, "Li Hua", "13800000000")
    assert await directory.decide(req.id, doctor_id, True) is not None


# -- glucose -----------------------------------------------------------------------------------
async def test_low_glucose_is_treated_first_not_given_the_bp_symptoms(user: ChatUser) -> None:
    await user.rt.services.health.set_condition(await rid(user), "diabetes2")
    await glucose(user, "Fasting", "3.2")
    text = user.texts()
    assert "3.2 mmol/L (fasting): please see a doctor today" in text
    assert "take 15–20 g of fast sugar" in text and "Measure again in 15 minutes" in text
    assert "give nothing by mouth and call 120" in text
    assert "chest pain" not in text and "face drooping" not in text
    [r] = await readings(user)
    assert (r.context, r.action, r.direction, r.danger) == ("fasting", "come_today", "low", True)
    # Not signed with any doctor: the flag row exists, but no one is said to have been told.
    assert len(await flags(user)) == 1
    assert "No family doctor sees your readings on Doorstep yet" in text
    assert "I have flagged" not in text


async def test_glucose_targets_depend_on_diabetes_and_the_meal(user: ChatUser) -> None:
    health = user.rt.services.health
    await glucose(user, "Fasting", "3.9")  # normal without diabetes: no danger sign
    assert "normal fasting value" in user.texts() and "🚨" not in user.texts()
    await glucose(user, "Fasting", "6.5")  # impaired fasting glucose is not praised
    assert "impaired fasting glucose" in user.texts() and "Well done" not in user.texts()
    await health.set_condition(await rid(user), "diabetes2")
    await glucose(user, "Fasting", "4.2")  # below the 4.4 target for a diabetic
    assert "below your target" in user.texts() and "Well done" not in user.texts()
    before = [d.reason for d in await health.due(await rid(user))].count(Reason.RECHECK)
    await glucose(user, "2 hours after a meal", "8.5")  # non-fasting target < 10.0
    assert "within the target after a meal" in user.texts()
    assert "8.5 mmol/L (2 h after a meal)" in user.texts()
    stored = await readings(user)
    assert [(r.context, r.controlled) for r in stored][-1] == ("after_meal", True)
    assert before == 1  # the 4.2 started a recheck; 8.5 after a meal did not add one


async def test_recheck_after_a_low_reading_is_labelled_low(user: ChatUser, rt: Runtime) -> None:
    resident = await rid(user)
    await rt.services.health.set_condition(resident, "diabetes2")
    await glucose(user, "Fasting", "4.1")
    assert "I will remind you" in user.texts()
    rows = await rt.stores.outbox.for_resident(resident, NOTIFICATION_KIND)
    recheck = [r for r in rows if r.params["reason"] == "recheck"]
    assert recheck and all(r.params["why"] == "low" for r in recheck)
    t = rt.catalogs.get("en")
    resident_row = (await rt.stores.residents.load(user.channel, user.user_id))[0]  # type: ignore[index]
    [reply] = await render_followup(rt, t, resident_row, recheck[0])
    assert "Recheck after a low reading" in (reply.text or "")
    assert "high" not in (reply.text or "")


async def test_meter_hi_is_an_emergency_and_stays_hi(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log glucose")
    await user.press("Fasting")
    await user.press("Meter shows HI")
    text = user.texts()
    assert "HI (fasting): this is an emergency" in text and "Call 120 now" in text
    assert text.index("Call 120 now") < text.index("📞") if "📞" in text else True
    [r] = await readings(user)
    assert (r.meter_display, r.action) == ("HI", "call_120")
    assert len(await flags(user)) == 1
    await user.text("/readings")
    assert "HI (fasting)" in user.texts() and "35" not in user.texts()


async def test_out_of_range_values_say_120_if_the_meter_really_shows_it(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Log glucose")
    await user.press("Fasting")
    await user.text("40")
    assert "must be between 1.0 and 35.0" in user.texts()
    assert "If the meter really shows this, call 120 now." in user.texts()
    await user.text("/bp 270/100")
    assert "between 60 and 260" in user.texts() and "call 120" in user.texts()
    assert await readings(user) == []


# -- blood pressure ----------------------------------------------------------------------------
async def test_home_readings_use_the_home_target(user: ChatUser) -> None:
    await user.text("/bp 138/87")
    assert "above the home target (below 135/85 mmHg)" in user.texts()
    assert "Well done" not in user.texts()


async def test_very_low_blood_pressure_is_never_praised(user: ChatUser) -> None:
    for value in ("80/50", "60/35"):
        await user.text(f"/bp {value}")
        text = user.texts()
        assert f"{value} mmHg: please see a doctor today" in text and "Well done" not in text
        assert "Call 120 at once if you are confused" in text
    assert [r.action for r in await readings(user)] == ["come_today", "come_today"]
    assert len(await flags(user)) == 2


async def test_65_and_over_are_judged_against_150_90(user: ChatUser) -> None:
    await user.rt.services.health.set_birth_year(await rid(user), 1955)
    await user.text("/bp 145/88")
    assert "target for people aged 65 and over" in user.texts() and "Well done" in user.texts()
    await user.text("/bp 152/88")
    assert "above the target for people aged 65 and over" in user.texts()


async def test_pregnancy_makes_raised_pressure_urgent(user: ChatUser) -> None:
    await user.text("/health")
    await user.press("Pregnancy")
    await user.press("I am pregnant")
    assert "Pregnancy: pregnant" in user.texts()
    await user.text("/bp 150/100")
    text = user.texts()
    assert "150/100 mmHg: please see a doctor today" in text
    assert "during pregnancy or breastfeeding must be checked by a doctor" in text
    assert "measure again on another day" not in text
    [r] = await readings(user)
    assert (r.action, r.danger) == ("come_today", True) and len(await flags(user)) == 1


async def test_fast_pulse_with_diabetes_needs_a_doctor_today(user: ChatUser) -> None:
    await user.rt.services.health.set_condition(await rid(user), "diabetes2")
    await user.text("/bp 128/78 112")
    assert "pulse is above 100 at rest" in user.texts()
    assert "with diabetes, a fast pulse needs a doctor" in user.texts()
    assert "pulse 112/min (128/78 mmHg): please see a doctor today" in user.texts()
    [r] = await readings(user)
    assert (r.pulse, r.action) == (112, "come_today")


async def test_at_night_the_centre_is_closed_so_the_emergency_department(
    user: ChatUser, rt: Runtime, clock: Clock
) -> None:
    await load_district(rt)
    await rt.services.directory.set_home(await rid(user), "朱泾", "东林居委")
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    await user.text("/bp 185/100")
    text = user.texts()
    assert (
        "(closed now)" in text and "to see a doctor today, go to the emergency department" in text
    )
    clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # 10:00, open
    await user.text("/bp 185/100")
    assert "(open now)" in user.texts() and "emergency department" not in user.texts()


async def test_flagged_is_said_only_when_a_doctor_sees_it(
    user: ChatUser, rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    resident = await rid(user)
    await sign(rt, resident)
    await user.text("/bp 185/115")
    assert "No family doctor sees your readings on Doorstep yet" in user.texts()
    doctor = await linked_doctor(rt, make_user)
    await user.text("/bp 186/116")
    assert "I have flagged this reading for your family doctor" in user.texts()
    # ... and the doctor does see it.
    await doctor.press("Flags")
    assert "186/116" in doctor.texts()


# -- side effects and the follow-up rhythm -------------------------------------------------------
async def test_side_effect_names_the_120_signs_and_not_to_stop(user: ChatUser, rt: Runtime) -> None:
    resident = await rid(user)
    await rt.services.health.set_condition(resident, "hypertension")
    await user.text("/health")
    await user.press("Record a visit")
    await user.press("My medicine gives me side effects")
    await user.press("Today")
    text = user.texts()
    assert "swelling of the lips, tongue or throat" in text and "trouble breathing" in text
    assert "Do not stop or change your medicine on your own" in text
    assert "within 2 weeks" in text and "I will remind you" in text
    rows = await rt.stores.outbox.for_resident(resident, NOTIFICATION_KIND)
    assert any(r.params.get("why") == "side_effect" for r in rows)


async def test_two_uncontrolled_follow_ups_in_a_row_advise_a_referral(
    user: ChatUser, rt: Runtime, clock: Clock
) -> None:
    resident = await rid(user)
    health = rt.services.health
    store = rt.stores.health
    await health.set_condition(resident, "hypertension")
    today = health.today()
    for days_ago in (40, 10):
        day = today - timedelta(days=days_ago)
        taken = datetime.combine(day, datetime.min.time(), rt.settings.tz) + timedelta(hours=8)
        await store.add_reading(
            resident, NewReading("bp", taken, False, False, systolic=150, diastolic=95)
        )
        await health.record_event(resident, "followup", day)
    dues = {d.reason: d for d in await health.due(resident)}
    assert Reason.REFER_ADVISED in dues
    assert dues[Reason.REFER_ADVISED].due == today - timedelta(days=10) + timedelta(days=14)
    await health.record_event(resident, "referral", today)
    assert Reason.REFER_ADVISED not in {d.reason for d in await health.due(resident)}


# -- HPV on the child's card ---------------------------------------------------------------------
async def test_hpv_asks_girl_or_boy_then_plans_it(
    user: ChatUser, rt: Runtime, clock: Clock
) -> None:
    svc = rt.services.children
    child = await svc.add(await rid(user), "Mei", date(2013, 3, 1))
    await user.text("/vaccines")
    await user.press("Mei")
    assert "Is Mei a girl or a boy?" in user.texts()
    await user.press("Girl")
    assert "Is Mei a girl or a boy?" not in user.texts()
    record = await svc.mine(await rid(user), child.id)
    assert record is not None and record.child.sex == "female"
    hpv = svc.plan(record).get("HPV-1")
    assert hpv is not None and str(hpv.status) == "due"
    assert "(HPV-1)" in user.texts()  # on the card, due now
    # ... and in her reminders (outbox rows written when the sex was saved).
    rows = await rt.stores.outbox.for_resident(await rid(user), "vaccine")
    assert any("HPV-1" in str(r.params.get("doses")) for r in rows)
    # A boy of the same age gets no HPV.
    boy = await svc.add(await rid(user), "Lei", date(2013, 3, 1))
    await user.text("/vaccines")
    await user.press("Lei")
    await user.press("Boy")
    boy_record = await svc.mine(await rid(user), boy.id)
    assert boy_record is not None
    assert str(svc.plan(boy_record).get("HPV-1").reason) == "not_in_cohort"  # type: ignore[union-attr]


async def test_elder_mode_glucose_by_buttons_keeps_the_meal_and_the_meter(user: ChatUser) -> None:
    await user.text("/settings")
    await user.press("Elder mode: turn on")
    await user.press("Yes")
    await user.text("/health")
    await user.press("Log glucose")
    assert {"⬅️ Back", "🏠 Home"} <= set(user.labels())
    await user.press("2 hours after a meal")
    await user.press("Meter shows LO")
    assert "Save this reading? LO (2 h after a meal)" in user.texts()
    await user.press("Save")
    assert "LO (2 h after a meal): this is an emergency" in user.texts()
    [r] = await readings(user)
    assert (r.context, r.meter_display, r.action) == ("after_meal", "LO", "call_120")


async def test_a_follow_up_counts_the_readings_of_its_14_days_only(
    rt: Runtime, user: ChatUser
) -> None:
    resident = await rid(user)
    health = rt.services.health
    store = rt.stores.health
    await health.set_condition(resident, "hypertension")
    visit = health.today() - timedelta(days=1)
    midnight = datetime.combine(visit, datetime.min.time(), rt.settings.tz)

    async def reading(at: datetime, controlled: bool) -> None:
        sys_ = 120 if controlled else 150
        await store.add_reading(
            resident, NewReading("bp", at, controlled, False, systolic=sys_, diastolic=80)
        )

    await reading(midnight - timedelta(days=14, seconds=1), False)  # a second too early
    await health.record_event(resident, "followup", visit)
    [facts] = await store.facts([resident], rt.settings.tz)
    assert facts.followups == ((visit, False),)
    await reading(midnight - timedelta(days=14), False)  # the window's first second
    [facts] = await store.facts([resident], rt.settings.tz)
    assert facts.followups == ((visit, True),)
    await reading(midnight + timedelta(hours=23, minutes=59), True)  # later that day: controlled
    [facts] = await store.facts([resident], rt.settings.tz)
    assert facts.followups == ((visit, False),)
    await reading(midnight + timedelta(days=1), False)  # the next day belongs to no visit
    [facts] = await store.facts([resident], rt.settings.tz)
    assert facts.followups == ((visit, False),)
