"""A blood-pressure reading in at most 4 taps: Log blood pressure → the upper number → the lower
number → ✅ Save (in elder mode too: the adjust screen is the confirmation), with −5/−1/+1/+5 to
adjust and the keypad one tap away."""

from __future__ import annotations

import pytest

from bot.callbacks import cb
from bot.runtime import Runtime
from tests.harness import ChatUser

STALE = "out of date"


async def rid(u: ChatUser) -> int:
    loaded = await u.rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def saved(u: ChatUser) -> list[tuple[int | None, int | None]]:
    return [(r.systolic, r.diastolic) for r in await u.rt.services.health.readings(await rid(u))]


@pytest.mark.parametrize("elder", [False, True])
async def test_four_taps_from_my_health(rt: Runtime, user: ChatUser, elder: bool) -> None:
    if elder:
        loaded = await rt.stores.residents.load(user.channel, user.user_id)
        assert loaded is not None
        await rt.services.residents.set_elder_mode(loaded[0], True)
    await user.text("❤️ My health")
    taps = 0
    for label in ("Log blood pressure", "130", "85", "✅ Save"):
        await user.press(label)
        taps += 1
    assert taps == 4
    assert await saved(user) == [(130, 85)]
    assert "Saved: 130/85 mmHg" in user.texts()


async def test_adjust_then_save(user: ChatUser) -> None:
    await user.text("/bp")
    await user.press("140")
    await user.press("90")
    assert "140/90 mmHg" in user.texts()
    await user.press_data(cb("reading", "adj", "s", "-5"))
    await user.press_data(cb("reading", "adj", "s", "+1"))
    await user.press_data(cb("reading", "adj", "d", "-1"))
    assert "136/89 mmHg" in user.texts()
    assert await saved(user) == []  # nothing saved before ✅ Save
    await user.press("✅ Save")
    assert await saved(user) == [(136, 89)]
    # The adjust and value buttons of a saved reading are out of date: nothing changes.
    for data in (cb("reading", "adj", "s", "+5"), cb("reading", "q", "120"), cb("reading", "save")):
        await user.press_data(data)
        assert STALE in user.texts()
    assert await saved(user) == [(136, 89)]


async def test_adjusting_out_of_range_is_refused_in_place(user: ChatUser) -> None:
    await user.text("/bp")
    await user.press("100")
    await user.press("95")
    for _ in range(2):
        await user.press_data(cb("reading", "adj", "d", "+5"))  # 105 > 100 upper: refused
    assert "must be smaller" in user.texts() and "100/95 mmHg" in user.texts()
    await user.press_data(cb("reading", "q", "70"))  # a value button of the previous step
    assert STALE in user.texts()


async def test_exact_numbers_and_typing_still_work(user: ChatUser) -> None:
    await user.text("/bp")
    await user.press("Exact numbers (keypad)")
    assert "Step 1 of 3" in user.texts()
    await user.text("/bp")
    await user.text("128/78")
    assert await saved(user) == [(128, 78)]
