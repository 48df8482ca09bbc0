"""Typed conversation state: a flow's dataclass is saved as JSON and loaded back, and a state
saved by the earlier, untyped version of a flow still loads after a deploy."""

from __future__ import annotations

from bot.domain.residents import ConversationState
from bot.runtime import Runtime
from handlers.doctor.broadcast import Composing, TypingMessage
from handlers.resident.health_log import BpEntry, GlucoseEntry
from tests.harness import ChatUser


def test_round_trip_and_old_shapes() -> None:
    entry = BpEntry(step="pulse", sys=150, dia=95)
    assert BpEntry.from_state(entry.to_state()) == entry
    assert GlucoseEntry.from_state(entry.to_state()) is None  # another flow's state
    # As the untyped version saved it: fewer keys, and one this version does not know.
    old = ConversationState("health.gl", {"confirm": 61, "buf": "", "legacy": 1})
    assert GlucoseEntry.from_state(old) == GlucoseEntry(confirm=61)
    draft = ConversationState("drb.text", {"tok": "ab12cd", "aud": "all"})
    assert Composing.from_data(draft.data) == Composing(tok="ab12cd", aud="all")
    assert TypingMessage.from_state(draft) == TypingMessage(tok="ab12cd", aud="all")


async def test_a_reading_in_progress_survives_a_restart(user: ChatUser, rt: Runtime) -> None:
    await user.text("/bp")
    await user.press("Exact numbers (keypad)")
    await user.press("1")
    await user.press("5")
    await user.press("0")
    await user.press("✅")
    loaded = await rt.stores.residents.load("test", user.user_id)
    assert loaded is not None
    assert BpEntry.from_state(loaded[1]) == BpEntry(step="dia", sys=150, quick=False)
    # A new runtime (a restart) reads the same state from the database and goes on.
    again = Runtime(rt.settings, clock=rt.clock)
    await again.start()
    try:
        resumed = ChatUser(again, user_id=user.user_id)
        await resumed.text("95")
        assert "Step 3 of 3" in resumed.texts()
    finally:
        await again.stop()
