"""Issue 15/17 audit of what the bot replies to health values typed in a message: judged by the
clinical engine like an entered reading, never assumed fasting, never silent, a conscious low
sugar treated first, and a closed centre's next opening instead of "go to the emergency
department" when "today" can wait until then. Checked against the database: nothing typed is
saved, and no flag row is written for a reply that is not the ambulance."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.domain.clinical import Person
from bot.runtime import Runtime
from bot.services import clinical_engine as engine
from bot.services.clinical_reply import reading_lines
from bot.services.reading_view import bp_text
from bot.services.readings import check_bp
from tests.conftest import Clock
from tests.doctor_fixtures import load_district
from tests.harness import ChatUser
from tests.test_clinical_journeys import readings, rid


async def nothing_stored(u: ChatUser) -> None:
    assert await readings(u) == []
    assert await u.rt.db.fetchall("SELECT id FROM redflag_events", ()) == []


async def test_a_value_whose_verdict_depends_on_the_timing_is_asked_never_assumed(
    user: ChatUser,
) -> None:
    await user.text("my sugar is 6.5")  # no diabetes: impaired fasting, normal after a meal
    text = user.texts()
    assert "depends on when you measured it" in text
    assert "normal fasting" not in text and "impaired" not in text
    assert {"🌅 Fasting (before eating)", "🍽 2 hours after a meal"} <= set(user.labels())
    await user.press("🌅 Fasting")
    text = user.texts()
    assert "6.5 mmol/L (fasting)" in text and "impaired fasting glucose" in text
    assert "not saved" in text
    await nothing_stored(user)
    await user.text("血糖6.5")
    await user.press("2 hours after a meal")
    text = user.texts()
    assert "6.5 mmol/L (2 h after a meal)" in text and "normal value after a meal" in text
    assert "impaired" not in text
    await nothing_stored(user)


async def test_the_timing_in_the_words_is_used_and_a_shared_verdict_says_both(
    user: ChatUser,
) -> None:
    await user.text("my fasting sugar is 6.5")
    assert "impaired fasting glucose" in user.texts() and "When was it?" not in user.texts()
    await user.text("血糖5.5")  # normal either way: answered at once, for both timings
    text = user.texts()
    assert "on target" in text and "When was it?" not in text
    assert "normal fasting value" in text and "normal value after a meal" in text
    await nothing_stored(user)


async def test_a_conscious_low_sugar_is_treated_first_not_sent_to_120(user: ChatUser) -> None:
    await user.text("my sugar is 2.5 and I am shaking")
    text = user.texts()
    assert not text.startswith("🚑") and "Call 120 now" not in text
    assert "treat it first" in text and "15–20 g of fast sugar" in text
    assert "Measure again in 15 minutes" in text
    # 120 only as the rules' condition: drowsy, confused or unable to swallow.
    [cond] = [ln for ln in text.splitlines() if "120" in ln]
    assert cond.startswith("If the person is drowsy, confused or cannot swallow")
    await nothing_stored(user)
    await user.text("血糖只有2.5了")  # the held-out phrase: the same reply, not silence
    assert "treat it first" in user.texts()


async def test_a_low_sugar_with_drowsiness_or_confusion_is_call_120(user: ChatUser) -> None:
    await user.text("sugar 2.5 and she is confused")
    assert user.texts().startswith("🚑 Call 120 now")


async def test_a_typed_low_sugar_is_answered_in_the_middle_of_a_flow_which_goes_on(
    user: ChatUser,
) -> None:
    await user.text("/bp")
    await user.text("my sugar is 2.5")
    assert "treat it first" in user.texts()
    await user.text("135/85")  # the blood-pressure flow was kept
    assert "Saved: 135/85 mmHg" in user.texts()


async def test_typed_blood_pressure_is_judged_as_a_home_reading(user: ChatUser) -> None:
    await user.text("我的血压160/100")
    typed = [r.text for r in user.all_replies()]
    d = engine.decide(
        user.rt.services.clinical.content,
        "blood_pressure",
        {"systolic": Decimal(160), "diastolic": Decimal(100)},
        "home",
        Person(),
    )
    want = reading_lines(
        user.rt.catalogs.get("en").gettext,
        user.rt.services.clinical.content,
        d,
        bp_text(user.rt.catalogs.get("en"), 160, 100),
        saved=False,
    )
    assert typed[0] == "\n".join(want)
    assert "not saved" in typed[-1]
    assert await readings(user) == []
    # The same decision as the reading entered with /bp: the lines after the headline match.
    await user.text("/bp 160/100")
    saved = user.all_replies()[0].text.splitlines()
    assert saved[1:] == want[1:]
    [r] = await readings(user)
    assert r.action == d.action.value
    assert user.rt.services.clinical.judge(check_bp(160, 100), Person(), "home").action is d.action


async def test_a_closed_centre_that_opens_later_today_is_where_to_go(
    user: ChatUser, rt: Runtime, clock: Clock
) -> None:
    """Finding 4: at 07:00 (the centre opens at 08:00) "today" can wait: no emergency
    department; at 22:00 it opens only tomorrow, so the emergency department."""
    await load_district(rt)
    await rt.services.directory.set_home(await rid(user), "朱泾", "东林居委")
    clock.set(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # Tue 24 Nov, 07:00 in Shanghai
    await user.text("/bp 185/100")
    text = user.texts()
    assert "(closed now)" in text and "It opens again today at 08:00" in text
    assert "emergency department" not in text
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 22:00
    await user.text("/bp 185/100")
    text = user.texts()
    assert "It opens again on Wed 25 Nov, 08:00" in text
    assert "should not wait until then" in text and "emergency department" in text


def test_next_opening_comes_from_the_centres_hours() -> None:
    from zoneinfo import ZoneInfo

    from bot.services.hours import next_opening, parse_hours

    tz = ZoneInfo("Asia/Shanghai")
    hours = parse_hours("Mon-Fri 08:00-16:30; Sat 08:00-11:30")
    tue_7 = datetime(2026, 11, 24, 7, 0, tzinfo=tz)
    assert next_opening(hours, tue_7) == tue_7.replace(hour=8)
    assert next_opening(hours, tue_7.replace(hour=10)) == tue_7.replace(hour=10)  # open now
    assert next_opening(hours, tue_7.replace(hour=16, minute=30)) == datetime(
        2026, 11, 25, 8, 0, tzinfo=tz
    )
    sat_noon = datetime(2026, 11, 28, 12, 0, tzinfo=tz)
    assert next_opening(hours, sat_noon) == datetime(2026, 11, 30, 8, 0, tzinfo=tz)  # Monday
    assert next_opening(parse_hours(""), sat_noon) is None
