"""The sandbox's demo doctor: `/doctor DEMO` gives made-up residents, and a broadcast to them
runs through the real delivery pipeline to its final report."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.doctor_demo import CHANNEL
from handlers.doctor.broadcast_progress import progress_loop
from tests.conftest import Clock
from tests.doctor_fixtures import RecordingSender
from tests.harness import ChatUser


@pytest.fixture
async def sandbox(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, clock=clock, sandbox=True)
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_demo_doctor_broadcast_reaches_every_demo_resident(sandbox: Runtime) -> None:
    rt = sandbox
    sender = RecordingSender()
    rt.senders["test"] = sender
    doctor = ChatUser(rt, user_id="9001")
    await doctor.onboard()
    await doctor.text("/doctor DEMO")
    assert "Doctor's desk" in doctor.texts(), doctor.texts()
    signed = await rt.db.fetchall(
        "SELECT r.id FROM residents r JOIN signings s ON s.resident_id = r.id WHERE r.channel = ?",
        (CHANNEL,),
    )
    n = len(signed)
    assert n == 24  # every demo resident but the two still waiting for a decision
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Type my own message")
    await doctor.text("Free blood pressure checks this Saturday morning.")
    await doctor.press("Now")
    await doctor.press(f"Send to {n}")
    assert f"sent 0 / {n}" in doctor.texts()

    await rt.delivery.dispatcher.drain()
    rows = await rt.db.fetchall(
        "SELECT o.status, r.channel FROM outbox o JOIN residents r ON r.id = o.resident_id "
        "WHERE o.kind = 'broadcast'"
    )
    assert len(rows) == n
    assert {(row["status"], row["channel"]) for row in rows} == {("sent", CHANNEL)}

    loop = progress_loop(rt)
    loop.edit_every = 0
    await loop.tick()
    await rt.delivery.dispatcher.drain()  # the final report is an outbox row to the doctor
    report = await rt.db.fetchone("SELECT status FROM outbox WHERE kind = 'broadcast_report'")
    assert report is not None and report["status"] == "sent"
    to_doctor = [r.text for r in sender.to(doctor.user_id)]
    assert any(f"sent {n} / {n}" in t for t in to_doctor), to_doctor
    assert any("Report for broadcast" in t and f"{n} / {n}" in t for t in to_doctor), to_doctor
