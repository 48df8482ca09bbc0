"""One source per fact: a child's dose states and a follow-up's due date, rendered in every
view that shows them (the resident's card and page, the doctor's card and Overdue list, the
reminders), compared with each other and with the one function that decides them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from bot.callbacks import cb
from bot.domain.outbox import OutboxRow
from bot.runtime import Runtime
from bot.services import followup
from bot.services.followup import Reason
from bot.services.health import history_from
from bot.services.vaccines.dose_state import Shown, states
from handlers.resident.health import render_followup
from handlers.resident.vaccines_remind import render_child
from handlers.resident.vaccines_view import dose_when
from tests.doctor_fixtures import WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser


def row(resident_id: int, kind: str, params: dict[str, object], key: str = "") -> OutboxRow:
    return OutboxRow(
        1, resident_id, kind, key, params, 0, None, False, "pending", 0, None, "k", None
    )


def section_of(card: str, line: str) -> str:
    """The section heading above `line` on a card."""
    above = card[: card.index(line)].splitlines()
    return next(x for x in reversed(above) if x.endswith(":") and not x.startswith(" "))


async def test_a_childs_doses_read_the_same_in_every_view(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    rid = await signed_resident(rt, "7001", WANG)
    parent = make_user("7001")
    await parent.onboard()
    doctor = await linked_doctor(rt, make_user)
    svc = rt.services.children
    # Born 1 Nov 2025, only HepB-1 given: HepB-3 is past its deadline (under 12 months) but
    # must wait 60 days after HepB-2 (late, waiting); DTaP-1, with no deadline, has been due
    # for months; others are late now, due, or upcoming.
    child = await svc.add(rid, "Xiaobao", date(2025, 11, 1))
    record = await svc.mine(rid, child.id)
    assert record is not None
    await svc.record_doses(record, {"HepB-1": date(2025, 11, 1)})
    record = await svc.mine(rid, child.id)
    assert record is not None
    plan = svc.plan(record)
    today = plan.today
    t = rt.catalogs.get("en")
    open_states = [s for s in states(plan) if s.shown not in (Shown.CLOSED, Shown.MISSED)]
    kinds = {s.shown for s in open_states}
    assert {Shown.LATE_WAITING, Shown.DUE_WHILE, Shown.UPCOMING} <= kinds, kinds

    await parent.press_data(cb("vaccines", "c", child.id))
    card = parent.texts()
    await doctor.press_data(cb("day", "card", rid))
    desk = doctor.texts()
    (reminder,) = await render_child(
        rt,
        t,
        (await rt.stores.residents.get(rid)),  # type: ignore[arg-type]
        row(rid, "vaccine", {"child": child.id, "doses": [[s.code] for s in open_states]}),
    )
    for s in open_states[:8]:
        phrase = dose_when(t, s, today)
        assert phrase in card, (s.code, phrase)
        assert phrase in reminder.text, (s.code, phrase)
        heading = section_of(card, phrase)
        if s.give_from > today:
            # Never under a heading that says to act now.
            assert "now" not in heading, (s.code, heading)
        if s.shown is Shown.LATE_WAITING:
            assert heading.startswith("⚠️ Late — catch up as soon as it is allowed")
    # The doctor sees what may be given today, and the next dose, in the same words.
    for s in [s for s in open_states if s.now]:
        assert f"{s.code}: {dose_when(t, s, today)}" in desk, s.code
    waiting = min(
        (s for s in open_states if s.shown in (Shown.LATE_WAITING, Shown.UPCOMING)),
        key=lambda s: s.give_from,
    )
    assert f"{waiting.code}: {dose_when(t, waiting, today)}" in desk


async def test_a_follow_up_due_date_is_the_same_on_every_view(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    health = rt.services.health
    rid = await signed_resident(rt, "8001", WANG, name="Old Annual", birth_year=1950)
    await health.record_event(rid, "annual_check", date(2024, 6, 1))  # none in 2025
    resident = make_user("8001")
    await resident.onboard()
    doctor = await linked_doctor(rt, make_user)
    facts = await rt.stores.health.facts([rid])
    (annual,) = [
        d
        for d in followup.plan(history_from(facts[0], rt.settings.tz), health.today())
        if d.reason is Reason.ANNUAL
    ]
    assert annual.due == date(2025, 12, 31) and annual.overdue
    t = rt.catalogs.get("en")
    shown = t.date(annual.due)
    await resident.text("/health")
    assert f"was due by {shown}" in resident.texts()
    await doctor.press("Overdue")
    assert "Old Annual" in doctor.texts() and f"due {shown}" in doctor.texts()
    # The reminder the plan wrote, and the doctor's one-tap reminder, carry the same date.
    rows = await rt.stores.outbox.for_resident(rid, followup.NOTIFICATION_KIND)
    annual_rows = [r for r in rows if r.params.get("reason") == "annual" and r.status == "pending"]
    assert annual_rows and {r.params["due"] for r in annual_rows} == {annual.due.isoformat()}
    (reply,) = await render_followup(
        rt,
        t,
        (await rt.stores.residents.get(rid)),
        annual_rows[0],  # type: ignore[arg-type]
    )
    assert shown in reply.text
    await doctor.press("Remind 1")
    (sent,) = await rt.stores.outbox.for_resident(rid, "doctor_reminder")
    assert sent.params["due"] == annual.due.isoformat()


async def test_a_new_elder_is_not_called_overdue_anywhere(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """No check recorded at all: this year's check is due; nobody claims last year's."""
    await load_district(rt)
    await signed_resident(rt, "8002", WANG, name="New Elder", birth_year=1950)
    resident = make_user("8002")
    await resident.onboard()
    doctor = await linked_doctor(rt, make_user)
    t = rt.catalogs.get("en")
    await resident.text("/health")
    assert f"due by {t.date(date(2026, 12, 31))}" in resident.texts()
    await doctor.press("Overdue")
    assert "New Elder" not in doctor.texts()


async def test_the_export_states_each_dose_as_the_card_does(user: ChatUser) -> None:
    rt = user.rt
    rid = (await rt.stores.residents.load(user.channel, user.user_id))[0].id  # type: ignore[index]
    svc = rt.services.children
    child = await svc.add(rid, "Xiaobao", date(2025, 11, 1))
    record = await svc.mine(rid, child.id)
    assert record is not None
    await svc.record_doses(record, {"HepB-1": date(2025, 11, 1)})
    record = await svc.mine(rid, child.id)
    assert record is not None
    plan = svc.plan(record)
    await user.text("/mydata")
    (doc,) = [r.document for r in user.all_replies() if r.document is not None]
    exported = json.loads(doc.content)["vaccine_plan"]
    expected = [s for s in states(plan) if s.shown is not Shown.CLOSED]
    assert [(e["dose"], e["state"], e["give_from"]) for e in exported] == [
        (s.code, str(s.shown), s.give_from.isoformat()) for s in expected
    ]
    assert "open vaccine doses" in user.texts()
