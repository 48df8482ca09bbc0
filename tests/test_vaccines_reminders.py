"""Vaccine reminders as outbox rows: dedupe on re-planning, cancelling after edits, snooze,
book, ask-the-centre once, the daily job, and adults' flu (once a season) and PPV23 (once)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from bot.callbacks import cb
from bot.domain.outbox import OutboxRow
from bot.domain.residents import Resident
from bot.domain.vaccines import AdultRecord
from bot.runtime import Runtime
from bot.services.vaccines.adults import adult_rows, eligibility, flu_season
from bot.services.vaccines.model import add_span
from tests.conftest import Clock
from tests.harness import ChatUser
from tests.test_vaccines_chat import add_child, resident_id, today_of, vaccine_rows


async def resident(rt: Runtime, u: ChatUser) -> Resident:
    found = await rt.stores.residents.get(await resident_id(rt, u))
    assert found is not None
    return found


def dose_counts(rows: list[OutboxRow]) -> Counter[str]:
    return Counter(d for r in rows for d, _ in r.params["doses"])


async def test_replanning_never_doubles(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -10, 0))  # nothing given: much to catch up
    rid = await resident_id(rt, user)
    rows = await vaccine_rows(rt, rid)
    assert rows and all(n == 1 for n in dose_counts(rows).values())
    reminders = rt.services.child_reminders
    assert await reminders.replan_child(cid) == (0, 0)
    assert await reminders.replan_all() == (1, 0, 0)
    await rt.delivery.jobs.run_now("vaccines.plan")
    assert [r.id for r in await vaccine_rows(rt, rid)] == [r.id for r in rows]
    assert all(not r.urgent and r.expires_at == r.due_at + timedelta(days=6) for r in rows)
    # Sent at 09:30 local time on the reminder's date.
    for r in rows:
        due = r.due_at.astimezone(rt.settings.tz)
        assert due.time() == time(9, 30) and due.date().isoformat() == r.params["on"]


async def test_an_edit_that_moves_a_date_cancels_the_old_row(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    today = today_of(rt, clock)
    born = add_span(today, -6, 0) + timedelta(days=10)  # the 6-month doses fall due in 10 days
    cid = await add_child(user, born)
    await user.press("All up to today")
    rid = await resident_id(rt, user)
    [before] = await vaccine_rows(rt, rid)
    assert {"HepB-3", "DTaP-3", "MPSV-A-1"} <= set(dose_counts([before]))
    # HepB-2 was in fact given late, five days ago: HepB-3 must wait its minimum interval.
    svc = rt.services.children
    record = await svc.mine(rid, cid)
    assert record is not None
    await svc.record_doses(record, {"HepB-2": today - timedelta(days=5)})
    after = await vaccine_rows(rt, rid)
    cancelled = await vaccine_rows(rt, rid, "cancelled")
    assert before.dedupe_key in {r.dedupe_key for r in cancelled}
    assert before.dedupe_key not in {r.dedupe_key for r in after}
    counts = dose_counts(after)
    assert all(n == 1 for n in counts.values()), counts
    plan = svc.plan(await svc.mine(rid, cid))  # type: ignore[arg-type]
    hepb3 = plan.get("HepB-3")
    assert hepb3 is not None and hepb3.due > add_span(born, 6, 0)
    # Re-planning again changes nothing.
    assert await rt.services.child_reminders.replan_child(cid) == (0, 0)


async def test_undoing_an_edit_brings_the_reminder_back(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -10, 0))
    rid = await resident_id(rt, user)
    before = {r.dedupe_key for r in await vaccine_rows(rt, rid)}
    svc = rt.services.children
    record = await svc.mine(rid, cid)
    assert record is not None
    await svc.record_doses(record, {"BCG-1": record.child.born})
    assert {r.dedupe_key for r in await vaccine_rows(rt, rid)} != before
    record = await svc.mine(rid, cid)
    assert record is not None
    await svc.unrecord(record, "BCG-1")
    assert {r.dedupe_key for r in await vaccine_rows(rt, rid)} == before


async def test_snooze_and_book(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -10, 0))
    rid = await resident_id(rt, user)
    row = (await vaccine_rows(rt, rid))[0]
    render = rt.registry.notifications["vaccine"]
    t = rt.catalogs.get("en")
    who = await resident(rt, user)
    [reply] = await render(rt, t, who, row)
    snooze = next(b.data for b in reply.all_buttons() if "3 days" in b.label)
    assert snooze is not None
    await user.press_data(snooze)
    on = today + timedelta(days=3)
    assert f"I will remind you on {t.weekday_date(on)}" in user.texts()
    await user.press_data(snooze)  # twice: still one snoozed row
    snoozed = [r for r in await vaccine_rows(rt, rid) if r.dedupe_key.startswith("vxz:")]
    assert len(snoozed) == 1
    assert snoozed[0].params["doses"] == row.params["doses"]
    assert snoozed[0].due_at.astimezone(rt.settings.tz).date() == on
    assert await rt.services.child_reminders.replan_child(cid) == (0, 0)  # a snooze stays
    # Doses recorded meanwhile drop out of the snoozed message; none left, nothing is sent.
    svc = rt.services.children
    record = await svc.mine(rid, cid)
    assert record is not None
    doses = [d for d, _ in row.params["doses"]]
    await svc.record_doses(record, {d: today for d in doses})
    assert await render(rt, t, who, snoozed[0]) == []
    # Book opens the booking flow for a vaccination visit.
    book = next(b.data for b in reply.all_buttons() if "Book" in (b.label or ""))
    assert book == cb("book", "new", "vaccination")
    await user.press_data(book)
    assert user.all_replies() and "out of date" not in user.texts()


async def test_someone_elses_snooze_is_refused(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    today = today_of(rt, clock)
    await add_child(user, add_span(today, -10, 0))
    row = (await vaccine_rows(rt, await resident_id(rt, user)))[0]
    other = make_user("2002")
    await other.onboard()
    await other.press_data(cb("vaxremind", "snz", row.id))
    assert "out of date" in other.texts()
    assert not await vaccine_rows(rt, await resident_id(rt, other))


async def test_ask_the_centre_once(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    """A child of 5 who never had BCG: one message to ask the centre, however often we plan."""
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -60, 0))
    rid = await resident_id(rt, user)
    asks = [r for r in await vaccine_rows(rt, rid) if r.key == "ask_centre"]
    assert ["BCG-1"] in [[d for d, _ in r.params["doses"]] for r in asks]
    bcg = next(r for r in asks if r.params["doses"][0][0] == "BCG-1")
    reminders = rt.services.child_reminders
    for days in (1, 8, 30):
        clock.set(clock() + timedelta(days=days))
        await reminders.replan_all()
        keys = [r.dedupe_key for r in await rt.stores.outbox.for_resident(rid, "vaccine")]
        assert keys.count(bcg.dedupe_key) == 1
    [reply] = await rt.registry.notifications["vaccine"](
        rt, rt.catalogs.get("en"), await resident(rt, user), bcg
    )
    assert "no longer given" in reply.text and "(BCG-1)" in reply.text
    assert cid


# -- adults -----------------------------------------------------------------------------------


def test_adult_rules() -> None:
    tz = datetime(2026, 1, 1).astimezone().tzinfo
    assert tz is not None
    assert eligibility(1966, (), date(2026, 1, 1)).eligible
    assert not eligibility(1967, (), date(2026, 12, 31)).eligible
    assert eligibility(None, ("diabetes2",), date(2026, 1, 1)).eligible
    assert flu_season(date(2026, 8, 31)) == 2025 and flu_season(date(2026, 9, 1)) == 2026
    # Out of season: only PPV23; in season: both; done/declined records stop them.
    assert [r.key for r in adult_rows(1, True, [], date(2026, 8, 31), tz)] == ["ppv23"]
    assert [r.key for r in adult_rows(1, True, [], date(2026, 9, 1), tz)] == ["flu", "ppv23"]
    done = [
        AdultRecord(1, "flu", 2026, "done", date(2026, 9, 3)),
        AdultRecord(1, "ppv23", 0, "declined", date(2026, 9, 3)),
    ]
    assert adult_rows(1, True, done, date(2026, 10, 1), tz) == []
    assert [r.key for r in adult_rows(1, True, done, date(2027, 9, 1), tz)] == ["flu"]
    assert adult_rows(1, False, [], date(2026, 10, 1), tz) == []
    # Through the season (to March), one a month: not only September to November.
    later = adult_rows(1, True, done[1:], date(2027, 1, 15), tz)
    assert [r.dedupe_key for r in later] == ["vxa:1:flu:2026:01"]
    assert adult_rows(1, True, done[1:], date(2027, 4, 1), tz) == []
    # PPV23: from 65 by default (2020 consensus), and for diabetes; not for hypertension alone.
    assert not eligibility(1962, ("hypertension",), date(2026, 1, 1)).ppv23
    assert eligibility(1961, (), date(2026, 1, 1)).ppv23
    assert eligibility(1990, ("diabetes2",), date(2026, 1, 1)).ppv23
    assert eligibility(1962, (), date(2026, 1, 1), ppv23_age=60).ppv23
    # A dose recorded before 65: one repeat reminder 5 years later.
    first = [AdultRecord(1, "ppv23", 0, "done", date(2026, 3, 1))]
    elig = eligibility(1970, ("diabetes2",), date(2031, 3, 1))
    assert [r.key for r in adult_rows(1, elig, first, date(2031, 2, 28), tz)] == ["flu"]
    repeat = [r for r in adult_rows(1, elig, first, date(2031, 3, 1), tz) if r.key == "ppv23"]
    assert [(r.dedupe_key, r.params) for r in repeat] == [("vxa:1:ppv23:repeat", {"season": 1})]
    old = eligibility(1955, (), date(2031, 3, 1))
    assert [r.key for r in adult_rows(1, old, first, date(2031, 3, 1), tz)] == ["flu"]


async def test_adult_flu_once_a_season_and_ppv23_once(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    rid = await resident_id(rt, user)
    health = rt.stores.health
    await health.set_birth_year(rid, 1950, clock())
    young = make_user("2002")
    await young.onboard()
    await health.set_birth_year(await resident_id(rt, young), 1990, clock())
    sick = make_user("3003")
    await sick.onboard()
    sick_id = await resident_id(rt, sick)
    await health.set_condition(sick_id, "hypertension", "resident", today_of(rt, clock), None)
    adults = rt.services.adult_vaccines
    outbox = rt.stores.outbox
    # flu + PPV23 for the 76-year-old; flu only for the one with high blood pressure.
    assert await adults.plan_all() == 3
    assert await adults.plan_all() == 0
    assert await outbox.for_resident(await resident_id(rt, young), "adult_vaccine") == []
    rows = await outbox.for_resident(rid, "adult_vaccine")
    assert sorted(r.key for r in rows) == ["flu", "ppv23"]
    assert all(not r.urgent and r.expires_at for r in rows)
    render = rt.registry.notifications["adult_vaccine"]
    t = rt.catalogs.get("en")
    flu = next(r for r in rows if r.key == "flu")
    [reply] = await render(rt, t, await resident(rt, user), flu)
    # Marked done from the reminder's button: the reminder is no longer sent.
    await user.press_data(
        next(b.data for b in reply.all_buttons() if "I had the flu vaccine" in b.label)
    )
    assert "This season: ✅ done" in user.texts()
    assert await render(rt, t, await resident(rt, user), flu) == []
    # Declining PPV23 on the adults screen.
    await user.text("💉 Vaccines")
    await user.press("Vaccines for adults")
    await user.press("🚫 I don't want the PPV23 vaccine")
    assert "a second dose 5 years later is recommended. Yours: 🚫 declined" in user.texts()
    # The next autumn: a new flu reminder; no PPV23 ever again.
    clock.set(datetime.combine(date(2027, 9, 2), time(10), rt.settings.tz))
    assert await adults.plan_all() == 2  # flu for both; PPV23 only ever once
    rows = await outbox.for_resident(rid, "adult_vaccine")
    assert Counter(r.key for r in rows) == {"flu": 2, "ppv23": 1}
    # Still in season in December: one more flu reminder each; after March nothing new.
    clock.set(datetime.combine(date(2027, 12, 2), time(10), rt.settings.tz))
    assert await adults.plan_all() == 2
    december = next(
        r
        for r in await outbox.for_resident(rid, "adult_vaccine")
        if r.dedupe_key.endswith(":flu:2027:12")
    )
    [reply] = await render(rt, t, await resident(rt, user), december)
    assert "not too late for this season's flu vaccine" in (reply.text or "")
    clock.set(datetime.combine(date(2028, 4, 2), time(10), rt.settings.tz))
    assert await adults.plan_all() == 0


async def test_adult_marks_cancel_their_reminder_rows_and_undo_plans_again(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    """Marking a vaccine done or declined cancels its pending rows and says how many, from the
    rows; the screen promises each vaccine by name from its own rows; undo plans it again."""
    rid = await resident_id(rt, user)
    await rt.stores.health.set_birth_year(rid, 1950, clock())
    adults, outbox = rt.services.adult_vaccines, rt.stores.outbox
    t = rt.catalogs.get("en")
    assert await adults.plan_all() == 2

    async def rows(key: str, status: str = "pending") -> list[OutboxRow]:
        found = await outbox.for_resident(rid, "adult_vaccine")
        return [r for r in found if r.key == key and r.status == status]

    def promise(name: str, row: OutboxRow) -> str:
        # Planned at 10:00 for 09:30 today: it goes out now, and the promise says so.
        return f"I will remind you about {name} on {t.weekday_datetime(max(row.due_at, clock()))}."

    await user.press_data(cb("adultvax", "show"))
    [flu] = await rows("flu")
    [ppv] = await rows("ppv23")
    assert promise("the flu vaccine", flu) in user.texts()
    await user.press("✅ I had the flu vaccine")
    assert await rows("flu") == [] and [r.id for r in await rows("flu", "cancelled")] == [flu.id]
    text = user.texts()
    assert "Saved. I cancelled 1 reminder about the flu vaccine." in text
    assert "I will remind you about the flu vaccine" not in text
    assert promise("the pneumococcal vaccine (PPV23)", ppv) in text
    await user.press("🚫 I don't want the PPV23 vaccine")
    assert await rows("ppv23") == []
    assert "Saved. I cancelled 1 reminder about the pneumococcal vaccine (PPV23)." in user.texts()
    assert "No reminder of them is waiting for you right now." in user.texts()
    # Undo at 10:00, after today's 09:30 sending time: the flu reminder is planned again
    # (the cancelled row revived) for tomorrow 09:30, and the screen names it from that row.
    await user.press("↩️ Undo: flu vaccine")
    [again] = await rows("flu")
    assert again.id == flu.id and again.due_at == flu.due_at + timedelta(days=1)
    assert "Undone: the flu vaccine is not recorded any more." in user.texts()
    assert promise("the flu vaccine", again) in user.texts()
    assert "about the pneumococcal vaccine" not in user.texts()
    # Nothing was planned for this resident yet: the reply says so rather than "cancelled".
    other = make_user("2002")
    await other.onboard()
    await rt.stores.health.set_birth_year(await resident_id(rt, other), 1950, clock())
    await other.press_data(cb("adultvax", "show"))
    await other.press("✅ I had the PPV23 vaccine")
    assert "Saved. No reminder about the pneumococcal vaccine (PPV23) was waiting." in other.texts()


async def test_the_childs_card_names_its_next_reminder_from_the_rows(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    """The card promises the next reminder only as a pending row of this guardian holds it,
    and says so when there is none (a 7-year-old whose schedule is all given)."""
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -6, 0) + timedelta(days=10))
    await user.press("All up to today")
    rid = await resident_id(rt, user)
    rows = await vaccine_rows(rt, rid)
    assert rows
    first = min(rows, key=lambda r: (r.due_at, r.id))
    t = rt.catalogs.get("en")
    await user.press_data(cb("vaccines", "c", cid))
    assert f"🔔 Next reminder about Mimi: {t.weekday_datetime(first.due_at)}." in user.texts()
    # All doses given: no row, and the card does not promise one.
    older = await add_child(user, add_span(today, -84, 0), nick="Dada")
    await user.press("All up to today")
    record = await rt.services.children.mine(rid, older)
    assert record is not None
    assert not [r for r in await vaccine_rows(rt, rid) if r.params.get("child") == older]
    await user.press_data(cb("vaccines", "c", older))
    assert "🔔 No reminder about Dada is planned right now." in user.texts()


async def test_adult_mark_in_elder_mode_asks_first_then_says_what_it_cancelled(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    rid = await resident_id(rt, user)
    await rt.stores.health.set_birth_year(rid, 1950, clock())
    me = await rt.stores.residents.get(rid)
    assert me is not None
    await rt.stores.residents.update(me, elder_mode=True)
    assert await rt.services.adult_vaccines.plan_all() == 2
    await user.press_data(cb("adultvax", "rec", "flu", "declined"))
    assert "Save: you do not want the flu vaccine this season?" in user.texts()
    flu = [r for r in await rt.stores.outbox.for_resident(rid, "adult_vaccine") if r.key == "flu"]
    assert [r.status for r in flu] == ["pending"]  # nothing saved or cancelled before "Yes"
    await user.press("✅")
    flu = [r for r in await rt.stores.outbox.for_resident(rid, "adult_vaccine") if r.key == "flu"]
    assert [r.status for r in flu] == ["cancelled"]
    assert "Saved. I cancelled 1 reminder about the flu vaccine." in user.texts()
    assert "This season: 🚫 declined" in user.texts()
