"""Elder mode: every screen reachable by buttons has ⬅️ Back and 🏠 Home.

A crawler over the chat harness presses every button breadth-first, from the main menu (as an
elder-mode resident with a home, a signed team, a child, a booking and readings) and from the
doctor's desk (an elder-mode doctor's account), and checks every screen it reaches. A screen
is what one press answers with: its replies together must offer Back and Home. The main menu
keyboard counts as Home, and a screen that *is* the main menu (nothing above it) needs no Back.

Presses are bounded, and a few are not pressed (listed with why): the crawl runs on one live
database, so pressing "delete all my data" would end the walk (that end screen is tested
below on its own).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime

from bot.callbacks import cb
from bot.context import HOME
from bot.core import Outcome, Reply
from bot.runtime import Runtime
from bot.services.readings import BloodPressure
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser

MAX_PRESSES = 900
# Not pressed during the crawl, and why.
NOT_PRESSED = {
    cb("privacy", "delok"): "deletes the crawling resident (its end screen: see below)",
    cb("settings", "elder", "0"): "turns elder mode off: the rest of the walk would not be in it",
}
# Answers allowed to lack Back (their text → why). A button from a screen that no longer
# exists (here: the keypad of a reading already saved) has nothing to go back to; the answer
# says nothing changed and offers 🏠 Home.
NO_BACK_TEXTS = {
    "That button is out of date, so nothing was changed.": "stale button: no screen behind it",
}
# Screens allowed to lack Back (prefix of the press that shows them → why). Keep it short.
NO_BACK: dict[str, str] = {}


def has_home(replies: list[Reply]) -> bool:
    return any(
        r.keyboard is not None or any(b.data == HOME for b in r.all_buttons()) for r in replies
    )


def has_back(replies: list[Reply]) -> bool:
    return any("⬅️" in b.label for r in replies for b in r.all_buttons())


def is_main_menu(replies: list[Reply]) -> bool:
    return any(r.keyboard is not None for r in replies)


def twice(replies: list[Reply]) -> list[str]:
    """Navigation shown twice in one message (two ⬅️ Back or two 🏠 Home buttons): which."""
    out = []
    for r in replies:
        buttons = r.all_buttons()
        if sum("⬅️" in b.label for b in buttons) > 1:
            out.append("Back")
        if sum("🏠" in b.label for b in buttons) > 1:
            out.append("Home")
    return out


def problems_of(pressed: str, outcome: Outcome, strict: bool = False) -> list[str]:
    replies = [r for r in outcome.replies if r.text or r.buttons or r.keyboard]
    if not replies:
        return []  # a toast only (e.g. "already saved"): the screen did not change
    out = []
    text = replies[-1].text[:70].replace("\n", " ")
    if strict:
        out += [f"two {what}: {pressed} → {text!r}" for what in twice(replies)]
    if not has_home(replies):
        out.append(f"no Home: {pressed} → {text!r}")
    exempt = any(pressed.startswith(p) for p in NO_BACK) or any(
        t in r.text for r in replies for t in NO_BACK_TEXTS
    )
    if not has_back(replies) and not is_main_menu(replies) and not exempt:
        out.append(f"no Back: {pressed} → {text!r}")
    return out


async def crawl(
    u: ChatUser,
    starts: list[str],
    observe: Callable[[str, Outcome], None] | None = None,
    limit: int = MAX_PRESSES,
    not_pressed: dict[str, str] = NOT_PRESSED,
    strict: bool = False,
) -> tuple[list[str], int, set[str]]:
    """Press every button breadth-first from the start texts; the problems found. `observe`
    sees every press and its answer (other checks ride on the same walk)."""
    seen: set[str] = set()
    queue: deque[str] = deque()
    problems: list[str] = []
    presses = 0

    def enqueue(outcome: Outcome) -> None:
        for reply in outcome.replies:
            for b in reply.all_buttons():
                if b.data and b.data not in seen and b.data not in not_pressed:
                    seen.add(b.data)
                    queue.append(b.data)
            if reply.keyboard is not None:
                for row in reply.keyboard.rows:
                    for k in row:
                        key = "text:" + k.label
                        if key not in seen and k.request is None:
                            seen.add(key)
                            queue.append(key)

    for start in starts:
        outcome = await u.text(start)
        if observe is not None:
            observe(start, outcome)
        problems += problems_of(start, outcome, strict)
        enqueue(outcome)
    while queue and presses < limit:
        data = queue.popleft()
        presses += 1
        if data.startswith("text:"):
            outcome = await u.text(data[5:])
        else:
            outcome = await u.press_data(data)
        if observe is not None:
            observe(data, outcome)
        problems += problems_of(data, outcome, strict)
        enqueue(outcome)
    return problems, presses, seen


async def elder(rt: Runtime, u: ChatUser) -> None:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    await rt.services.residents.set_elder_mode(loaded[0], True)


async def test_every_resident_screen_has_back_and_home_in_elder_mode(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    rid = await signed_resident(
        rt, "6001", WANG, conditions=("hypertension",), birth_year=1950, name="Elder Crawl"
    )
    u = make_user("6001")
    await u.onboard()
    await elder(rt, u)
    health = rt.services.health
    await health.log_reading(rid, BloodPressure(150, 95))
    await rt.services.children.add(rid, "Xiaobao", date(2025, 11, 1))
    booking = rt.services.booking
    doctor = await rt.services.directory.doctor(WANG)
    assert doctor is not None
    await booking.ensure_slots(doctor, rt.now())
    slot = (await booking.free_times(WANG, date(2026, 11, 26), rt.now()))[0]
    assert (await booking.book(rid, slot.id, WANG, "chronic", rt.now())).appointment
    problems, presses, seen = await crawl(u, ["/start", "/menu"])
    assert presses > 100, presses  # the walk reached the features, not just the menu
    for screen in ("book:list", "health:list", "stations:v:", "vaccines:c:", "family:", "tips:"):
        assert any(screen in data for data in seen), screen
    assert not problems, "\n".join(sorted(set(problems)))


async def test_every_doctor_screen_has_back_and_home_in_elder_mode(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    for i in range(3):
        rid = await signed_resident(rt, f"r{i}", WANG, conditions=("hypertension",))
        await rt.services.health.log_reading(rid, BloodPressure(190, 120))
    r = await rt.stores.residents.create("test", "asker")
    await rt.services.directory.set_home(r.id, "朱泾", "东林居委")
    await rt.services.directory.request_signing(r.id, WANG, "Li Ming", "13800000000")
    doctor = await linked_doctor(rt, make_user)
    await elder(rt, doctor)
    # Strict on the desk: one Back and one Home per message, never two.
    problems, presses, seen = await crawl(doctor, ["/doctor"], strict=True)
    for screen in (
        "desk:sr",
        "day:today",
        "day:over",
        "day:flags",
        "day:card",
        "broadcast:new",
        "settings:show",
    ):
        assert any(screen in data for data in seen), screen
    assert presses >= 15, presses
    assert not problems, "\n".join(sorted(set(problems)))


async def test_after_delete_there_are_buttons(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    u = make_user("6002")
    await u.onboard()
    await elder(rt, u)
    await u.text("/delete")
    await u.press_data(cb("privacy", "delok"))
    assert u.all_replies()[-1].all_buttons(), u.texts()
    assert await rt.stores.residents.load("test", "6002") is None
    await u.press(u.labels()[0])
    assert "language" in u.texts().lower() or "语言" in u.texts()


def test_nothing_is_exempt_without_a_reason() -> None:
    assert all(why for why in (*NOT_PRESSED.values(), *NO_BACK.values(), *NO_BACK_TEXTS.values()))
    assert datetime(2026, 1, 1, tzinfo=UTC)  # the module's imports are used


async def test_the_day_pickers_are_compact_in_elder_mode(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """31 days fit in 5 rows of 7 (plus Back / Home), not 16 rows of 2."""
    u = make_user("6003")
    await u.onboard()
    await elder(rt, u)
    await u.press_data(cb("addchild", "new"))
    await u.text("Mimi")
    await u.press_data(cb("addchild", "y", 2026))
    await u.press_data(cb("addchild", "m", "202601"))
    (picker,) = [r for r in u.all_replies() if r.buttons]
    days = [b for row in picker.buttons for b in row if b.label.isdigit()]
    assert len(days) == 31
    assert len(picker.buttons) <= 6, [len(row) for row in picker.buttons]
    assert has_back([picker]) and has_home([picker])
