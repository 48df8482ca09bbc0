"""Parents in the chat: add a child by buttons, the card, recording doses, forged buttons,
sharing with a second guardian, /mydata and /delete."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from bot.callbacks import cb
from bot.config import ROOT
from bot.runtime import Runtime
from bot.services.vaccines.model import add_span
from tests.conftest import Clock
from tests.harness import ChatUser

STALE = "out of date"


def today_of(rt: Runtime, clock: Clock) -> date:
    return clock().astimezone(rt.settings.tz).date()


async def resident_id(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
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
    await u.press_data(cb("addchild", "y", born.year))
    await u.press_data(cb("addchild", "m", f"{born.year}{born.month:02d}"))
    await u.press_data(cb("addchild", "d", born.strftime("%Y%m%d")))
    children = await u.rt.stores.vaccines.children_of(await resident_id(u.rt, u))
    assert children and children[-1].born == born
    return children[-1].id


async def vaccine_rows(rt: Runtime, rid: int, status: str = "pending") -> list:
    rows = await rt.stores.outbox.for_resident(rid, "vaccine")
    return [r for r in rows if r.status == status]


async def test_ten_month_old_who_missed_one_dose(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    """Done means: a child born 10 months ago who missed one dose; reminders are rows; marking
    the dose done moves the schedule on."""
    today = today_of(rt, clock)
    born = add_span(today, -10, 0)
    directory = rt.services.directory
    await directory.load_sample(ROOT / "content" / "district")
    await directory.set_home(await resident_id(rt, user), "朱泾", "东林居委")
    cid = await add_child(user, born)
    assert "Which vaccines has Mimi already had?" in user.texts()
    await user.press("All up to today")
    assert "🎉" not in user.texts()
    # The 6-month DTaP was in fact missed: untick it in the 6-month group.
    await user.press_data(cb("addchild", "g", cid, 6))
    await user.press("(DTaP-3)")
    assert any(label.startswith("⬜") and "DTaP-3" in label for label in user.labels())
    await user.press_data(cb("vaccines", "c", cid))
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
    assert cb("book", "new", "vaccination") in [
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
    resident = await rt.stores.residents.get(rid)
    assert resident is not None
    [reply] = await render(rt, t, resident, row)
    labels = [b.label for b in reply.all_buttons()]
    dtap3 = "DTaP vaccine (diphtheria, tetanus, acellular pertussis), dose 3 (DTaP-3)"
    assert f"✅ Done: {dtap3}" in labels and "⏰ Remind me in 3 days" in labels
    done = next(b.data for b in reply.all_buttons() if b.label == f"✅ Done: {dtap3}")
    await user.press_data(done)
    assert f"When was {dtap3} given?" in user.texts()
    await user.press("Today")
    text = user.texts()
    assert f"Recorded: {dtap3}" in text and "Due now" not in text
    record = await rt.stores.vaccines.record(cid)
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
    await user.press_data(cb("addchild", "y", today.year))
    assert len(user.labels()) - 2 == today.month  # months up to this one, plus Back / Home
    await user.press_data(cb("addchild", "m", f"{today.year}{today.month:02d}"))
    assert str(today.day + 1) not in user.labels()
    # Forged future dates change nothing.
    tomorrow = today + timedelta(days=1)
    await user.press_data(cb("addchild", "d", tomorrow.strftime("%Y%m%d")))
    assert STALE in user.texts()
    await user.press_data(cb("addchild", "m", f"{today.year + 1}01"))
    assert STALE in user.texts()
    await user.press_data(cb("addchild", "d", "20261340"))
    assert STALE in user.texts()
    assert await rt.stores.vaccines.children_of(await resident_id(rt, user)) == []
    # A newborn: born today, no nickname.
    await user.text("💉 Vaccines")
    await user.press("Add a child")
    await user.press("Skip")
    await user.press_data(cb("addchild", "d", today.strftime("%Y%m%d")))
    assert "your child" in user.texts()


async def test_forged_buttons_change_nothing(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -3, 0))
    other = make_user("2002")
    await other.onboard()
    for data in (
        cb("vaccines", "c", cid),
        cb("vaccines", "rmok", cid),
        cb("vaccines", "share", cid),
        cb("addchild", "t", cid, "HepB-1"),
        cb("vaxremind", "on", cid, "HepB-1", today.strftime("%Y%m%d")),
    ):
        await other.press_data(data)
        assert STALE in other.texts(), data
    store = rt.stores.vaccines
    record = await store.record(cid)
    assert record is not None and record.given == {}
    for data in (
        cb("vaxremind", "on", cid, "XYZ-1", today.strftime("%Y%m%d")),  # no such dose
        cb("vaxremind", "done", cid, "HepB-9"),
        cb("vaxremind", "on", cid, "HepB-1", (today + timedelta(days=1)).strftime("%Y%m%d")),
        cb("vaxremind", "on", cid, "HepB-1", "20200101"),  # before the birth
        cb("vaxremind", "on", cid, "HepB-1", "2026x101"),
        cb("addchild", "g", cid, 99),
        cb("vaccines", "c", 999999),
        cb("vaxremind", "snz", 123456),
    ):
        await user.press_data(data)
        assert STALE in user.texts(), data
    record = await store.record(cid)
    assert record is not None and record.given == {}


async def test_record_a_dose_on_a_picked_date(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    today = today_of(rt, clock)
    born = add_span(today, -3, 0)
    cid = await add_child(user, born)
    await user.press_data(cb("vaccines", "c", cid))
    await user.press("Record a dose")
    await user.press("(HepB-1)")
    await user.press("Another day")
    assert str(born.year - 1) not in user.labels()
    await user.press_data(cb("vaxremind", "pm", cid, "HepB-1", born.year))
    await user.press_data(cb("vaxremind", "pd", cid, "HepB-1", f"{born.year}{born.month:02d}"))
    assert str(born.day - 1) not in user.labels() or born.day == 1
    await user.press_data(cb("vaxremind", "on", cid, "HepB-1", born.strftime("%Y%m%d")))
    assert "Recorded: Hepatitis B vaccine, dose 1 (HepB-1) given on" in user.texts()
    record = await rt.stores.vaccines.record(cid)
    assert record is not None and record.given == {"HepB-1": born}


async def test_share_with_a_second_guardian(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    today = today_of(rt, clock)
    cid = await add_child(user, add_span(today, -10, 0))  # nothing given yet: reminders due
    await user.press_data(cb("vaccines", "share", cid))
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
    store = rt.stores.vaccines
    mum_id, dad_id = await resident_id(rt, user), await resident_id(rt, dad)
    record = await store.record(cid)
    assert record is not None and record.guardians == (mum_id, dad_id)
    # Used codes do not work twice.
    gran = make_user("3003")
    await gran.onboard()
    await gran.text(f"/child {code.group(1)}")
    assert "already used" in gran.texts()
    # Expired codes do not work.
    await user.press_data(cb("vaccines", "share", cid))
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
    await user.press_data(cb("vaccines", "share", cid))
    code = re.search(r"guardian: ([A-Z2-9]{8})", user.texts())
    assert code is not None
    dad = make_user("2002")
    await dad.onboard()
    await dad.text(f"/child {code.group(1)}")
    dad_id = await resident_id(rt, dad)
    await user.text("/delete")
    await user.press("Yes, delete everything")
    store = rt.stores.vaccines
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
    await user.press_data(cb("addchild", "g", cid, 0))
    assert await vaccine_rows(rt, rid)
    await user.press_data(cb("vaccines", "rm", cid))
    await user.press("Yes, remove")
    assert await rt.stores.vaccines.record(cid) is None
    assert await vaccine_rows(rt, rid) == []
    assert "Add a child" in " ".join(user.labels())


# -- month names, dose names, whole-sentence labels, and elder mode ----------------------------
async def elder(rt: Runtime, u: ChatUser) -> int:
    rid = await resident_id(rt, u)
    residents = rt.stores.residents
    found = await residents.get(rid)
    assert found is not None
    await residents.update(found, elder_mode=True)
    return rid


def button_data(u: ChatUser, label: str) -> str:
    found = [b.data for r in u.all_replies() for b in r.all_buttons() if b.label == label]
    assert found and found[0], (label, u.labels())
    return found[0]


async def test_month_buttons_follow_the_readers_language(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    last_year = today_of(rt, clock).year - 1
    zh = make_user("2002", language_code="zh-CN")
    await zh.onboard(language="中文")
    expected = [
        (
            user,
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        ),
        (zh, [f"{m}月" for m in range(1, 13)]),
    ]
    for u, months in expected:
        # Adding a child: the birth month.
        await u.text("/vaccines")
        await u.press("➕")
        await u.press_data(cb("addchild", "skip"))
        await u.press_data(cb("addchild", "y", last_year))
        assert u.labels()[:12] == months
        # Recording a dose on another day: the month it was given.
        await u.press_data(cb("addchild", "d", f"{last_year}0101"))
        cid = (await rt.stores.vaccines.children_of(await resident_id(rt, u)))[-1].id
        await u.press_data(cb("vaxremind", "pm", cid, "HepB-1", last_year))
        assert u.labels()[:12] == months


async def test_elder_mode_asks_before_adding_a_child(rt: Runtime, user: ChatUser, clock) -> None:
    rid = await elder(rt, user)
    store = rt.stores.vaccines
    born = add_span(today_of(rt, clock), -3, 0)
    await user.text("💉 Vaccines")
    await user.press("Add a child")
    await user.text("Mimi")
    await user.press_data(cb("addchild", "y", born.year))
    await user.press_data(cb("addchild", "m", f"{born.year}{born.month:02d}"))
    await user.press_data(cb("addchild", "d", born.strftime("%Y%m%d")))
    t = rt.catalogs.get("en")
    assert f"Save: Mimi, born {t.date(born)}?" in user.texts()
    assert {"✅ Yes", "❌ No", "🏠 Home"} <= set(user.labels())
    assert await store.children_of(rid) == []  # nothing saved before "Yes"
    yes = button_data(user, "✅ Yes")
    await user.press_data(yes)
    assert "Which vaccines has Mimi already had?" in user.texts()
    assert [c.nickname for c in await store.children_of(rid)] == ["Mimi"]
    # The same "Yes" again (a double tap, or an old message) adds no second child.
    await user.press_data(yes)
    assert STALE in user.texts()
    assert len(await store.children_of(rid)) == 1


async def test_elder_mode_asks_before_recording_doses(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    today = today_of(rt, clock)
    born = add_span(today, -3, 0)
    cid = await add_child(user, born)  # added in normal mode
    await elder(rt, user)
    store = rt.stores.vaccines

    async def given() -> dict[str, date]:
        record = await store.record(cid)
        assert record is not None
        return dict(record.given)

    # "All up to today": asked, "No" saves nothing, "Yes" saves.
    await user.press_data(cb("addchild", "list", cid))
    await user.press("All up to today")
    assert "Save: every dose up to today was given on time?" in user.texts()
    await user.press("❌ No")
    assert await given() == {}
    await user.press("All up to today")
    await user.press("✅ Yes")
    assert {"HepB-1", "BCG-1", "HepB-2"} <= set(await given())

    # Untick one dose of the birth group: asked by its name, then saved once.
    await user.press_data(cb("addchild", "g", cid, 0))
    await user.press("(HepB-1)")
    assert "Save: Hepatitis B vaccine, dose 1 (HepB-1) was not given after all?" in user.texts()
    assert "HepB-1" in await given()
    yes = button_data(user, "✅ Yes")
    await user.press_data(yes)
    assert "HepB-1" not in await given()
    await user.press_data(yes)  # an old "Yes": already so, nothing flips back
    assert user.last is not None and user.last.toast == "Already up to date."
    assert "HepB-1" not in await given()

    # A dose with its real date, from the card.
    await user.press_data(cb("vaccines", "c", cid))
    await user.press("Record a dose")
    await user.press("(HepB-1)")
    await user.press("Yesterday")
    yesterday = today - timedelta(days=1)
    t = rt.catalogs.get("en")
    assert (
        f"Save: Hepatitis B vaccine, dose 1 (HepB-1) given on {t.date(yesterday)}?" in user.texts()
    )
    assert "HepB-1" not in await given()
    await user.press("✅ Yes")
    assert "✅ Recorded: Hepatitis B vaccine, dose 1 (HepB-1)" in user.texts()
    assert (await given())["HepB-1"] == yesterday
    # Removing asks as before, and in elder mode that question has 🏠 Home too.
    await user.press("🗑 Remove")
    assert {"🗑 Yes, remove", "❌ No, keep", "🏠 Home"} <= set(user.labels())


async def test_chinese_checklist_and_reminder_name_each_dose(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    u = make_user("2002", language_code="zh-CN")
    await u.onboard(language="中文")
    rid = await elder(rt, u)
    born = add_span(today_of(rt, clock), -10, 0)
    await u.text("/vaccines")
    await u.press("➕")
    await u.press_data(cb("addchild", "skip"))
    await u.press_data(cb("addchild", "d", born.strftime("%Y%m%d")))
    await u.press("✅ 是")
    text = u.texts()
    assert "⬜ 乙肝疫苗第1剂（HepB-1）" in text and "⬜ 百白破疫苗第3剂（DTaP-3）" in text
    assert ", " not in text and "• 出生时（0/2）" in text
    # The reminder as it is sent: each "done" button names its dose; Home in elder mode.
    (row,) = await vaccine_rows(rt, rid)
    resident = await rt.stores.residents.get(rid)
    assert resident is not None
    render = rt.registry.notifications["vaccine"]
    (reply,) = await render(rt, rt.catalogs.get("zh_Hans"), resident, row)
    done = [b.label for b in reply.all_buttons() if (b.data or "").startswith("v1:vaxremind:done:")]
    assert done and all(label.startswith("✅ 已打：") and "剂（" in label for label in done)
    assert [b.label for b in reply.buttons[-1]] == ["🏠 首页"]
    assert all(len(r) <= 2 for r in reply.buttons)
    # Not in normal mode: the reminder is laid out as before.
    normal = await render(rt, rt.catalogs.get("zh_Hans"), replace(resident, elder_mode=False), row)
    assert "🏠 首页" not in [b.label for b in normal[0].all_buttons()]


async def test_adult_vaccine_buttons_are_whole_sentences_and_elder_mode_asks(
    rt: Runtime, user: ChatUser, make_user: Callable[..., ChatUser]
) -> None:
    zh = make_user("2002", language_code="zh-CN")
    await zh.onboard(language="中文")
    await zh.press_data(cb("adultvax", "show"))
    assert {"✅ 我打过流感疫苗了", "🚫 我不打23价肺炎球菌疫苗"} <= set(zh.labels())
    assert not any("：" in label and "撤销" not in label for label in zh.labels())
    await zh.press("✅ 我打过流感疫苗了")  # normal mode: saved at once
    assert "↩️ 撤销：流感疫苗" in zh.labels()

    rid = await elder(rt, user)
    adults = rt.services.adult_vaccines
    await user.press_data(cb("adultvax", "show"))
    assert "✅ I had the flu vaccine" in user.labels()
    await user.press("🚫 I don't want the PPV23 vaccine")
    assert "Save: you do not want the pneumococcal vaccine (PPV23)?" in user.texts()
    assert (await adults.status(rid)).ppv23 is None
    await user.press("✅ Yes")
    assert (await adults.status(rid)).ppv23 == "declined"
    await user.press("↩️ Undo: PPV23 vaccine")
    assert "Undo what you saved about the pneumococcal vaccine (PPV23)?" in user.texts()
    await user.press("❌ No")
    assert (await adults.status(rid)).ppv23 == "declined"
