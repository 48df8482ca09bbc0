"""Parents in the chat: add a child by buttons, the card, recording doses, forged buttons,
sharing with a second guardian, /mydata and /delete."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta

from bot.callbacks import cb
from bot.config import ROOT
from bot.runtime import Runtime
from bot.services.directory import DirectoryService
from bot.services.vaccines.model import add_span
from bot.storage.outbox import OutboxStore
from bot.storage.residents import ResidentStore
from bot.storage.vaccines import VaccineStore
from tests.conftest import Clock
from tests.harness import ChatUser

STALE = "out of date"


def today_of(rt: Runtime, clock: Clock) -> date:
    return clock().astimezone(rt.settings.tz).date()


async def resident_id(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.service(ResidentStore).load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def add_child(u: ChatUser, born: date, nick: str | None = "Mimi") -> int:
    """Through the buttons: Vaccines → Add a child → nickname → year → month → day."""
    await u.text("💉 Vaccines")
    await u.press("Add a child")
    if nick is None:
        await u.press("Skip")
    else:
        await u.text(nick)
    assert str(born.year) in u.labels()
    await u.press_data(cb("vxa", "y", born.year))
    await u.press_data(cb("vxa", "m", f"{born.year}{born.month:02d}"))
    await u.press_data(cb("vxa", "d", born.strftime("%Y%m%d")))
    children = await u.rt.service(VaccineStore).children_of(await resident_id(u.rt, u))
    assert children and children[-1].born == born
    return children[-1].id


async def vaccine_rows(rt: Runtime, rid: int, status: str = "pending") -> list:
    rows = await rt.service(OutboxStore).for_resident(rid, "vaccine")
    return [r for r in rows if r.status == status]


async def test_ten_month_old_who_missed_one_dose(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    """Done means: a child born 10 months ago who missed one dose; reminders are rows; marking
    the dose done moves the schedule on."""
    today = today_of(rt, clock)
    born = add_span(today, -10, 0)
    directory = rt.service(DirectoryService)
    await directory.load_sample(ROOT / "content" / "district")
    await directory.set_home(await resident_id(rt, user), "朱泾", "东林居委")
    cid = await add_child(user, born)
    assert "Which vaccines has Mimi already had?" in user.texts()
    await user.press("All up to today")
    assert "🎉" not in user.texts()
    # The 6-month DTaP was in fact missed: untick it in the 6-month group.
    await user.press_data(cb("vxa", "g", cid, 6))
    await user.press("(DTaP-3)")
    assert any(label.startswith("⬜") and "DTaP-3" in label for label in user.labels())
    await user.press_data(cb("vx", "c", cid))
    text = user.texts()
    t = rt.catalogs.get("en")
    six_months, first_birthday = add_span(born, 6, 0), add_span(born, 12, 0)
    assert "Due now:" in text
    assert "dose 3 (DTaP-3)" in text
    assert (
        f"due since {t.date(six_months)}; give it by {t.date(first_birthday - timedelta(1))}"
        in text
    )
    assert "whooping cough" in text
    assert "Next:" in text and f"from {t.date(add_span(born, 18, 0))}" in text
    assert "Where to go: Zhujing Community Health Service Centre" in text
    assert "Hours: Mon–Fri 08:00-16:30" in text
    assert cb("bk", "new", "vaccination") in [
        b.data for r in user.all_replies() for b in r.all_buttons()
    ]

    # The catch-up reminder is a row: weekly, on the child's birth weekday.
    rid = await resident_id(rt, user)
    rows = await vaccine_rows(rt, rid)
    assert len(rows) == 1
    row = rows[0]
    assert row.params["doses"] == [["DTaP-3", "still_due"]]
    on = date.fromisoformat(row.params["on"])
    assert on.weekday() == born.weekday() and today < on <= today + timedelta(days=7)
    assert not row.urgent and row.expires_at is not None and row.expires_at > row.due_at

    # The reminder as it is sent: Done / Remind me in 3 days / Book.
    render = rt.registry.notifications["vaccine"]
    resident = await rt.service(ResidentStore).get(rid)
    assert resident is not None
    [reply] = await render(rt, t, resident, row)
    labels = [b.label for b in reply.all_buttons()]
    assert "✅ DTaP-3 done" in labels and "⏰ Remind me in 3 days" in labels
    done = next(b.data for b in reply.all_buttons() if b.label == "✅ DTaP-3 done")
    await user.press_data(done)
    assert "When was DTaP-3 given?" in user.texts()
    await user.press("Today")
    text = user.texts()
    assert "Recorded: DTaP-3" in text and "Due now" not in text
    record = await rt.service(VaccineStore).record(cid)
    assert record is not None and record.given["DTaP-3"] == today
    # The schedule moved on: the old reminder is cancelled, and sending it now sends nothing.
    assert row.dedupe_key in [r.dedupe_key for r in await vaccine_rows(rt, rid, "cancelled")]
    assert await vaccine_rows(rt, rid) == []  # the next reminder (18 months) is far off
    assert await render(rt, t, resident, row) == []
    assert f"from {t.date(add_span(born, 18, 0))}" in text


async def test_nickname_skip_and_no_future_dates(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    today = today_of(rt, clock)
    await user.text("💉 Vaccines")
    await user.press("Add a child")
    await user.press("Skip")
    assert str(today.year + 1) not in user.labels()
    await user.press_data(cb("vxa", "y", today.year))
    assert len(user.labels()) - 2 == today.month  # months up to this one, plus Back / Home
    await user.press_data(cb("vxa", "m", f"{today.year}{today.month:02d}"))
    assert str(today.day + 1) not in user.labels()
    # Forged future dates change nothing.
    tomorrow = today + timedelta(days=1)
    await user.press_data(cb("vxa", "d", tomorrow.strftime("%Y%m%d")))
    assert STALE in user.texts()
    await user.press_data(cb("vxa", "m", f"{today.year + 1}01"))
    assert STALE in user.texts()
    await user.press_data(cb("vxa", "d", "20261340"))
    assert STALE in user.texts()
    assert await rt.service(VaccineStore).children_of(await resident_id(rt, user)) == []
    # A newborn: born today, no nickname.
    await user.text("💉 Vaccines")
    await user.press("Add a child")
    await user.press("Skip")
    await user.press_data(cb("vxa", "d", today.strftime("%Y%m%d")))
    assert "your child" in user.texts()


async def test_forged_buttons_change_nothing(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -3, 0))
    other = make_user("2002")
    await other.onboard()
    for data in (
        cb("vx", "c", cid),
        cb("vx", "rmok", cid),
        cb("vx", "share", cid),
        cb("vxa", "t", cid, "HepB-1"),
        cb("vxr", "on", cid, "HepB-1", today.strftime("%Y%m%d")),
    ):
        await other.press_data(data)
        assert STALE in other.texts(), data
    store = rt.service(VaccineStore)
    record = await store.record(cid)
    assert record is not None and record.given == {}
    for data in (
        cb("vxr", "on", cid, "XYZ-1", today.strftime("%Y%m%d")),  # no such dose
        cb("vxr", "done", cid, "HepB-9"),
        cb("vxr", "on", cid, "HepB-1", (today + timedelta(days=1)).strftime("%Y%m%d")),
        cb("vxr", "on", cid, "HepB-1", "20200101"),  # before the birth
        cb("vxr", "on", cid, "HepB-1", "2026x101"),
        cb("vxa", "g", cid, 99),
        cb("vx", "c", 999999),
        cb("vxr", "snz", 123456),
    ):
        await user.press_data(data)
        assert STALE in user.texts(), data
    record = await store.record(cid)
    assert record is not None and record.given == {}


async def test_record_a_dose_on_a_picked_date(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    today = today_of(rt, clock)
    born = add_span(today, -3, 0)
    cid = await add_child(user, born)
    await user.press_data(cb("vx", "c", cid))
    await user.press("Record a dose")
    await user.press("(HepB-1)")
    await user.press("Another day")
    assert str(born.year - 1) not in user.labels()
    await user.press_data(cb("vxr", "pm", cid, "HepB-1", born.year))
    await user.press_data(cb("vxr", "pd", cid, "HepB-1", f"{born.year}{born.month:02d}"))
    assert str(born.day - 1) not in user.labels() or born.day == 1
    await user.press_data(cb("vxr", "on", cid, "HepB-1", born.strftime("%Y%m%d")))
    assert "Recorded: HepB-1" in user.texts()
    record = await rt.service(VaccineStore).record(cid)
    assert record is not None and record.given == {"HepB-1": born}


async def test_share_with_a_second_guardian(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -10, 0))  # nothing given yet: reminders due
    await user.press_data(cb("vx", "share", cid))
    code = re.search(r"guardian: ([A-Z2-9]{8})", user.texts())
    assert code is not None
    dad = make_user("2002")
    await dad.onboard()
    await dad.text("/child ABCDEFGH")
    assert "not right" in dad.texts()
    await dad.text("💉 Vaccines")
    await dad.press("I have a code")
    await dad.text(code.group(1).lower())  # typed in lower case: still fine
    assert "you now follow this child" in dad.texts() and "Mimi" in dad.texts()
    store = rt.service(VaccineStore)
    mum_id, dad_id = await resident_id(rt, user), await resident_id(rt, dad)
    record = await store.record(cid)
    assert record is not None and record.guardians == (mum_id, dad_id)
    # Used codes do not work twice.
    gran = make_user("3003")
    await gran.onboard()
    await gran.text(f"/child {code.group(1)}")
    assert "already used" in gran.texts()
    # Expired codes do not work.
    await user.press_data(cb("vx", "share", cid))
    second = re.search(r"guardian: ([A-Z2-9]{8})", user.texts())
    assert second is not None
    clock.set(clock() + timedelta(hours=49))
    await gran.text(f"/child {second.group(1)}")
    assert "expired" in gran.texts()
    assert await store.children_of(await resident_id(rt, gran)) == []
    # Both guardians get each reminder.
    rows_mum = await vaccine_rows(rt, mum_id)
    rows_dad = await vaccine_rows(rt, dad_id)
    assert rows_mum and len(rows_mum) == len(rows_dad)
    assert [r.params for r in rows_mum] == [r.params for r in rows_dad]


async def test_mydata_and_delete_follow_the_guardians(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -4, 0), nick="Bao")
    await user.press("All up to today")
    await user.text("/mydata")
    doc = next(r.document for r in user.all_replies() if r.document is not None)
    data = json.loads(doc.content)
    assert [c["nickname"] for c in data["children"]] == ["Bao"]
    assert {d["dose"] for d in data["child_doses"]} >= {"HepB-1", "BCG-1", "HepB-2"}
    # Shared, then the owner deletes their data: the child stays with the other guardian.
    await user.press_data(cb("vx", "share", cid))
    code = re.search(r"guardian: ([A-Z2-9]{8})", user.texts())
    assert code is not None
    dad = make_user("2002")
    await dad.onboard()
    await dad.text(f"/child {code.group(1)}")
    dad_id = await resident_id(rt, dad)
    await user.text("/delete")
    await user.press("Yes, delete everything")
    store = rt.service(VaccineStore)
    record = await store.record(cid)
    assert record is not None and record.guardians == (dad_id,)
    assert record.child.owner_id == dad_id and "HepB-1" in record.given
    await dad.text("/mydata")
    doc = next(r.document for r in dad.all_replies() if r.document is not None)
    assert [c["nickname"] for c in json.loads(doc.content)["children"]] == ["Bao"]
    # The last guardian deletes theirs: the child and its doses are gone.
    await dad.text("/delete")
    await dad.press("Yes, delete everything")
    assert await store.record(cid) is None
    assert await rt.db.fetchval("SELECT COUNT(*) FROM child_doses") == 0


async def test_remove_a_child(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -10, 0))
    rid = await resident_id(rt, user)
    await user.press_data(cb("vxa", "g", cid, 0))
    assert await vaccine_rows(rt, rid)
    await user.press_data(cb("vx", "rm", cid))
    await user.press("Yes, remove")
    assert await rt.service(VaccineStore).record(cid) is None
    assert await vaccine_rows(rt, rid) == []
    assert "Add a child" in " ".join(user.labels())
