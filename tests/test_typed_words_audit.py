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
