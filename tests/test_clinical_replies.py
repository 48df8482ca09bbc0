"""Issue 15 audit, findings 1–3 and 5: one urgency per reply, one recheck time, and decisions
that never get less urgent as a value moves further from target.

The urgency words below are written out here (not taken from the code), in both languages:
a reply may state exactly one level, its decided action's. "Call 120 if ..." sign lists are
conditional escalations and may ride along with a "today" or "recheck" reply, but say nothing
else; a "call 120" reply says nothing of today, the emergency department or a recheck.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.config import ROOT
from bot.domain.clinical import SEVERITY, Action, Decision, Direction, Person, every_person
from bot.runtime import Runtime
from bot.services import clinical_engine as engine
from bot.services.clinical import ClinicalRules
from bot.services.clinical_reply import Centre, beyond_lines, event_lines, reading_lines
from bot.services.clinical_rules import ClinicalContent
from bot.services.readings import BloodPressure, ReadingError, check_bp, check_glucose
from tests.conftest import Clock
from tests.doctor_fixtures import load_district
from tests.harness import ChatUser
from tests.test_clinical_rules import _decide, _people, _rows

LEVELS: dict[str, dict[Action, tuple[str, ...]]] = {
    "en": {
        # An emergency, or a doctor "now": beyond "today" (the old headline said "danger sign"
        # and "see a doctor now" above advice saying "contact your doctor today").
        Action.CALL_120: (
            r"call 120",
            r"\bemergency\b(?! department)",
            r"doctor now|\bnow\b[^.]*\bdoctor\b",
        ),
        Action.COME_TODAY: (r"\btoday\b", r"emergency department"),
        Action.RECHECK: (r"another day", r"within 2 weeks"),
    },
    "zh_Hans": {
        Action.CALL_120: (r"拨打120", r"急症", r"危急", r"马上就医|立即就医"),
        Action.COME_TODAY: (r"今天", r"急诊"),
        Action.RECHECK: (r"改天", r"2周内"),
    },
}
CONDITIONAL = {"en": r"\bif\b", "zh_Hans": r"如果|出现以下"}
# Any statement of when to measure again or be rechecked.
RECHECK_TIME = {"en": r"measure again|recheck|again in \d+ minutes", "zh_Hans": r"再测|复查"}


def levels_in(lang: str, line: str) -> set[Action]:
    return {
        action
        for action, words in LEVELS[lang].items()
        if any(re.search(w, line, re.IGNORECASE) for w in words)
    }


def is_sign(lang: str, line: str, action: Action) -> bool:
    """A conditional "call 120 if ..." line in a reply that did not decide 120."""
    return (
        action is not Action.CALL_120
        and levels_in(lang, line) == {Action.CALL_120}
        and re.search(CONDITIONAL[lang], line, re.IGNORECASE) is not None
    )


def check_reply(lang: str, lines: list[str], action: Action) -> None:
    """Exactly one urgency level, the decided one; 120 never beside "today" or "go yourself"."""
    text = "\n".join(lines)
    decided = [ln for ln in lines if not is_sign(lang, ln, action)]
    found = set().union(*(levels_in(lang, ln) for ln in decided))
    expected = set() if action is Action.ON_TARGET else {action}
    assert found == expected, (action, text)
    for ln in lines:
        if is_sign(lang, ln, action):
            assert levels_in(lang, ln) == {Action.CALL_120}, ln
    times = [ln for ln in lines if re.search(RECHECK_TIME[lang], ln, re.IGNORECASE)]
    assert len(times) <= 1, ("two recheck times", text)


@pytest.fixture(scope="module")
def rules() -> ClinicalRules:
    return ClinicalRules(ROOT / "content")


@pytest.fixture(scope="module")
def gettexts(rules: ClinicalRules) -> dict[str, Callable[[str], str]]:
    from bot.i18n import Catalogs

    catalogs = Catalogs(ROOT / "locales")
    return {lang: catalogs.get(lang).gettext for lang in LEVELS}


CENTRES = (None, Centre("Zhujing", "021-1", closed=False), Centre("Zhujing", "021-1", closed=True))


def _replies(
    gettexts: dict[str, Callable[[str], str]], content: ClinicalContent, d: Decision
) -> Iterator[tuple[str, list[str]]]:
    for lang, gt in gettexts.items():
        for centre, due in itertools.product(CENTRES, (None, "2026-12-08")):
            yield lang, reading_lines(gt, content, d, "X", centre, due, reminded=due is not None)


def test_every_boundary_row_gets_one_urgency(rules: ClinicalRules, gettexts) -> None:  # type: ignore[no-untyped-def]
    content = rules.content
    walked = 0
    for row in _rows():
        for person in _people(row):
            d = _decide(content, row, person)
            values = {row["quantity"]: Decimal(row["value"])}
            if engine.outside(content, row["measure"], values) is not None:
                for lang, gt in gettexts.items():
                    check_reply(lang, beyond_lines(gt, content, d), d.action)
                continue
            for lang, lines in _replies(gettexts, content, d):
                check_reply(lang, lines, d.action)
                walked += 1
    assert walked > 10_000


def _edges(content: ClinicalContent, measure: str, quantity: str) -> list[int]:
    rules = [r for r in content.measure(measure).rules if r.quantity == quantity]
    values = {int(v) for r in rules for v in (r.low - 1, r.low, r.high, r.high + 1)}
    q = content.measure(measure).quantity(quantity)
    assert q is not None
    return sorted(v for v in values if q.low <= v <= q.high)


def test_every_blood_pressure_and_pulse_combination_gets_one_urgency(  # type: ignore[no-untyped-def]
    rules: ClinicalRules, gettexts
) -> None:
    """Systolic, diastolic and pulse at every rule edge, combined, for every kind of person."""
    content = rules.content
    systolic = _edges(content, "blood_pressure", "systolic")
    diastolic = _edges(content, "blood_pressure", "diastolic")
    seen: set[Action] = set()
    for person, s, dia, pulse in itertools.product(
        every_person(), systolic, diastolic, (None, 59, 100, 101)
    ):
        if dia >= s:
            continue
        d = rules.judge(BloodPressure(s, dia, pulse), person)
        seen.add(d.action)
        for lang, gt in gettexts.items():
            lines = reading_lines(gt, content, d, "X", CENTRES[2], None)
            check_reply(lang, lines, d.action)
    assert seen == {Action.COME_TODAY, Action.RECHECK, Action.ON_TARGET}


def test_meter_displays_and_values_beyond_the_range_get_one_urgency(  # type: ignore[no-untyped-def]
    rules: ClinicalRules, gettexts
) -> None:
    content = rules.content
    for display in ("HI", "LO"):
        d = engine.decide_display(content, "glucose", display)
        assert d.action is Action.CALL_120
        for lang, lines in _replies(gettexts, content, d):
            check_reply(lang, lines, d.action)
            # 120 is called: no centre phone, no "go to the emergency department yourself".
            assert "📞" not in "\n".join(lines)
    beyond = [
        ("glucose", {"glucose": Decimal("0.9")}),
        ("glucose", {"glucose": Decimal("35.1")}),
        ("blood_pressure", {"systolic": Decimal(59)}),
        ("blood_pressure", {"systolic": Decimal(261)}),
        ("blood_pressure", {"diastolic": Decimal(29)}),
        ("blood_pressure", {"diastolic": Decimal(161)}),
        ("pulse", {"pulse": Decimal(29)}),
        ("pulse", {"pulse": Decimal(221)}),
    ]
    for measure, values in beyond:
        d = engine.outside(content, measure, values)
        assert d is not None
        for lang, gt in gettexts.items():
            check_reply(lang, beyond_lines(gt, content, d), d.action)


# -- monotonic: further from target is never less urgent (findings 2 and 5) -----------------
def _judge_bp(rules: ClinicalRules, s: int, d: int, person: Person, setting: str) -> Decision:
    """What a resident is told for s/d: a stored reading's decision, or for a value beyond
    the entry range, the rules' word on it (as the chat does: bot/services/readings.py)."""
    try:
        check_bp(s, d)
    except ReadingError as exc:
        beyond = rules.beyond(exc)
        assert beyond is not None, (s, d)
        return beyond
    return engine.decide(
        rules.content,
        "blood_pressure",
        {"systolic": Decimal(s), "diastolic": Decimal(d)},
        setting,
        person,
    )


