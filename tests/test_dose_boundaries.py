"""A child's dose on the boundary days reads the same on the resident's card, the doctor's card
of the same child and the reminder notification: due today, due tomorrow, the last timely day,
late by one day, and the catch-up windows of a two-year-old who had nothing. Every view takes
the state from `dose_state`; this test reads each view as its reader sees it (the parent in
zh or en, the doctor in en) and compares the words with that one function's state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bot.callbacks import cb
from bot.domain.outbox import OutboxRow
from bot.runtime import Runtime
from bot.services.child_vaccines import due_this_month
from bot.services.vaccines.children import given_on_time
from bot.services.vaccines.dose_state import Shown, states
from handlers.resident.vaccines_remind import render_child
from handlers.resident.vaccines_view import dose_when
from tests.doctor_fixtures import WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser

TODAY = date(2026, 11, 24)  # the clock fixture's day (10:00 in Shanghai)

# (case, born, doses given at birth, the dose to look at, its expected state, its words in en)
CASES = [
    # HepB-2 at 1 month (HepB-1 at birth): due on the day the child is one month old.
    ("due today", date(2026, 10, 24), ("HepB-1", "BCG-1"), "HepB-2", Shown.DUE, "due today"),
    (
        "due tomorrow",
        date(2026, 10, 25),
        ("HepB-1", "BCG-1"),
        "HepB-2",
        Shown.UPCOMING,
        "from 25 Nov 2026",
    ),
    # BCG is timely before 3 months: the last timely day is the day before.
    (
        "last timely day",
        date(2026, 8, 25),
        ("HepB-1",),
        "BCG-1",
        Shown.DUE,
        "give it by 24 Nov 2026",
    ),
    (
        "late by one day",
        date(2026, 8, 24),
        ("HepB-1",),
        "BCG-1",
        Shown.LATE,
        "late (should have been given by 23 Nov 2026): catch up now",
    ),
    ("catch-up windows", date(2024, 11, 24), (), "MPSV-AC-1", None, None),
]


def row(resident_id: int, params: dict[str, object]) -> OutboxRow:
    return OutboxRow(
        1, resident_id, "vaccine", "", params, 0, None, False, "pending", 0, None, "k", None
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize(("case", "born", "given", "code", "shown", "words"), CASES)
async def test_boundary_days_read_the_same_in_every_view(
    rt: Runtime,
    make_user: Callable[..., ChatUser],
    locale: str,
    case: str,
    born: date,
    given: tuple[str, ...],
    code: str,
    shown: Shown | None,
    words: str | None,
) -> None:
    await load_district(rt)
    rid = await signed_resident(rt, "7001", WANG, locale=locale)
    parent = make_user("7001", language_code="zh" if locale == "zh_Hans" else "en")
    await parent.onboard("English" if locale == "en" else "中文")
    doctor = await linked_doctor(rt, make_user)
    svc = rt.services.children
    child = await svc.add(rid, "Xiaobao", born)
    record = await svc.mine(rid, child.id)
    assert record is not None
    if given:
        await svc.record_doses(record, dict.fromkeys(given, born))
        record = await svc.mine(rid, child.id)
        assert record is not None
    plan = svc.plan(record)
    assert plan.today == TODAY
    open_states = [s for s in states(plan) if s.shown is not Shown.CLOSED]
    target = next(s for s in open_states if s.code == code)
    en = rt.catalogs.get("en")
    if shown is not None:
        assert target.shown is shown, (case, target)
        assert words in dose_when(en, target, TODAY), (case, dose_when(en, target, TODAY))
    else:
        # Two years old with nothing given: late doses to catch up now, late ones that must
        # wait an interval, catch-up doses (MPSV-AC-1 from 24 months), and missed ones.
        kinds = {s.shown for s in open_states}
        assert {Shown.LATE, Shown.LATE_WAITING, Shown.MISSED} <= kinds, kinds
    # Each view, in its reader's language.
    t = rt.catalogs.get(locale)
    await parent.press_data(cb("vaccines", "c", child.id))
    card = parent.texts()
    resident = await rt.stores.residents.get(rid)
    assert resident is not None and resident.locale == locale
    (reminder,) = await render_child(
        rt, t, resident, row(rid, {"child": child.id, "doses": [[s.code] for s in open_states]})
    )
    await doctor.press_data(cb("day", "card", rid))
    desk = doctor.texts()
    for s in open_states:
        phrase = dose_when(t, s, TODAY)
        if s.shown not in (Shown.UPCOMING, Shown.MISSED) or s.code == code:
            assert phrase in card, (case, s.code, phrase)
        if s.shown is not Shown.MISSED:
            assert phrase in reminder.text, (case, s.code, phrase)
    # The doctor sees what may be given today, and the next dose to wait for, in the same
    # words as the one state (never "due now" for a dose the card shows as later).
    for s in open_states:
        line = f"{s.code}: {dose_when(en, s, TODAY)}"
        if s.now:
            assert line in desk, (case, line)
        elif s.code in desk.replace(":", " ").split():
            assert line in desk, (case, line, desk)


async def test_a_late_dose_waiting_into_next_month_is_not_due_this_month(user: ChatUser) -> None:
    """The team's "child due a vaccine this month" list reads the same states as the card: a
    dose past its deadline that must wait an interval until January is not due in November."""
    rt = user.rt
    rid = (await rt.stores.residents.load(user.channel, user.user_id))[0].id  # type: ignore[index]
    svc = rt.services.children
    born = date(2025, 11, 1)
    child = await svc.add(rid, "Xiaobao", born)
    record = await svc.mine(rid, child.id)
    assert record is not None
    base = {"HepB-1": born, "HepB-2": date(2026, 11, 20)}  # HepB-2 given late, 4 days ago
    given = {**given_on_time(svc.planner, born, base, TODAY), **base}
    await svc.record_doses(record, given)
    record = await svc.mine(rid, child.id)
    assert record is not None
    plan = svc.plan(record)
    late = [s for s in states(plan) if s.shown is Shown.LATE_WAITING]
    assert [s.code for s in late] == ["HepB-3"] and late[0].give_from == date(2027, 1, 19)
    open_states = [s for s in states(plan) if s.shown is not Shown.CLOSED]
    assert not [s for s in open_states if s.now or s.give_from <= date(2026, 11, 30)]
    await user.press_data(cb("vaccines", "c", child.id))
    t = rt.catalogs.get("en")
    assert dose_when(t, late[0], TODAY) in user.texts()
    assert "catch up from 19 Jan 2027" in user.texts()
    assert due_this_month(plan, TODAY) is False
