"""Typed words end to end through the router (tier 2): emergency signs first in every state,
common questions, Ask my team with the doctor's desk, escalation, ratings, satisfaction after
visits, reports, and /mydata and /delete. Every fact a reply states is checked in the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.callbacks import cb
from bot.commands.report import report
from bot.config import Settings
from bot.core import Reply
from bot.domain.questions import Route, TicketStatus
from bot.runtime import Runtime
from bot.services.satisfaction import aggregate
from bot.services.tickets import ANSWER_KIND, ESCALATED_KIND, NEW_KIND
from tests.conftest import Clock
from tests.doctor_fixtures import CHEN, WANG, linked_doctor, load_district
from tests.harness import ChatUser
from tests.test_doctor_day import book

ROOT = Path(__file__).resolve().parent.parent
MakeUser = Callable[..., ChatUser]


async def resident_id(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def signed_user(
    rt: Runtime, make_user: MakeUser, uid: str, doctor: str = WANG, community: str = "东林居委"
) -> ChatUser:
    """A resident who went through /start and consent, lives in `community` and is signed."""
    u = make_user(uid)
    await u.onboard()
    rid = await resident_id(rt, u)
    directory = rt.services.directory
    await directory.set_home(rid, "朱泾", community)
    req = await directory.request_signing(rid, doctor, f"Resident {uid}", "13800000000")
    assert await directory.decide(req.id, doctor, True) is not None
    return u


async def rows(rt: Runtime, sql: str, *params: object) -> list[dict]:
    return [dict(r) for r in await rt.db.fetchall(sql, params)]


async def render(rt: Runtime, resident: int, kind: str) -> list[Reply]:
    """Render the resident's newest outbox row of `kind` as the dispatcher would."""
    row = [r for r in await rt.stores.outbox.for_resident(resident) if r.kind == kind][-1]
    who = await rt.stores.residents.get(resident)
    assert who is not None
    t = rt.catalogs.get(who.locale or "en")
    return await rt.registry.notifications[kind](rt, t, who, row)


# -- emergency signs -------------------------------------------------------------------------------
async def test_signed_resident_gets_call_120_and_the_team_sees_a_flag(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, "a1")
    await u.text("我爸胸口疼得厉害，出冷汗")
    reply = u.all_replies()[0]
    first = reply.text.splitlines()[0]
    assert first.startswith("🚑 Call 120 now") and "Chest pain" in first
    assert "do not walk to the clinic" in reply.text
    urls = [b.url for b in reply.all_buttons() if b.url]
    assert "tel:120" in urls
    events = await rows(rt, "SELECT * FROM redflag_events")
    assert [(e["sign"], e["doctor_id"]) for e in events] == [("chest_pain", WANG)]
    centre = await rt.services.directory.snapshot()
    wang = centre.doctors[WANG]
    phone = centre.stations[wang.centre_id].phone
    assert f"☎ {phone}" in reply.text
    # The team in the reader's language (bot.names), not the stored Chinese name.
    assert f"Your family doctor team ({wang.team_en}) has been told." in reply.text
    # The doctor got an urgent notification, and the desk's Flags lists it.
    alerts = await rows(rt, "SELECT urgent, kind FROM outbox WHERE kind = 'redflag_alert'")
    assert alerts == [{"urgent": 1, "kind": "redflag_alert"}]
    await doctor.press_data(cb("day", "flags"))
    assert "🆕 Resident a1: Chest pain" in doctor.texts()
    assert (await rows(rt, "SELECT seen_at FROM redflag_events"))[0]["seen_at"] is not None
    # The words typed are stored nowhere.
    dump = json.dumps(await rt.stores.residents.export(await resident_id(rt, u)))
    assert "出冷汗" not in dump


