"""Findings of the issue-12 audit, as journeys checked against the database: typed words do
not join a ticket by themselves; the doctor's answer is previewed and its confirmation says
what the outbox row says (quiet hours); every matched sign is recorded and shown; advice is
addressed to the person concerned; the crisis heading; /mydata's wording from the routing;
typed glucose values judged by the clinical engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.callbacks import cb
from bot.runtime import Runtime
from bot.services.tickets import ANSWER_KIND
from tests.conftest import Clock
from tests.doctor_fixtures import linked_doctor, load_district
from tests.harness import ChatUser
from tests.test_questions_chat import MakeUser, render, resident_id, rows, signed_user


async def ask_and_get_answer(
    rt: Runtime, make_user: MakeUser, uid: str
) -> tuple[ChatUser, ChatUser, int]:
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, uid)
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Can I take my blood pressure pills with grapefruit juice?")
    [ticket] = await rows(rt, "SELECT id FROM tickets")
    await doctor.text("/doctor")
    await doctor.press("Questions (1)")
    await doctor.press("Type an answer")
    await doctor.text("Ask us at your visit.")
    await doctor.press("✅ Send")
    return u, doctor, ticket["id"]


# -- 1: typed words never join a ticket by themselves ----------------------------------------------
async def test_later_typed_words_get_the_normal_answer_not_the_old_ticket(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u, _doctor, ticket_id = await ask_and_get_answer(rt, make_user, "t1")
    assert (await rows(rt, "SELECT status FROM tickets"))[0]["status"] == "answered"
    before = await rows(rt, "SELECT id FROM ticket_messages")

    await u.text("do children's vaccines cost anything")  # a common question: the FAQ
    reply = u.all_replies()[-1]
    assert "Source:" in reply.text
    assert "not added to your question" in reply.text
    await u.text("hello")  # unknown words: suggestions, not the ticket
    assert "Is it one of these?" in u.texts()
    assert "Added to" not in u.texts() and "sent to" not in u.texts()
    assert await rows(rt, "SELECT id FROM ticket_messages") == before
    assert (await rows(rt, "SELECT status FROM tickets"))[0]["status"] == "answered"

    # Only the explicit button adds the words; the reply says the answered question reopened.
    await u.press("Add this to my question")
    assert "Added to your answered question" in u.texts() and "open again" in u.texts()
    texts = [m["text"] for m in await rows(rt, "SELECT text FROM ticket_messages ORDER BY id")]
    assert texts[-1] == "hello" and len(texts) == len(before) + 1
    [ticket] = await rows(rt, "SELECT id, status FROM tickets")
    assert (ticket["id"], ticket["status"]) == (ticket_id, "open")


async def test_an_open_question_is_not_joined_by_unrelated_typing(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = await signed_user(rt, make_user, "t2")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Is the flu jab free for me?")
    await u.text("what time does the centre open")
    assert "Added to" not in u.texts()
    assert len(await rows(rt, "SELECT id FROM ticket_messages")) == 1


async def test_a_new_question_after_an_answer_closes_the_answered_one(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u, _doctor, old = await ask_and_get_answer(rt, make_user, "t3")
    await u.text("💬 Questions")
    await u.press("Ask my team")
    assert "earlier question was answered; it will be closed" in u.texts()
    await u.text("A different question about my knee")
    assert "as a new question" in u.texts() and "now closed" in u.texts()
    tickets = await rows(rt, "SELECT id, status FROM tickets ORDER BY id")
    assert (tickets[0]["id"], tickets[0]["status"]) == (old, "closed")
    assert tickets[1]["status"] == "open"
    rate = await rows(rt, "SELECT dedupe_key FROM outbox WHERE kind = 'ticket_rate'")
    assert rate == [{"dedupe_key": f"tk:rate:{old}"}]


async def test_ask_again_is_the_explicit_follow_up(rt: Runtime, make_user: MakeUser) -> None:
    await load_district(rt)
    u, _doctor, ticket_id = await ask_and_get_answer(rt, make_user, "t4")
    await u.press_data(cb("ticket", "again", ticket_id))
    assert "add to your question" in u.texts()
    await u.text("When should I come?")
    assert "Added to your answered question" in u.texts()
    [ticket] = await rows(rt, "SELECT id, status FROM tickets")
    assert (ticket["id"], ticket["status"]) == (ticket_id, "open")


# -- 3: the doctor's answer: a preview, and "sent" only when the outbox row was -------------------
async def test_a_typed_answer_is_previewed_and_quiet_hours_are_told(
    rt: Runtime, make_user: MakeUser, clock: Clock
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, "t5")
    rid = await resident_id(rt, u)
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Is the flu jab free for me?")
    clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai: quiet hours
    await doctor.text("/doctor")
    await doctor.press("Questions (1)")
    await doctor.press("Type an answer")
    await doctor.text("Yes, for people over 60.")
    assert "Send this answer?" in doctor.texts() and "Yes, for people over 60." in doctor.texts()
    assert await rows(rt, "SELECT id FROM ticket_messages WHERE author = 'doctor'") == []
    assert [r for r in await rt.stores.outbox.for_resident(rid) if r.kind == ANSWER_KIND] == []
    await doctor.press("✅ Send")
    [row] = [r for r in await rt.stores.outbox.for_resident(rid) if r.kind == ANSWER_KIND]
    assert row.status == "pending"
    told = doctor.texts()
    assert "quiet hours" in told and "has been sent" not in told
    who = await rt.stores.residents.get(rid)
    assert who is not None
    when = await rt.services.send_times.of_row(row)
    assert when is not None and when > clock.current
    assert rt.catalogs.get("en").weekday_datetime(when.astimezone(rt.settings.tz)) in told


async def test_a_daytime_answer_is_on_its_way_not_sent(rt: Runtime, make_user: MakeUser) -> None:
    await load_district(rt)
    u, doctor, _ticket = await ask_and_get_answer(rt, make_user, "t6")
    assert "on its way now" in doctor.texts() and "quiet hours" not in doctor.texts()
    [answer] = await render(rt, await resident_id(rt, u), ANSWER_KIND)
    assert "Ask us at your visit." in answer.text


def _dump(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False, default=str)


# -- 4: every matched sign is recorded and shown ---------------------------------------------------
async def test_two_signs_are_both_recorded_told_and_flagged(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    u = await signed_user(rt, make_user, "s1")
    rid = await resident_id(rt, u)
    await u.text("my dad can't breathe and his chest hurts")
    reply = u.all_replies()[0].text
    assert reply.startswith("🚑 Call 120 now: Difficulty breathing")
    assert "Also (Chest pain):" in reply and "nitroglycerin" in reply
    events = await rows(rt, "SELECT sign FROM redflag_events WHERE resident_id = ?", rid)
    assert sorted(e["sign"] for e in events) == ["breathing", "chest_pain"]
    [alert] = await render(rt, await resident_id(rt, doctor), "redflag_alert")
    assert "Difficulty breathing" in alert.text and "Chest pain" in alert.text
    await doctor.press_data(cb("day", "flags"))
    flags = doctor.texts()
    assert "Resident s1: Difficulty breathing" in flags and "Resident s1: Chest pain" in flags


# -- 5: advice addressed to the person concerned -------------------------------------------------
async def test_advice_is_for_the_writer_or_for_a_helper(rt: Runtime, make_user: MakeUser) -> None:
    me = make_user("s2", language_code="zh-hans")
    await me.onboard("中文")
    await me.text("我胸口疼得厉害")
    mine = me.all_replies()[0].text
    assert "让他" not in mine and "给他" not in mine and "叫家人或邻居过来陪您" in mine
    await me.text("我爸胸口疼得厉害")
    dads = me.all_replies()[-1].text
    assert "医生给对方开过硝酸甘油的" in dads
    en = make_user("s3")
    await en.onboard()
    await en.text("I can't breathe")
    assert "Sit up and lean slightly forward" in en.all_replies()[0].text
    assert "Help them sit up" not in en.all_replies()[0].text
    await en.text("my mother can't breathe")
    assert "Help them sit up" in en.all_replies()[-1].text


# -- 6: a psychological crisis is headed by the crisis line ---------------------------------------
async def test_suicide_is_headed_by_the_crisis_lines_with_120_for_danger(
    rt: Runtime, make_user: MakeUser
) -> None:
    u = make_user("s4")
    await u.onboard()
    await u.text("I want to kill myself")
    reply = u.all_replies()[0]
    first = reply.text.splitlines()[0]
    assert "12356" in first and "call 120" in first and not first.startswith("🚑")
    assert "400-161-9995" in reply.text
    urls = [b.url for b in reply.all_buttons() if b.url]
    assert urls[:3] == ["tel:12356", "tel:4001619995", "tel:120"]
    # With a physical emergency too (pills taken), 120 leads and the crisis lines follow.
    await u.text("我想死，吃了一瓶安眠药")
    both = u.all_replies()[-1]
    assert both.text.startswith("🚑 Call 120 now")
    assert "12356" in both.text
    assert next(b.url for b in both.all_buttons() if b.url) == "tel:120"


# -- 7: /mydata says where each question went ----------------------------------------------------
async def test_mydata_names_the_duty_desk_for_a_duty_desk_question(
    rt: Runtime, make_user: MakeUser
) -> None:
    await load_district(rt)
    u = make_user("s5")
    await u.onboard()
    await rt.services.directory.set_home(await resident_id(rt, u), "朱泾", "待泾村")
    await u.press("💬 Questions")
    await u.press("Ask my team")
    await u.text("Do you have a dentist?")
    assert [t["route"] for t in await rows(rt, "SELECT route FROM tickets")] == ["duty"]
    await u.text("/mydata")
    summary = next(r.text for r in u.all_replies() if "Everything Doorstep stores" in r.text)
    assert "your questions to your family doctor team" not in summary
    assert "0 to your family doctor team, 1 to a centre's duty desk" in summary


# -- 8: typed glucose values go through the clinical rules ---------------------------------------
async def test_a_typed_glucose_value_gets_the_rules_answer_for_this_resident(
    rt: Runtime, make_user: MakeUser
) -> None:
    u = make_user("s6")
    await u.onboard()
    await u.text("my blood sugar is 3.9")  # no diabetes recorded: on target, as a reading
    reply = u.texts()
    assert "Call 120" not in reply and "on target" in reply and "3.9 mmol/L" in reply
    assert "not saved" in reply
    assert await rows(rt, "SELECT id FROM redflag_events") == []
    assert await rows(rt, "SELECT id FROM health_readings") == []
    await rt.services.health.set_condition(await resident_id(rt, u), "diabetes2")
    await u.text("my blood sugar is 3.9")  # with diabetes: low, see a doctor today (gl-low-dm)
    reply = u.texts()
    assert "Call 120 now" not in reply and "see a doctor today" in reply
    assert "treat it first" in reply
    # A conscious low sugar with shaking: treated first, as the rules say (issue 17 audit);
    # 120 with the rules' conditions for it (drowsy, confused, cannot swallow).
    await u.text("my blood sugar is 3.9 and I am shaking and sweating")
    reply = u.texts()
    assert "Call 120 now" not in reply and "treat it first" in reply
    await u.text("my blood sugar is 3.9 and I am confused")
    reply = u.all_replies()[-1].text
    assert reply.startswith("🚑 Call 120 now: Very low blood sugar")
    assert [e["sign"] for e in await rows(rt, "SELECT sign FROM redflag_events")] == []  # unsigned