def _judge_glucose(rules: ClinicalRules, tenths: int, person: Person, context: str) -> Decision:
    try:
        check_glucose(tenths, context)
    except ReadingError as exc:
        beyond = rules.beyond(exc)
        assert beyond is not None, tenths
        return beyond
    return engine.decide(
        rules.content, "glucose", {"glucose": Decimal(tenths) / 10}, context, person
    )


def assert_monotonic(slice_: list[tuple[object, Decision]]) -> None:
    """Along increasing values: below target, a lower value is never less urgent; above
    target, a higher value is never less urgent (no interior peak of severity)."""
    for (v, dv), (w, dw) in itertools.pairwise(slice_):
        if dw.direction is Direction.LOW:
            assert SEVERITY[dv.action] >= SEVERITY[dw.action], (v, dv.action, w, dw.action)
        if dv.direction is Direction.HIGH:
            assert SEVERITY[dw.action] >= SEVERITY[dv.action], (v, dv.action, w, dw.action)
    sev = [SEVERITY[d.action] for _, d in slice_]
    for j in range(1, len(sev) - 1):
        assert not (min(sev[:j]) < sev[j] and min(sev[j + 1 :]) < sev[j]), slice_[j][0]


@pytest.mark.parametrize("setting", ["home", "clinic"])
def test_blood_pressure_is_monotonic_over_a_grid(rules: ClinicalRules, setting: str) -> None:
    """Systolic 40–300 at every diastolic 20–200 (step 5), and the other way round, for every
    kind of person: 60/35 is never told less than 59/40."""
    for person in every_person():
        for dia in range(20, 201, 5):
            row = [
                (s, _judge_bp(rules, s, dia, person, setting)) for s in range(40, 301) if dia < s
            ]
            assert_monotonic(row)
        for s in range(40, 301, 5):
            col = [(d, _judge_bp(rules, s, d, person, setting)) for d in range(10, 201) if d < s]
            assert_monotonic(col)


