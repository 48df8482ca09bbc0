"""No stray space between Chinese sentences (or any two Chinese characters or marks).

Chinese runs sentences together ("已停用。已取消提醒。"): a space between them, as English
puts one, is a visible gap. Messages that string sentences together use `t.sentences`; this
walks every screen a Chinese-speaking resident reaches by buttons (the elder-mode crawler, with
medicines, a signed team, a child, a booking and readings on file), plus the medicine reminders
and their answers, and scans every text, button and notice for an ASCII space between two
CJK characters or full-width marks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from bot.callbacks import cb
from bot.core import Outcome
from bot.domain.medicines import Meals, NewEntry
from bot.runtime import Runtime
from bot.services import medicines_view as view
from bot.services.readings import BloodPressure
from handlers.resident import medicines_remind as remind
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, load_district, signed_resident
from tests.harness import ChatUser
from tests.test_elder_crawl import NOT_PRESSED, crawl

CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
# A space between two Chinese characters/marks, or an ASCII comma or semicolon put right
# after a Chinese character ("1 片, 饭后": a separator written outside gettext).
GAP = re.compile(f"[{CJK}] +[{CJK}]|[\u3400-\u9fff][,;]")
# Dates as the one zh formatter writes them ("12月4日 周五"): a format, not a sentence gap.
DATE_GAP = re.compile(r"\d日 周[一二三四五六日]")
# The walk stays in Chinese: the buttons that switch to English are not pressed.
ZH_ONLY = {
    **NOT_PRESSED,
    cb("start", "lang", "en"): "switches the walk to English",
    cb("settings", "setlang", "en"): "asks to switch the walk to English",
    cb("settings", "setlang", "en", "ok"): "switches the walk to English",
}


# A source's title in 《》 is quoted as it was published ("《强基层 筑高地 兜网底 惠民生》").
TITLE = re.compile(r"《[^》]*》")


def stray_gaps(text: str) -> list[str]:
    """Each place in `text` where an ASCII space sits between two Chinese characters/marks."""
    return [m.group() for m in GAP.finditer(TITLE.sub("《》", DATE_GAP.sub("", text)))]


@pytest.mark.parametrize(
    ("text", "gaps"),
    [
        ("⏹ 已停用：氨氯地平。 它的提醒已取消。", ["。 它"]),
        ("已停用。它的提醒已取消。", []),
        ("氨氯地平 5mg", []),
        ("12月4日 周五 10:03", []),
        ("从 2026年11月24日", []),
        ("（3人屏蔽了机器人） 未发送", ["） 未"]),
        ("来源：《强基层 筑高地》第3页", []),
        ("• 氨氯地平片 — 1 片, 饭后", ["片,"]),
        ("• 氨氯地平片 — 1 片 · 饭后", []),
    ],
)
def test_the_check_finds_a_space_between_chinese(text: str, gaps: list[str]) -> None:
    assert stray_gaps(text) == gaps


def test_sentences_join_the_locale_way(rt: Runtime) -> None:
    zh, en = rt.catalogs.get("zh_Hans"), rt.catalogs.get("en")
    assert zh.sentences(["已停用。", "", "已取消。"]) == "已停用。已取消。"
    assert en.sentences(["Stopped.", "", "Cancelled."]) == "Stopped. Cancelled."


def _around(text: str, gap: str) -> str:
    i = text.find(gap)
    return text[max(0, i - 20) : i + 20]


def _scan(found: list[str]) -> Callable[[str, Outcome], None]:
    def observe(pressed: str, outcome: Outcome) -> None:
        for r in outcome.replies:
            texts = [r.text, r.toast or "", *(b.label for b in r.all_buttons())]
            found.extend(
                f"{g!r} in {_around(t, g)!r} (after {pressed})"
                for t in texts
                for g in stray_gaps(t)
            )
        if outcome.toast:
            found.extend(f"{pressed}: {g!r} (notice)" for g in stray_gaps(outcome.toast))

    return observe


def _medicine(name: str, times: tuple[str, ...], meals: Meals, end: date | None) -> NewEntry:
    return NewEntry(
        catalog_id=None,
        name=name,
        name_en=name,
        ingredient="",
        strength="",
        amount="1",
        unit="tablet",
        times=times,
        meals=meals,
        start_on=date(2026, 11, 24),
        end_on=end,
    )


async def test_no_stray_space_in_chinese_replies_of_every_resident_flow(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    rid = await signed_resident(
        rt, "7001", WANG, conditions=("hypertension",), birth_year=1950, name="王阿姨"
    )
    u = make_user("7001", language_code="zh-CN")
    await u.onboard("中文")
    await rt.services.health.log_reading(rid, BloodPressure(150, 95))
    await rt.services.children.add(rid, "小宝", date(2025, 11, 1))
    doctor = await rt.services.directory.doctor(WANG)
    assert doctor is not None
    await rt.services.booking.ensure_slots(doctor, rt.now())
    slot = (await rt.services.booking.free_times(WANG, date(2026, 11, 26), rt.now()))[0]
    assert (await rt.services.booking.book(rid, slot.id, WANG, "chronic", rt.now())).appointment
    meds = rt.services.medicines
    # Two sharing 18:00 (stopping one keeps that reminder), one alone, one with an end date.
    await meds.add(rid, _medicine("氨氯地平片", ("08:00", "18:00"), Meals.AFTER, None))
    await meds.add(rid, _medicine("二甲双胍片", ("18:00",), Meals.ANY, None))
    await meds.add(rid, _medicine("阿托伐他汀钙片", ("21:00",), Meals.ANY, date(2026, 12, 31)))
    found: list[str] = []
    observe = _scan(found)
    # The reminders and their answers are messages, not screens: send them and answer.
    resident = await rt.stores.residents.get(rid)
    assert resident is not None
    zh = rt.catalogs.get("zh_Hans")
    start = clock()
    clock.set(start + timedelta(hours=8, minutes=1))  # 18:01, today's shared moment
    at = int(datetime(2026, 11, 24, 18, 0, tzinfo=rt.settings.tz).timestamp())
    row = await rt.stores.outbox.by_dedupe(f"md:{rid}:{at}")
    assert row is not None
    for key in ("due", "repeat"):
        [reply] = await remind.render_dose(rt, zh, resident, replace(row, key=key))
        found.extend(f"{g!r} in {reply.text!r} ({key})" for g in stray_gaps(reply.text))
    observe("dose:sz", await u.press_data(cb("dose", "sz", row.id)))
    observe("dose:sk", await u.press_data(cb("dose", "sk", row.id)))
    assert "跳过" in u.texts() or "未服" in u.texts(), u.texts()
    # 21:00 unanswered at 00:30: too late for "later" (the missed-dose wording).
    late = int(datetime(2026, 11, 24, 21, 0, tzinfo=rt.settings.tz).timestamp())
    late_row = await rt.stores.outbox.by_dedupe(f"md:{rid}:{late}")
    assert late_row is not None
    clock.set(start + timedelta(hours=14, minutes=30))
    observe("dose:sz late", await u.press_data(cb("dose", "sz", late_row.id)))
    assert "三个多小时" in u.texts(), u.texts()
    clock.set(start)
    # Adding is a path with a draft (a crawl pressing its buttons out of order sees stale
    # ones): walk it, with the meal relation "not tied to meals".
    observe("menu", await u.text("💊 我的用药"))
    for label in ("添加药品", "氨氯地平", "1 片", "早上", "与吃饭无关"):
        observe(label, await u.press(label))
    assert "与吃饭无关" in u.texts() and "饭前饭后均可" not in u.texts()
    observe("保存", await u.press("保存"))
    assert "与吃饭无关" in u.texts()
    # Back / Home is the elder crawl's own check; this walk reads the words.
    _, presses, seen = await crawl(
        u, ["/start", "/menu", "/help"], observe, limit=2000, not_pressed=ZH_ONLY
    )
    assert presses > 100, presses
    # The walk went through the medicine screens, stopping included.
    for screen in ("medicines:list", "medicines:stopok:", "medicines:week", "medicines:card"):
        assert any(screen in data for data in seen), screen
    first = {f.split(" (after")[0]: f for f in found}  # each gap once, with a press showing it
    assert not first, "\n".join(sorted(first.values()))


def test_meal_wording_is_one_fact_in_both_languages(rt: Runtime) -> None:
    """Finding: 与吃饭无关 on the button was shown as 饭前饭后均可 ("with or without food"),
    which reads like an instruction. The button and every line read the same label."""
    zh, en = rt.catalogs.get("zh_Hans"), rt.catalogs.get("en")
    assert zh.gettext(view.MEALS_LABELS[Meals.ANY]) == "与吃饭无关"
    assert en.gettext(view.MEALS_LABELS[Meals.ANY]) == "not tied to meals"
    for t in (zh, en):
        for m in Meals:
            label = t.gettext(view.MEALS_LABELS[m])
            assert view.meals_choice(t, m).lower().endswith(label.lower()), (t.locale, m)
    assert view.meals_choice(en, Meals.ANY) == "Not tied to meals"
    assert view.meals_choice(zh, Meals.BEFORE) == "🍽 饭前"
    for t in (zh, en):
        assert "饭前饭后均可" not in t.gettext(view.MEALS_LABELS[Meals.ANY])