async def test_no_linked_doctor_in_the_team_means_nobody_is_said_to_know(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = await signed_user(rt, make_user, "a0")
    await u.text("he is having a seizure")
    assert u.texts().startswith("🚑 Call 120 now: A seizure")
    assert "has been told" not in u.texts()
    # The flag is kept for the team's Flags, for when a doctor of the team links.
    assert [e["sign"] for e in await rows(rt, "SELECT sign FROM redflag_events")] == ["seizure"]


async def test_unsigned_resident_is_never_told_the_team_knows(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = make_user("a2")
    await u.onboard()
    await u.text("my dad can't breathe")
    text = u.texts()
    assert text.startswith("🚑 Call 120 now: Difficulty breathing")
    assert "has been told" not in text
    assert await rows(rt, "SELECT * FROM redflag_events") == []


async def test_before_consent_and_in_the_middle_of_flows(rt: Runtime, make_user: MakeUser) -> None:
    await load_district(rt)
    u = make_user("a3")
    await u.text("/start")
    await u.text("嘴歪了，说话不清楚")  # before the language and the consent
    assert u.texts().startswith("🚑 Call 120 now: Signs of a stroke")
    await u.onboard()
    await u.press_data(cb("reading", "bp"))  # the blood-pressure keypad waits for a number
    loaded = await rt.stores.residents.load("test", "a3")
    assert loaded is not None and loaded[1].name == "health.bp"
    await u.text("she collapsed")
    assert u.texts().startswith("🚑 Call 120 now: Unconscious")
    loaded = await rt.stores.residents.load("test", "a3")
    assert loaded is not None and loaded[1].name == "health.bp"  # the flow is kept
    await u.text("135/85")
    assert await rows(rt, "SELECT systolic, diastolic FROM health_readings") == [
        {"systolic": 135, "diastolic": 85}
    ]


async def test_suicide_gives_12356_and_the_configured_local_line(
    settings: Settings, clock: Clock, make_user: MakeUser
) -> None:
    local = replace(settings, extra={"DOORSTEP_CRISIS_LINE": "021-12320-5"})
    rt = Runtime(local, clock=clock)
    await rt.start()
    try:
        u = ChatUser(rt, user_id="a4")
        await u.onboard()
        await u.text("i dont want to live anymore")
        text = u.texts()
        assert text.startswith("💚 Please call the psychological crisis line now")
        assert "☎ 12356" in text and "☎ 021-12320-5" in text and "call 120" in text
        urls = [b.url for b in u.all_replies()[0].all_buttons()]
        assert urls[:3] == ["tel:12356", "tel:4001619995", "tel:120"]
    finally:
        await rt.stop()


async def test_a_doctor_typing_a_broadcast_is_not_interrupted(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    await signed_user(rt, make_user, "a5")
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("broadcast", "new"))
    await doctor.press("All my signed")
    await doctor.press("Type my own message")
    await doctor.text("Chest pain? Call 120 at once.")
    assert not doctor.texts().startswith("🚑"), doctor.texts()


# -- common questions ------------------------------------------------------------------------------
async def test_a_common_question_is_answered_with_its_source(rt: Runtime, user: ChatUser) -> None:
    await user.text("医保电子凭证怎么激活")
    entry = rt.services.faq.content.entry("ins-ecert-activate")
    assert entry is not None
    text = user.texts()
    assert entry.answer["en"] in text and entry.source["en"] in text
    assert f"reviewed {rt.catalogs.get('en').date(entry.last_reviewed)}" in text
    assert "✍️ Ask my team" in user.labels()


async def test_a_weak_match_offers_three_questions_and_ask_my_team(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = await signed_user(rt, make_user, "b1")
    await u.text("my knee clicks when i climb stairs")
    assert "I am not sure I understood. Is it one of these?" in u.texts()
    assert "Ask my team" in u.texts()
    labels = u.labels()
    assert "✍️ Ask my team" in labels and len(labels) >= 4
    await u.press(labels[0])  # one of the suggested questions
    assert "Source:" in u.texts()
    await u.text("my knee clicks when i climb stairs")
    await u.press("Ask my team")  # sends the words typed, without typing them again
    tickets = await rows(rt, "SELECT * FROM ticket_messages")
    assert [t["text"] for t in tickets] == ["my knee clicks when i climb stairs"]


async def test_a_weak_match_names_the_button_it_offers(rt: Runtime, make_user: MakeUser) -> None:
    """With a question already open, the weak-match reply offers adding to it (not a second
    question to the team), and its words say so."""
    await load_district(rt)
    u = await signed_user(rt, make_user, "b2")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Is my new cough from the pills?")
    [ticket] = await rows(rt, "SELECT id FROM tickets")
    await u.press("🏠 Home")
    await u.text("my knee clicks when i climb stairs")
    reply = u.all_replies()[-1]
    assert "I am not sure I understood. Is it one of these?" in reply.text
    assert "Or add it to the question you already asked." in reply.text
    labels = [b.label for b in reply.all_buttons()]
    assert "➕ Add this to my question" in labels and "✍️ Ask my team" not in labels
    await u.press("Add this to my question")
    texts = [m["text"] for m in await rows(rt, "SELECT text FROM ticket_messages ORDER BY id")]
    assert texts == ["Is my new cough from the pills?", "my knee clicks when i climb stairs"]
    assert [t["id"] for t in await rows(rt, "SELECT id FROM tickets")] == [ticket["id"]]


async def test_topics_by_buttons_in_elder_mode(rt: Runtime, user: ChatUser) -> None:
    await user.press("Settings")
    await user.press("Elder mode")
    await user.press("Yes")
    await user.press("💬 Questions")
    assert "🏠 Home" in user.labels()
    await user.press("Free check for 65+")
    assert "Is the yearly check for people 65 and over free?" in user.labels()
    await user.press("Is the yearly check for people 65 and over free?")
    assert "65 or over" in user.texts() and "⬅️ Back" not in user.texts()


# -- ask my team -----------------------------------------------------------------------------------
async def test_ask_my_team_to_answer_thanks_and_rating(
    rt: Runtime, make_user: MakeUser, clock: Clock
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, "c1")
    rid = await resident_id(rt, u)
    await u.press("💬 Questions")
    await u.press("Ask my team")
    snap = await rt.services.directory.snapshot()
    wang = snap.doctors[WANG]
    expect = u.texts()
    assert "They answer during working hours:" in expect
    assert "not enough answered questions yet" in expect  # no invented answer time
    assert "If nobody answers within 24 hours" in expect
    await u.text("Can I take my blood pressure pills with grapefruit juice?")
    centre_en = snap.stations[wang.centre_id].name_en
    assert f"sent to {wang.team_en}, {centre_en} as a new question" in u.texts()
    [ticket] = await rows(rt, "SELECT * FROM tickets")
    assert (ticket["route"], ticket["team"], ticket["status"]) == ("team", wang.team, "open")
    assert await rows(rt, "SELECT kind FROM outbox WHERE kind = ?", NEW_KIND)

    await u.text("Also, is it ok at night?")  # joins the open ticket only when asked to
    assert len(await rows(rt, "SELECT * FROM ticket_messages")) == 1
    await u.press("Add this to my question")
    assert "Added to your open question" in u.texts()
    assert len(await rows(rt, "SELECT * FROM ticket_messages")) == 2

    await doctor.text("/doctor")
    assert "❓ Questions (1)" in doctor.labels()
    await doctor.press("Questions (1)")
    assert "grapefruit" in doctor.texts() and "is it ok at night" in doctor.texts()
    assert "Resident c1" in doctor.texts()  # the resident's card
    await doctor.press("Type an answer")
    clock.set(clock.current + timedelta(hours=2))
    await doctor.text("Grapefruit can change how some pills work: ask us at your visit.")
    await doctor.press("✅ Send")
    assert "saved on the question" in doctor.texts()
    [ticket] = await rows(rt, "SELECT * FROM tickets")
    assert ticket["status"] == "answered"
    assert ticket["first_response_at"] - ticket["created_at"] == 7200

    [answer] = await render(rt, rid, ANSWER_KIND)
    assert "Grapefruit can change" in answer.text
    assert [b.label for b in answer.all_buttons()] == ["🙏 Thanks", "💬 Ask again"]
    thanks = next(b for b in answer.all_buttons() if "Thanks" in b.label)
    await u.press_data(thanks.data or "")
    assert "How helpful" in u.texts()
    await u.press_data(cb("ticket", "r", ticket["id"], 4))
    assert "4 of 5" in u.texts()
    assert await rows(rt, "SELECT rating FROM ticket_ratings") == [{"rating": 4}]
    await u.press_data(cb("ticket", "r", ticket["id"], 1))  # a second rating changes nothing
    assert "already rated this answer: 4 of 5" in u.texts()
    assert await rows(rt, "SELECT rating FROM ticket_ratings") == [{"rating": 4}]

    # The report: first response 2 h, resolved 2 h.
    [times] = await rt.services.tickets.report()
    assert times.team == wang.team and times.first_response_median_s == 7200


async def test_ask_again_joins_the_answered_ticket(rt: Runtime, make_user: MakeUser) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, "c2")
    rid = await resident_id(rt, u)
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Is the flu jab free for me?")
    await doctor.text("/doctor")
    await doctor.press("Questions (1)")
    await doctor.press("Saved answers")
    await doctor.press("Thank you, we will phone you")
    assert "Send this answer?" in doctor.texts()
    await doctor.press("✅ Send")
    [answer] = await render(rt, rid, ANSWER_KIND)
    again = next(b for b in answer.all_buttons() if "Ask again" in b.label)
    await u.press_data(again.data or "")
    await u.text("When will you call?")
    [ticket] = await rows(rt, "SELECT * FROM tickets")
    assert ticket["status"] == "open"
    assert [m["author"] for m in await rows(rt, "SELECT author FROM ticket_messages")] == [
        "resident",
        "doctor",
        "resident",
    ]


async def test_unsigned_resident_goes_to_the_duty_desk(rt: Runtime, make_user: MakeUser) -> None:
    await load_district(rt)
    u = make_user("d1")
    await u.onboard()
    await rt.services.directory.set_home(await resident_id(rt, u), "朱泾", "待泾村")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    assert "the duty desk of" in u.texts()
    await u.text("Do you have a dentist?")
    # No doctor of the centre uses Doorstep yet: the resident is told to call as well.
    assert "nobody there reads Doorstep questions yet" in u.texts()
    [ticket] = await rows(rt, "SELECT * FROM tickets")
    assert ticket["route"] == "duty" and ticket["team"] == ""
    # Any linked doctor of that centre sees it, another centre's does not.
    chen = await linked_doctor(rt, make_user, CHEN, user_id="9002")
    await chen.text("/doctor")
    assert "❓ Questions (1)" in chen.labels()
    await chen.press_data(cb("answers", "type", 999))
    assert "out of date" in chen.texts()


async def test_escalation_to_the_duty_desk_after_the_deployment_time(
    rt: Runtime, make_user: MakeUser, clock: Clock
) -> None:
    await load_district(rt)
    wang = await linked_doctor(rt, make_user)
    chen = await linked_doctor(rt, make_user, CHEN, user_id="9002")
    u = await signed_user(rt, make_user, "e1")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Can I get a long prescription?")
    await chen.text("/doctor")
    assert "❓ Questions (0)" in chen.labels()  # another team of the same centre
    clock.set(clock.current + timedelta(hours=23))
    assert await rt.services.tickets.escalate() == 0
    clock.set(clock.current + timedelta(hours=2))
    assert await rt.services.tickets.escalate() == 1
    [ticket] = await rows(rt, "SELECT route, escalated_at FROM tickets")
    assert ticket["route"] == Route.DUTY and ticket["escalated_at"] is not None
    escalated = await rows(rt, "SELECT resident_id FROM outbox WHERE kind = ?", ESCALATED_KIND)
    assert len(escalated) == 2  # both linked doctors of the centre
    await chen.text("/doctor")
    assert "❓ Questions (1)" in chen.labels()
    await chen.press("Questions (1)")
    assert "Duty desk (escalated)" in chen.texts()
    assert wang is not None


async def test_unanswered_answers_close_and_ask_a_rating(
    rt: Runtime, make_user: MakeUser, clock: Clock
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, "f1")
    rid = await resident_id(rt, u)
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("What is a home bed?")
    ticket = (await rows(rt, "SELECT id FROM tickets"))[0]["id"]
    wang = await rt.services.directory.doctor(WANG)
    assert wang is not None and await rt.services.tickets.answer(wang, ticket, "See FAQ")
    clock.set(clock.current + timedelta(days=8))
    assert await rt.services.tickets.close_stale() == 1
    [rate] = await render(rt, rid, "ticket_rate")
    assert "closed" in rate.text and len(rate.all_buttons()) == 5
    assert (await rt.services.tickets.ticket(ticket)).status is TicketStatus.CLOSED  # type: ignore[union-attr]
    assert doctor is not None


async def test_tickets_are_in_mydata_and_gone_after_delete(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = await signed_user(rt, make_user, "g1")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("private question text")
    await u.text("心口疼")
    await u.text("/mydata")
    doc = next(r.document for r in u.all_replies() if r.document)
    data = json.loads(doc.content)
    assert data["tickets"] and data["ticket_messages"][0]["text"] == "private question text"
    assert data["redflag_events"][0]["sign"] == "chest_pain"
    await u.text("/delete")
    await u.press("Yes, delete")
    for table in ("tickets", "ticket_messages", "redflag_events"):
        assert await rows(rt, f"SELECT * FROM {table}") == []


# -- satisfaction ----------------------------------------------------------------------------------
async def attended_visit(rt: Runtime, make_user: MakeUser, uid: str) -> tuple[ChatUser, int]:
    u = await signed_user(rt, make_user, uid)
    appt = await book(rt, await resident_id(rt, u), WANG, date(2026, 11, 24), "chronic")
    await rt.db.execute("UPDATE appointments SET status = 'attended' WHERE id = ?", (appt,))
    return u, appt


async def test_satisfaction_asked_once_the_day_after_with_five_buttons(
    rt: Runtime, make_user: MakeUser, clock: Clock
) -> None:
    await load_district(rt)
    u, appt = await attended_visit(rt, make_user, "s1")
    rid = await resident_id(rt, u)
    service = rt.services.satisfaction
    assert await service.plan() == 0  # the visit is today: asked tomorrow
    clock.set(datetime(2026, 11, 25, 1, 0, tzinfo=clock.current.tzinfo))  # 09:00 next day
    assert await service.plan() == 1
    assert await service.plan() == 0  # asked once
    [row] = [r for r in await rt.stores.outbox.for_resident(rid) if r.kind == "satisfaction"]
    assert row.dedupe_key == f"sat:{appt}"
    assert row.due_at.astimezone(rt.settings.tz).strftime("%d %H:%M") == "25 10:00"
    [ask] = await render(rt, rid, "satisfaction")
    assert len(ask.all_buttons()) == 6  # five answers and Home
    low = next(b for b in ask.all_buttons() if b.label.startswith("🙁 2"))
    await u.press_data(low.data or "")
    assert "What went wrong?" in u.texts()
    await u.text("I waited an hour")
    assert "comment is saved" in u.texts()
    [answer] = await rows(rt, "SELECT rating, comment, team FROM satisfaction_answers")
    assert answer["rating"] == 2 and answer["comment"] == "I waited an hour"
    await u.press_data(low.data or "")
    assert "already answered for this visit: 2 of 5" in u.texts()
    assert await render(rt, rid, "satisfaction") == []  # answered: a resend says nothing


async def test_high_rating_asks_no_comment(rt: Runtime, make_user: MakeUser) -> None:
    await load_district(rt)
    u, appt = await attended_visit(rt, make_user, "s2")
    await u.press_data(cb("survey", "r", appt, 5))
    assert "5 of 5" in u.texts() and "went wrong" not in u.texts()
    await u.press_data(cb("survey", "r", appt + 1000, 5))  # someone else's / unknown visit
    assert "out of date" in u.texts()


def test_small_groups_are_never_shown() -> None:
    rows_ = [("c1", "A", 5, 6), ("c1", "B", 1, 3), ("c2", "C", 4, 4)]
    groups = {(g.centre_id, g.team): g for g in aggregate(rows_)}
    assert groups[("c1", "A")].shown and groups[("c1", "A")].average == 5.0
    assert not groups[("c1", "B")].shown and groups[("c1", "B")].average is None
    # c1 as a whole minus team A would give team B away: not shown either.
    assert not groups[("c1", "")].shown
    assert not groups[("c2", "C")].shown and not groups[("c2", "")].shown


async def test_reports_on_the_command_line(
    rt: Runtime, make_user: MakeUser, capsys: pytest.CaptureFixture[str]
) -> None:
    await load_district(rt)
    for i in range(5):
        _, appt = await attended_visit(rt, make_user, f"r{i}")
        assert (
            await rt.services.satisfaction.answer(
                (await rows(rt, "SELECT resident_id FROM appointments WHERE id = ?", appt))[0][
                    "resident_id"
                ],
                appt,
                4,
            )
        ).new
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("answers", "sat"))
    assert "Your team: 4 of 5 from 5 answers" in doctor.texts()

    class Args:
        db = rt.settings.db_path
        what = "satisfaction"
        days = None
        json = True

    await report(Args(), rt.settings)  # type: ignore[arg-type]
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert any(x.get("team") and x.get("average") == 4.0 and x["answers"] == 5 for x in lines)
    Args.what = "tickets"
    await report(Args(), rt.settings)  # type: ignore[arg-type]
    assert capsys.readouterr().out == ""  # no tickets yet
    u = await signed_user(rt, make_user, "r9")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("When is the flu jab?")
    await doctor.text("/doctor")
    await doctor.press("Questions (1)")
    await doctor.press("Type an answer")
    await doctor.text("From September.")
    await doctor.press("✅ Send")
    Args.json = False
    await report(Args(), rt.settings)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    wang = (await rt.services.directory.snapshot()).doctors[WANG]
    assert wang.team in out and "0.0 h" in out and "1 team" in out


async def test_forged_buttons_change_nothing_and_are_audited(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = await signed_user(rt, make_user, "h1")
    other = await signed_user(rt, make_user, "h2")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("my question")
    ticket = (await rows(rt, "SELECT id FROM tickets"))[0]["id"]
    for data in (
        cb("ticket", "thx", ticket),
        cb("ticket", "r", ticket, 5),
        cb("ticket", "again", ticket),
    ):
        await other.press_data(data)  # another resident's ticket
        assert "out of date" in other.texts()
    await u.press_data(cb("ticket", "r", ticket, 9))  # out of range, and the ticket is open
    assert "out of date" in u.texts()
    assert await rows(rt, "SELECT * FROM ticket_ratings") == []
    assert (await rows(rt, "SELECT status FROM tickets"))[0]["status"] == "open"
    # A doctor of another team of the same centre cannot answer the team's ticket.
    chen = await linked_doctor(rt, make_user, CHEN, user_id="9002")
    await chen.press_data(cb("answers", "type", ticket))
    assert "out of date" in chen.texts()
    await chen.text("an answer typed anyway")
    assert await rows(rt, "SELECT * FROM ticket_messages WHERE author = 'doctor'") == []
    denied = await rows(rt, "SELECT action, details FROM audit_log WHERE action = 'denied'")
    assert any("answers:type" in d["details"] for d in denied)
    # Someone who is no doctor at all.
    await other.press_data(cb("answers", "list"))
    assert "out of date" in other.texts()


async def test_emergency_words_while_a_question_is_being_typed(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = await signed_user(rt, make_user, "i1")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("我现在喘不上气")
    assert u.texts().startswith("🚑")
    assert await rows(rt, "SELECT * FROM tickets") == []  # 120 first; nothing else is done
    loaded = await rt.stores.residents.load("test", "i1")
    assert loaded is not None and loaded[1].name == "ask.text"


@pytest.mark.parametrize("language", ["English", "中文"])
async def test_every_signs_advice_renders_as_plain_text(
    rt: Runtime, make_user: MakeUser, language: str
) -> None:
    from tests.test_redflags import CASES

    for n, (sign, texts) in enumerate(CASES.items()):
        u = make_user(f"pt{language}{n}")
        await u.onboard(language)
        for text in texts:
            await u.text(text)
            reply = u.all_replies()[-1].text
            # A crisis is headed by the crisis line (💚), every other sign by 120 (🚑).
            assert ("💚" if sign == "suicide" else "🚑") in reply, (sign, text)
            assert "{" not in reply and "}" not in reply, (sign, text, reply)