def test_sixty_over_35_is_not_told_less_than_59_over_40(rules: ClinicalRules) -> None:
    person = Person()
    low = _judge_bp(rules, 59, 40, person, "home")
    higher = _judge_bp(rules, 60, 35, person, "home")
    assert SEVERITY[low.action] >= SEVERITY[higher.action]
    assert (low.action, higher.action) == (Action.COME_TODAY, Action.COME_TODAY)


@pytest.mark.parametrize("context", ["fasting", "after_meal"])
def test_glucose_is_monotonic_from_LO_to_HI(rules: ClinicalRules, context: str) -> None:
    content = rules.content
    lo = engine.decide_display(content, "glucose", "LO")
    hi = engine.decide_display(content, "glucose", "HI")
    for person in every_person():
        values = [(t, _judge_glucose(rules, t, person, context)) for t in range(1, 401)]
        assert_monotonic([("LO", lo), *values, ("HI", hi)])


def _judge_pulse(rules: ClinicalRules, pulse: int, person: Person) -> Decision:
    try:
        check_bp(120, 80, pulse)
    except ReadingError as exc:
        beyond = rules.beyond(exc)
        assert beyond is not None, pulse
        return beyond
    return engine.decide(rules.content, "pulse", {"pulse": Decimal(pulse)}, "rest", person)


def test_pulse_is_monotonic_beyond_its_range_too(rules: ClinicalRules) -> None:
    for person in every_person():
        assert_monotonic([(p, _judge_pulse(rules, p, person)) for p in range(10, 251)])


def test_typed_glucose_is_judged_by_the_same_engine(rules: ClinicalRules) -> None:
    """Finding 5: a glucose value typed in free text (bot/services/redflags.py's judge) gets
    the decision a logged reading of that value gets, for every kind of person, at every tenth
    from 0.1 to 40.0 (beyond the entry range too); where fasting and after-meal readings would
    differ the typed value is not judged without its timing (the resident is asked)."""
    from bot.services.redflags import glucose_judge

    for person in every_person():
        judge = glucose_judge(rules.content, person)
        for tenths in range(1, 401):
            typed = judge(Decimal(tenths) / 10)
            fasting = _judge_glucose(rules, tenths, person, "fasting")
            after_meal = _judge_glucose(rules, tenths, person, "after_meal")
            verdicts = {(d.action, d.direction) for d in (fasting, after_meal)}
            if typed is None:
                assert len(verdicts) == 2, tenths
            elif fasting == after_meal:
                assert typed == fasting, (person, tenths)
            else:  # the same verdict by different bands: both bands' advice, never one
                assert len(verdicts) == 1 and typed == engine.combine(fasting, after_meal)
            for setting, d in (("fasting", fasting), ("after_meal", after_meal)):
                assert judge(Decimal(tenths) / 10, setting) == d, (person, tenths, setting)


