"""Typed values on channels that number their options (the web chat, the console sandbox; WeChat
is in tests/test_wechat.py): on a screen that asks for a typed value a number is that value,
never an option number, while taps, letters and non-numeric labels still choose."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bot.channels import numbered
from bot.channels.console import ConsoleChat
from bot.channels.web import WebChat
from bot.core import Button, Kind, Reply
from bot.runtime import Runtime

KEYPAD = [[Button(str(n), f"v1:reading:k:{n}") for n in range(r, r + 3)] for r in (1, 4, 7)] + [
    [
        Button("⌫", "v1:reading:k:del"),
        Button("0", "v1:reading:k:0"),
        Button("✅", "v1:reading:k:ok"),
    ]
]


def offered(*replies: Reply) -> dict[str, Any]:
    offer = numbered.offer(numbered.flatten(list(replies)))
    assert offer is not None
    return offer


def keypad(wants_text: bool) -> Reply:
    rows = tuple(tuple(row) for row in KEYPAD)
    return Reply(text="Fasting glucose?", buttons=rows, wants_text=wants_text)


# -- the rule ------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["12", "7", "6.1", "135/85", "135/85 72", "１２", "6,1", "14"])
def test_on_a_value_screen_typed_numbers_are_values(typed: str) -> None:
    offer = offered(keypad(wants_text=True))
    assert numbered.pick(typed, offer) is None
    incoming = numbered.text_to_incoming("web", "v", typed, offer)
    assert incoming.kind is Kind.TEXT and incoming.text == typed


def test_on_a_value_screen_letters_and_labels_still_choose() -> None:
    offer = offered(keypad(wants_text=True))
    ok = numbered.pick("✅", offer)  # a label that is not a number
    assert ok is not None and ok.data == "v1:reading:k:ok"
    first = numbered.pick("a", offer)  # options are keyed by letter here
    assert first is not None and first.data == "v1:reading:k:1"
    twelfth = numbered.pick("L", offer)
    assert twelfth is not None and twelfth.data == "v1:reading:k:ok"
    # A tap arrives by number (web chat, WeChat msgmenu) and is never taken for a value.
    tapped = numbered.option_by_number(12, offer)
    assert tapped is not None and tapped.data == "v1:reading:k:ok"


def test_elsewhere_numbers_still_choose_options() -> None:
    offer = offered(keypad(wants_text=False))
    twelfth = numbered.pick("12", offer)
    assert twelfth is not None and twelfth.data == "v1:reading:k:ok"
    third = numbered.pick("３", offer)  # full-width, as typed on Chinese keyboards
    assert third is not None and third.data == "v1:reading:k:3"
    assert numbered.pick("²", offer) is not None  # a superscript digit picks, never crashes


def test_option_keys_are_letters_only_on_value_screens() -> None:
    blocks = numbered.flatten([Reply(text="menu", buttons=((Button("Go", "x"),),)), keypad(True)])
    keys = [o.key for b in blocks for o in b.options]
    # One turn, one way of choosing: the first reply's option is lettered too.
    assert keys[:3] == ["a", "b", "c"] and keys[-1] == "m"
    assert [numbered.option_key(n, True) for n in (1, 26, 27, 28)] == ["a", "z", "aa", "ab"]
    assert numbered.option_key(12, False) == "12"


def test_a_value_screen_without_options_replaces_the_older_offer() -> None:
    older = offered(keypad(wants_text=False))
    assert numbered.pick("12", older) is not None
    newer = numbered.offer(numbered.flatten([Reply(text="Type it", wants_text=True)]))
    assert newer is not None and newer["options"] == []
    assert numbered.pick("12", newer) is None


# -- the web chat --------------------------------------------------------------------------------
class Visitor:
    def __init__(self, rt: Runtime) -> None:
        self.web = WebChat(rt)
        self.id = "visitor-1"
        self.messages: list[dict[str, Any]] = []

    async def type(self, text: str) -> list[dict[str, Any]]:
        self.messages = await self.web.handle(self.id, {"type": "text", "text": text})
        return self.messages

    async def tap(self, part: str) -> list[dict[str, Any]]:
        for m in self.messages:
            for o in m.get("options", []):
                if part in o["label"]:
                    self.messages = await self.web.handle(self.id, {"type": "option", "n": o["n"]})
                    return self.messages
        raise AssertionError(f"{part!r} not offered")

    def text(self) -> str:
        return "\n".join(m.get("text", "") for m in self.messages)


@pytest.fixture
async def visitor(rt: Runtime) -> Visitor:
    v = Visitor(rt)
    v.id = (await v.web.new_session()).visitor  # as the page gets one
    await v.type("/start")
    await v.tap("English")
    await v.tap("I agree")
    return v


async def glucose_readings(rt: Runtime, channel: str, user_id: str) -> list[float | None]:
    loaded = await rt.stores.residents.load(channel, user_id)
    assert loaded is not None
    return [r.glucose for r in await rt.services.health.readings(loaded[0].id)]


@pytest.mark.parametrize(("typed", "saved"), [("12", 12.0), ("14", 14.0), ("6.1", 6.1)])
async def test_web_typed_glucose_is_saved(
    rt: Runtime, visitor: Visitor, typed: str, saved: float
) -> None:
    await visitor.type("/health")
    await visitor.tap("Log glucose")
    keypad_msgs = await visitor.tap("Fasting")
    assert any(m.get("wants_text") for m in keypad_msgs)
    await visitor.type(typed)  # 12 and 14 were ✅ and ⬅️ Back before
    assert "Saved:" in visitor.text()
    assert await glucose_readings(rt, "web", visitor.id) == [saved]


async def test_web_typed_single_digit_is_the_value_not_the_key(
    rt: Runtime, visitor: Visitor
) -> None:
    await visitor.type("/health")
    await visitor.tap("Log glucose")
    await visitor.tap("Fasting")
    await visitor.type("7")  # a key is labelled "7", but a typed number is the reading
    assert "Saved: 7.0 mmol/L" in visitor.text()
    assert await glucose_readings(rt, "web", visitor.id) == [7.0]


async def test_web_typed_blood_pressure_and_tapped_keys(rt: Runtime, visitor: Visitor) -> None:
    await visitor.type("/health")
    await visitor.tap("Log blood pressure")
    await visitor.type("135/85")
    assert "Saved: 135/85 mmHg" in visitor.text()
    # Tapping the keypad (sent as option numbers) still works on a value screen.
    await visitor.type("/health")
    await visitor.tap("Log glucose")
    await visitor.tap("Fasting")
    for key in ("5", "decimal point", "2", "✅"):
        await visitor.tap(key)
    assert "Saved: 5.2 mmol/L" in visitor.text()
    assert sorted(map(str, await glucose_readings(rt, "web", visitor.id))) == ["5.2", "None"]


# -- the console sandbox -------------------------------------------------------------------------
async def test_console_typed_values_and_lettered_keys(rt: Runtime) -> None:
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="c1", out=out)
    for line in (
        "/start",
        "English",
        "1",
        "/health",
        "🩸 Log glucose",
        "🌅 Fasting (before eating)",
    ):
        await chat.feed(line)
    assert "[a] 1" in out.getvalue() and "[l] ✅" in out.getvalue()
    await chat.feed("12")
    assert "Saved: 12.0 mmol/L" in out.getvalue()
    await chat.feed("/health")
    await chat.feed("🩺 Log blood pressure")
    await chat.feed("135/85")
    assert "Saved: 135/85 mmHg" in out.getvalue()
    await chat.feed("/health")
    await chat.feed("🩸 Log glucose")
    await chat.feed("🌅 Fasting (before eating)")
    for line in ("f", "m", "a", "l"):  # the keys 6, decimal point, 1 and ✅, by letter
        await chat.feed(line)
    assert "Saved: 6.1 mmol/L" in out.getvalue()
    saved = await glucose_readings(rt, "console", "c1")
    assert sorted(map(str, saved)) == ["12.0", "6.1", "None"]


async def test_console_superscript_digits_do_not_crash(rt: Runtime) -> None:
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="c2", out=out)
    await chat.feed("/start")
    outcome = await chat.feed("²")  # the second option (English), as NFKC reads it
    assert outcome is not None and "Privacy notice" in out.getvalue()
