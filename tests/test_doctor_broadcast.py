"""Broadcasts: composed with buttons, planned one row per recipient, delivered through the
pipeline, followed in one progress message, cancelled, limited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.callbacks import cb
from bot.domain.directory import Doctor
from bot.runtime import Runtime
from bot.services.broadcast_progress import REPORT_KIND, ProgressLoop
from bot.services.broadcasts import BroadcastError, Draft, load_templates
from handlers.doctor.broadcast_progress import progress_loop, render_broadcast, render_progress
from tests.conftest import Clock
from tests.doctor_fixtures import (
    CHEN,
    WANG,
    RecordingSender,
    bulk_signed,
    linked_doctor,
    load_district,
    signed_resident,
)
from tests.harness import ChatUser


@pytest.fixture
async def sender(rt: Runtime) -> RecordingSender:
    s = RecordingSender(blocked={"r4"})
    rt.senders["test"] = s
    return s


async def residents(rt: Runtime) -> dict[str, int]:
    ids = {
        "r1": await signed_resident(rt, "r1", conditions=("hypertension",)),
        "r2": await signed_resident(rt, "r2", conditions=("hypertension",), locale="zh_Hans"),
        "r3": await signed_resident(rt, "r3", conditions=("diabetes2",), birth_year=1950),
        "r4": await signed_resident(rt, "r4", conditions=("hypertension",)),  # blocked the bot
        "other": await signed_resident(
            rt, "other", CHEN, community="待泾村", conditions=("hypertension",)
        ),
    }
    await rt.stores.residents.mark_unreachable(ids["r4"])
    return ids


async def compose_typed(doctor: ChatUser, audience: str, text: str) -> None:
    await doctor.press_data(cb("broadcast", "new"))
    await doctor.press(audience)
    await doctor.press("Type my own message")
    await doctor.text(text)
    await doctor.press("Now")


async def test_broadcast_to_hypertension_patients_end_to_end(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    ids = await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("Hypertension")
    assert "Hypertension patients: 3 residents" in doctor.texts()
    assert "1 blocked the bot" in doctor.texts()
    await doctor.press("Type my own message")
    await doctor.text("Free blood pressure checks this Saturday morning.")
    await doctor.press("Now")
    assert "Free blood pressure checks" in doctor.texts()  # the preview
    await doctor.press("Send to 3")
    assert "sent 0 / 3" in doctor.texts()
    assert doctor.last.replies[-1].edit  # the confirm screen became the progress message

    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    rows = [
        r for r in await rt.db.fetchall("SELECT * FROM outbox WHERE group_key = ?", (f"bc:{b.id}",))
    ]
    assert b.total == len(rows) == 3
    assert {r["dedupe_key"] for r in rows} == {f"bc:{b.id}:{ids[k]}" for k in ("r1", "r2", "r4")}

    await rt.delivery.dispatcher.drain()
    header = "📢 From your family doctor Dr Wang Lihua:\n"
    assert [r.text for r in sender.to("r1")] == [
        header + "Free blood pressure checks this Saturday morning."
    ]
    assert sender.to("r2")[0].text.startswith("📢 您的家庭医生王丽华：")  # her own language
    assert sender.to("r4") == [] and sender.to("r3") == [] and sender.to("other") == []

    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    done = await rt.stores.broadcasts.get(b.id)
    assert (done.status, done.sent, done.unreachable) == ("done", 2, 1)
    await rt.delivery.dispatcher.drain()  # the report is an outbox row
    to_doctor = sender.to(doctor.user_id)
    assert to_doctor[0].edit and "sent 2 / 3 · 1 unreachable" in to_doctor[0].text
    assert "Report for broadcast" in to_doctor[1].text
    assert "broadcast" in [e.action for e in await rt.stores.doctors.audit_since(0)]


async def _wang(rt: Runtime) -> Doctor:
    doctor = await rt.services.directory.doctor(WANG)
    assert doctor is not None
    return doctor


async def test_template_in_each_recipients_language(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Flu season")
    await doctor.press("Now")
    await doctor.press("Send to 4")
    await rt.delivery.dispatcher.drain()
    en, zh = sender.to("r1")[0], sender.to("r2")[0]
    assert "Flu season is here" in en.text and "Dr Wang Lihua" in en.text
    assert "流感" in zh.text and "王丽华" in zh.text
    assert en.buttons[0][0].data == cb("book", "new", "vaccination")


async def test_other_teams_residents_are_never_in_an_audience(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    ids = await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("one community")
    assert "待泾村" not in doctor.labels()  # Chen's community is not offered
    forged = await rt.services.directory.community_ref("朱泾", "待泾村")
    await doctor.press_data(cb("broadcast", "c", forged.key))
    assert "out of date" in doctor.texts()
    service = rt.services.broadcasts
    wang = await _wang(rt)
    for audience in ("all", "hypertension", "diabetes2", "elderly"):
        got = {r.resident_id for r in await service.recipients(wang, audience)}
        assert ids["other"] not in got
    assert {r.resident_id for r in await service.recipients(wang, "elderly")} == {ids["r3"]}


async def test_parents_of_children_due_a_vaccine_this_month(rt: Runtime) -> None:
    await load_district(rt)
    ids = await residents(rt)
    children = rt.services.children
    await children.add(ids["r1"], "Baby", date(2026, 11, 20))  # birth doses due now
    await children.add(ids["other"], "Other baby", date(2026, 11, 20))  # another team's
    wang = await _wang(rt)
    got = await rt.services.broadcasts.recipients(wang, "vaccine")
    assert [r.resident_id for r in got] == [ids["r1"]]


async def test_cancel_stops_sending(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "All my signed residents", "Clinic moves to room 3.")
    await doctor.press("Send to 4")
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    row = await rt.stores.outbox.by_dedupe(f"bc:{b.id}:{await _id(rt, 'r1')}")
    await doctor.press("Cancel the broadcast")
    # Asked first: nothing is cancelled until the doctor confirms.
    assert "Cancel broadcast #" in doctor.texts() and "cannot be undone" in doctor.texts()
    assert (await rt.stores.broadcasts.get(b.id)).status == "sending"
    assert row is not None and (await rt.stores.outbox.get(row.id)).status == "pending"
    await doctor.press("Yes, cancel it")
    assert "was cancelled" in doctor.texts()
    assert await rt.delivery.dispatcher.drain() == 0
    assert sender.to("r1") == [] and sender.to("r2") == []
    # A row the dispatcher had already claimed renders to nothing once cancelled.
    resident = await rt.stores.residents.get(row.resident_id)
    assert await render_broadcast(rt, rt.catalogs.get("en"), resident, row) == []
    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    done = await rt.stores.broadcasts.get(b.id)
    assert (done.status, done.sent, done.not_sent) == ("cancelled", 0, 4)
    # Someone else's broadcast cannot be cancelled by forging the button.
    await doctor.press_data(cb("progress", "x", b.id + 1))
    assert "out of date" in doctor.texts()


async def _id(rt: Runtime, user_id: str) -> int:
    loaded = await rt.stores.residents.load("test", user_id)
    assert loaded is not None
    return loaded[0].id


async def test_daily_limit(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    for i in range(rt.settings.broadcasts_per_day):
        await compose_typed(doctor, "All my signed residents", f"Notice {i}")
        await doctor.press("Send to 4")
        assert "going out" in doctor.texts()
    await doctor.press_data(cb("broadcast", "new"))
    assert "today's limit of 3" in doctor.texts()
    with pytest.raises(BroadcastError):
        await rt.services.broadcasts.create(
            await _wang(rt), Draft("all", text="one more"), ("test", doctor.user_id, None)
        )
    assert len(await rt.services.broadcasts.recent(await _wang(rt))) == 3


async def test_more_than_500_needs_a_second_confirmation(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await bulk_signed(rt, 501)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "Hypertension", "Blood pressure day on Friday.")
    await doctor.press("Send to 501")
    assert "goes to 501 people" in doctor.texts()
    assert await rt.services.broadcasts.recent(await _wang(rt)) == []
    with pytest.raises(BroadcastError):
        await rt.services.broadcasts.create(
            await _wang(rt), Draft("hypertension", text="x"), ("test", doctor.user_id, None)
        )
    await doctor.press("Yes, send to 501")
    assert "sent 0 / 501" in doctor.texts()
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    assert (await rt.services.broadcasts.progress(b.id)).total == b.total == 501


async def test_typed_text_over_1000_characters_is_refused_kindly(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Type my own message")
    await doctor.text("x" * 1001)
    assert "1,001 characters" in doctor.texts()
    await doctor.text("y" * 1000)
    assert "When should it go out" in doctor.texts()


async def test_scheduled_broadcast_waits_for_its_time(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender, clock: Clock
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Heat wave")
    await doctor.press("Tomorrow")
    await doctor.press("09:00")
    assert "When:" in doctor.texts()
    await doctor.press("Send to 4")
    assert "scheduled for" in doctor.texts()
    assert await rt.delivery.dispatcher.drain() == 0
    clock.set(clock.current + timedelta(days=1))  # 10:00 tomorrow
    await rt.delivery.dispatcher.drain()
    assert "very hot" in sender.to("r1")[0].text


def test_shipped_templates_are_complete(rt: Runtime) -> None:
    templates = load_templates(rt.settings.content_dir / "broadcasts")
    assert set(templates) == {"flu", "heat", "closed", "screening"}
    for t in templates.values():
        assert set(t.text) == set(t.title) == {"zh_Hans", "en"}
        for text in t.text.values():
            text.format(doctor="D", centre="C", phone="P")  # only known placeholders


async def test_my_broadcasts_lists_and_follows(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "All my signed residents", "Surgery hours change next week.")
    await doctor.press("Send to 4")
    await doctor.press("Doctor's desk")
    await doctor.press("My broadcasts")
    assert "sent 0 / 4 · 0 unreachable" in doctor.texts()
    await doctor.press("Follow #")
    assert "is going out" in doctor.texts() and doctor.last.replies[-1].edit
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    assert b.progress_ref == "1"  # the message the doctor pressed in


@pytest.mark.parametrize(
    ("steps", "button"),
    [
        ((), cb("broadcast", "go")),  # a fresh compose, the old confirm screen's Send
        ((), cb("broadcast", "u")),  # … its "Mark urgent"
        ((), cb("broadcast", "go2")),
        ((), cb("broadcast", "back")),
        ((), cb("broadcast", "type")),
        ((), cb("broadcast", "t", "flu")),
        ((), cb("broadcast", "w", "now")),
        (("All my signed residents",), cb("broadcast", "go")),  # an audience, but no content yet
        (("All my signed residents",), cb("broadcast", "w", "now")),
        (("All my signed residents",), cb("broadcast", "at", "tom", "0900")),
        (("All my signed residents", "Flu season"), cb("broadcast", "go")),  # no time picked yet
    ],
)
async def test_buttons_of_an_older_draft_are_out_of_date(
    rt: Runtime,
    make_user: Callable[..., ChatUser],
    sender: RecordingSender,
    steps: tuple[str, ...],
    button: str,
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    for label in steps:
        await doctor.press(label)
    await doctor.press_data(button)
    assert "out of date" in doctor.texts()
    assert "went wrong" not in doctor.texts()
    assert await rt.services.broadcasts.recent(await _wang(rt)) == []
    # The compose goes on from where it was.
    await doctor.press_data(cb("broadcast", "new"))
    await doctor.press("All my signed residents")
    assert "All my signed residents: 4 residents" in doctor.texts()


async def test_revoking_a_doctor_stops_their_broadcasts_and_progress(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender, clock: Clock
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Heat wave")
    await doctor.press("Tomorrow")
    await doctor.press("09:00")
    await doctor.press("Send to 4")
    assert "scheduled for" in doctor.texts()
    scheduled = (await rt.services.broadcasts.recent(await _wang(rt)))[0]

    done = await rt.services.doctors.revoke(WANG)
    assert done.unlinked and done.broadcasts == (scheduled.id,)
    assert (await rt.stores.broadcasts.get(scheduled.id)).status == "cancelled"
    clock.set(clock.current + timedelta(days=1))  # 10:00 tomorrow
    await rt.delivery.dispatcher.drain()
    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    await rt.delivery.dispatcher.drain()
    assert [u for u, _, _ in sender.sent] == []  # no resident, and not the unlinked account
    assert (await rt.stores.broadcasts.get(scheduled.id)).finished_at is not None
    assert await rt.stores.outbox.by_dedupe(f"bcr:{scheduled.id}") is None
    assert "broadcast_cancel" in [e.action for e in await rt.stores.doctors.audit_since(0)]


async def test_broadcast_of_an_account_that_took_another_code_stops(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    """Unlinked without a revoke (the account redeemed another doctor's code): the progress
    loop cancels what is still open, and nothing more goes to the old account."""
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "All my signed residents", "Clinic moves to room 3.")
    await doctor.press("Send to 4")
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    row = await rt.stores.outbox.by_dedupe(f"bc:{b.id}:{await _id(rt, 'r1')}")
    code = await rt.services.doctors.invite(CHEN)
    await doctor.text(f"/doctor {code}")  # the same account is Dr Chen's now
    resident = await rt.stores.residents.get(row.resident_id)
    assert await render_broadcast(rt, rt.catalogs.get("en"), resident, row) == []
    sender.sent.clear()
    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    assert await rt.delivery.dispatcher.drain() == 0
    assert sender.sent == []
    assert (await rt.stores.broadcasts.get(b.id)).status == "cancelled"


async def test_final_report_is_one_durable_outbox_row(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    """The report is planned with the final counts in one transaction: a process that stops
    right after (before anything is sent) leaves it planned, and a restarted loop neither
    loses nor repeats it."""
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "All my signed residents", "Clinic moves to room 3.")
    await doctor.press("Send to 4")
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    await rt.delivery.dispatcher.drain()
    sender.sent.clear()
    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    report = await rt.stores.outbox.by_dedupe(f"bcr:{b.id}")
    assert report is not None and report.kind == REPORT_KIND and report.status == "pending"
    assert not any("Report for broadcast" in r.text for _, r, _ in sender.sent)
    # "Restart": a new loop, and the old one ticking again, plan nothing more.
    again = ProgressLoop(rt, rt.stores.broadcasts, rt.stores.doctors, render_progress)
    again.edit_every = 0
    await again.tick()
    await loop.tick()
    assert await rt.delivery.dispatcher.drain() == 1
    reports = [r for r in sender.to(doctor.user_id) if "Report for broadcast" in r.text]
    assert len(reports) == 1 and "sent 3 / 4 · 1 unreachable" in reports[0].text


async def test_an_old_confirm_screen_cannot_send_or_discard_a_newer_draft(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "All my signed residents", "Draft A")
    old = {b.label.split()[0]: b.data for r in doctor.all_replies() for b in r.all_buttons()}
    # The doctor starts over and prepares a different message, to fewer people.
    await compose_typed(doctor, "Hypertension", "Draft B")
    new = {b.label.split()[0]: b.data for r in doctor.all_replies() for b in r.all_buttons()}
    for data in (old["✅"], old["❌"], old["🚨"]):
        await doctor.press_data(data)
        assert "out of date" in doctor.texts()
    assert await rt.services.broadcasts.recent(await _wang(rt)) == []
    # Draft B, from its own screen, is intact and goes out as shown.
    await doctor.press_data(new["✅"])
    sent = await rt.services.broadcasts.recent(await _wang(rt))
    assert len(sent) == 1 and sent[0].text == "Draft B"


async def test_a_scheduled_time_that_passed_before_send_sends_nothing(
    rt: Runtime, make_user: Callable[..., ChatUser], clock
) -> None:
    """The confirm screen said 14:00; Send pressed at 14:10 is not sent at another time."""
    from datetime import timedelta

    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Type my own message")
    await doctor.text("Checks on Saturday.")
    await doctor.press("Later today")
    await doctor.press("14:00")
    assert "When:" in doctor.texts()
    clock.set(clock.current + timedelta(hours=4, minutes=10))  # 14:10 in Shanghai
    await doctor.press("Send to")
    assert "has passed, so nothing was sent" in doctor.texts()
    assert "When should it go out?" in doctor.texts()
    assert await rt.services.broadcasts.recent(await _wang(rt)) == []


async def test_back_goes_one_step_and_keeps_the_typed_message(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    """Product walk, finding 6: Later today → time list → Back went to the audience list and
    the typed message was lost. Back is one step, and the draft stays as it was."""
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("Hypertension")
    await doctor.press("Type my own message")
    await doctor.text("Flu shots on Friday.")
    await doctor.press("Tomorrow")
    assert "At what time?" in doctor.texts()
    await doctor.press("⬅️ Back")
    assert "When should it go out?" in doctor.texts()
    await doctor.press("⬅️ Back")
    assert "What should it say?" in doctor.texts()
    assert any("Keep my message: Flu shots on Friday." in x for x in doctor.labels())
    await doctor.press("⬅️ Back")
    assert "Who should receive it?" in doctor.texts()
    await doctor.press("Hypertension")
    await doctor.press("Keep my message")
    await doctor.press("Now")
    assert "Flu shots on Friday." in doctor.texts()  # the preview
    await doctor.press("⬅️ Back")  # from the confirm screen: still the same draft
    await doctor.press("Now")
    await doctor.press("Send to 3")
    (b,) = await rt.services.broadcasts.recent(await _wang(rt))
    row = await rt.db.fetchone("SELECT text, audience FROM broadcasts WHERE id = ?", (b.id,))
    assert row is not None and (row["text"], row["audience"]) == (
        "Flu shots on Friday.",
        "hypertension",
    )


async def test_non_urgent_broadcast_in_quiet_hours_says_when_it_goes(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender, clock: Clock
) -> None:
    """At 23:00 Shanghai a non-urgent broadcast waits for 08:00: the doctor's toast says so,
    composed from the rows (not "planned" as if it were going now)."""
    clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "Hypertension", "Free checks on Saturday.")
    await doctor.press("Send to 3")
    assert doctor.last.toast == "📢 Broadcast planned: it goes out Wed 25 Nov, 08:00."
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    rows = await rt.db.fetchall("SELECT * FROM outbox WHERE group_key = ?", (f"bc:{b.id}",))
    assert rows and all(not r["urgent"] and r["status"] == "pending" for r in rows)
    await rt.delivery.dispatcher.drain()
    assert sender.to("r1") == []  # held by quiet hours, as the toast said


async def test_finished_broadcast_counts_survive_a_recipients_delete(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender
) -> None:
    """A finished broadcast's counts are history: a recipient's /delete (which removes their
    outbox rows) must not rewrite "sent 2 / 3" in 📊 My broadcasts."""
    await load_district(rt)
    ids = await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "Hypertension", "Free checks on Saturday.")
    await doctor.press("Send to 3")
    await rt.delivery.dispatcher.drain()
    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    assert b.finished_at is not None and (b.sent, b.total, b.unreachable) == (2, 3, 1)

    await rt.stores.residents.delete(ids["r1"])
    left = await rt.db.fetchall("SELECT * FROM outbox WHERE group_key = ?", (f"bc:{b.id}",))
    assert len(left) == 2  # the deleted resident's row went with them
    await doctor.press_data(cb("progress", "list"))
    stored = await rt.stores.broadcasts.get(b.id)
    assert stored is not None
    assert f"sent {stored.sent} / {stored.total} · {stored.unreachable} unreachable" in (
        doctor.texts()
    )
    assert "sent 2 / 3 · 1 unreachable" in doctor.texts()


async def test_progress_in_quiet_hours_says_held_until_not_sending(
    rt: Runtime, make_user: Callable[..., ChatUser], sender: RecordingSender, clock: Clock
) -> None:
    """At 23:00 the progress message says the rows are held until 08:00 (read back from the
    outbox with the recipients' quiet hours), not that the broadcast is going out."""
    clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    await load_district(rt)
    await residents(rt)
    doctor = await linked_doctor(rt, make_user)
    await compose_typed(doctor, "Hypertension", "Free checks on Saturday.")
    await doctor.press("Send to 3")
    b = (await rt.services.broadcasts.recent(await _wang(rt)))[0]
    span = await rt.services.send_times.of_group(f"bc:{b.id}")
    assert span is not None and span[0].astimezone(rt.settings.tz).hour == 8
    en = rt.catalogs.get("en")
    held = f"is held: nothing goes out before {en.weekday_datetime(span[0])}"
    assert held in doctor.texts() and "is going out" not in doctor.texts()
    assert "The last are held" not in doctor.texts()  # one time for all: said once
    labels = doctor.labels()
    assert "🏠 Home" in labels and "👩‍⚕️ Doctor's desk" in labels
    # The progress loop's own edits say the same once the dispatcher has held the rows.
    await rt.delivery.dispatcher.drain()
    b = await rt.stores.broadcasts.get(b.id)
    p = await rt.services.broadcasts.progress(b.id)
    reply = await render_progress(rt, b, p, final=False)
    assert held in reply.text and "is going out" not in reply.text
    # At 08:00 they go out.
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))
    reply = await render_progress(rt, b, await rt.services.broadcasts.progress(b.id), False)
    assert "is going out" in reply.text and "held" not in reply.text


def test_clinic_closed_preset_promises_no_notice_nothing_sends(rt: Runtime) -> None:
    """A doctor's broadcast closes no slots and sends no booking notices (only the operator's
    `slots close` does): the preset must not say residents with a booking are told."""
    closed = rt.services.broadcasts.templates()["closed"]
    for locale in ("en", "zh_Hans"):
        text = closed.in_locale(closed.text, locale)
        assert "separately" not in text and "另外收到通知" not in text
        assert "{phone}" in text  # it says what they can do instead: call