# -- through the chat, at night with the centre closed --------------------------------------
NIGHT = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: the centre is closed


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
async def test_replies_in_the_chat_state_one_urgency(  # type: ignore[no-untyped-def]
    rt: Runtime, clock: Clock, make_user: Callable[..., ChatUser], lang: str
) -> None:
    await load_district(rt)
    user = make_user(language_code="en")
    await user.onboard("English" if lang == "en" else "中文")
    loaded = await rt.stores.residents.load(user.channel, user.user_id)
    assert loaded is not None
    rid = loaded[0].id
    await rt.services.directory.set_home(rid, "朱泾", "东林居委")
    await rt.services.health.set_condition(rid, "diabetes2")
    clock.set(NIGHT)
    cases = [
        ("bp", "/bp 185/100", Action.COME_TODAY),
        ("bp", "/bp 128/78 112", Action.COME_TODAY),  # fast pulse with diabetes
        ("bp", "/bp 60/35", Action.COME_TODAY),
        ("bp", "/bp 80/50 50", Action.COME_TODAY),
        ("bp", "/bp 138/87", Action.RECHECK),
        ("bp", "/bp 120/80 50", Action.RECHECK),  # slow pulse: recheck, 120 only if dizzy
        ("bp", "/bp 120/80", Action.ON_TARGET),
        ("gl", "HI", Action.CALL_120),
        ("gl", "LO", Action.CALL_120),
        ("gl", "3.2", Action.COME_TODAY),
        ("gl", "17.0", Action.COME_TODAY),
        ("gl", "8.0", Action.RECHECK),
    ]
    for kind, typed, action in cases:
        if kind == "gl":
            await user.text("/health")
            await user.press("🩸")
            await user.press("🌅")
        await user.text(typed)
        lines = [ln for r in user.all_replies() for ln in r.text.splitlines()]
        # The saved note and the flag note are not urgency statements.
        check_reply(lang, lines, action)
        stored = (await rt.services.health.readings(rid))[-1]
        assert stored.action == action.value, typed
    for typed, action in (("/bp 59/40", Action.COME_TODAY), ("/bp 265/100", Action.CALL_120)):
        await user.text(typed)
        check_reply(lang, user.texts().splitlines(), action)


def test_a_side_effect_reply_has_one_recheck_and_the_signs_last(  # type: ignore[no-untyped-def]
    rules: ClinicalRules, gettexts
) -> None:
    d = rules.side_effect()
    for lang, gt in gettexts.items():
        for due in (None, "8 Dec 2026"):
            lines = event_lines(gt, rules.content, d, due, reminded=due is not None)
            decided = [ln for ln in lines if not is_sign(lang, ln, d.action)]
            assert not set().union(*(levels_in(lang, ln) for ln in decided)) - {Action.RECHECK}
            times = [ln for ln in lines if re.search(RECHECK_TIME[lang], ln, re.IGNORECASE)]
            assert len(times) == (1 if due else 0), lines
            assert is_sign(lang, lines[-1], d.action), lines


# -- every rule x setting, every centre state, saved or typed (issue 15/17 audit, finding 5) ----
CENTRE_STATES = (
    None,
    Centre("Zhujing", "021-1", closed=False),
    Centre("Zhujing", "021-1", closed=True),  # closed, hours unknown
    Centre("Zhujing", "021-1", closed=True, opens="08:00", opens_today=True),
    Centre("Zhujing", "021-1", closed=True, opens="Wed 25 Nov, 08:00"),
)
ED = {"en": r"emergency department", "zh_Hans": r"急诊"}


def check_composed(lang: str, lines: list[str], action: Action, centre: Centre | None) -> None:
    """One urgency, one recheck time (check_reply), and: no conditional "call 120 if ..."
    under a headline that already says call 120 now; no emergency department when the
    centre opens again today (the "today" can wait until then)."""
    check_reply(lang, lines, action)
    if action is Action.CALL_120:
        conditional = [
            ln
            for ln in lines[1:]
            if "120" in ln and re.search(CONDITIONAL[lang], ln, re.IGNORECASE)
        ]
        assert conditional == [], lines
    text = "\n".join(lines)
    if centre is not None and centre.closed and centre.opens_today:
        assert not re.search(ED[lang], text), lines
    if action is Action.COME_TODAY and centre is not None and centre.closed:
        said_ed = bool(re.search(ED[lang], text))
        assert said_ed == (not centre.opens_today), lines


def _rule_decisions(content: ClinicalContent) -> Iterator[tuple[str, Decision]]:
    """Each band's edges for every setting and person it applies to, decided by the engine
    (the band itself must decide), then every special."""
    for m in content.measures.values():
        for r in m.rules:
            for setting in r.settings:
                for person in every_person():
                    if not r.applies(person, setting):
                        continue
                    for value in {r.low, r.high}:
                        d = engine.decide(content, m.name, {r.quantity: value}, setting, person)
                        assert d.rule_ids == (r.id,), (r.id, value)
                        yield r.id, d


def test_every_rule_and_setting_composes_a_reply_without_contradictions(  # type: ignore[no-untyped-def]
    rules: ClinicalRules, gettexts
) -> None:
    content = rules.content
    seen: set[str] = set()
    walked = 0
    for rule_id, d in _rule_decisions(content):
        seen.add(rule_id)
        for lang, gt in gettexts.items():
            for centre, due, saved in itertools.product(
                CENTRE_STATES, (None, "8 Dec 2026"), (True, False)
            ):
                if due is not None and not saved:
                    continue  # a typed value starts no follow-up plan
                lines = reading_lines(gt, content, d, "X", centre, due, due is not None, saved)
                check_composed(lang, lines, d.action, centre)
                walked += 1
    every = {r.id for m in content.measures.values() for r in m.rules}
    assert seen == every and walked > 1000
    for m in content.measures.values():
        for s in m.specials:
            if s.kind == "event":
                d = engine.decide_event(content, m.name, s.key)
                for lang, gt in gettexts.items():
                    for due in (None, "8 Dec 2026"):
                        lines = event_lines(gt, content, d, due, reminded=due is not None)
                        times = [ln for ln in lines if re.search(RECHECK_TIME[lang], ln, re.I)]
                        assert len(times) <= 1, lines
                continue
            if s.kind == "display":
                d = engine.decide_display(content, m.name, s.key)
                for lang, gt in gettexts.items():
                    for centre in CENTRE_STATES:
                        check_composed(
                            lang, reading_lines(gt, content, d, s.key, centre), d.action, centre
                        )
                continue
            q = m.quantity(s.key)
            assert q is not None
            value = q.low - q.step if s.kind == "below" else q.high + q.step
            found = engine.outside(content, m.name, {s.key: value})
            assert found is not None
            for lang, gt in gettexts.items():
                check_reply(lang, beyond_lines(gt, content, found), found.action)


def test_the_ambulance_reply_has_no_conditional_120_under_its_call_120_heading() -> None:
    """The emergency reply is headed "🚑 Call 120 now": none of its steps may say "call 120
    if ..." again, nor send the person to the emergency department themselves."""
    from bot.services.redflags import load_signs

    signs = load_signs(ROOT / "content")
    for sign in signs.signs:
        if sign.crisis:
            continue  # headed by the crisis line, with 120 for immediate danger
        for loc, lang in (("en", "en"), ("zh_Hans", "zh_Hans")):
            for about_self in (True, False):
                for step in sign.advice(loc, about_self):
                    if loc == "en":
                        assert not re.search(r"\bif\b[^.]*\bcall 120", step, re.I), step
                    else:
                        assert not re.search(r"(如果|时)[^。]*拨打120", step), step
                    assert not re.search(ED[lang], step), step
