"""The router: per-user ordering, concurrency across users, callback data rules."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import build_registry
from bot.callbacks import StaleButton, cb, parse
from bot.core import Button, Incoming, Kind, Reply, split_text
from bot.router import Registry, UserError
from bot.runtime import Runtime


def test_callback_roundtrip_and_limits() -> None:
    data = cb("book", "slot", 123)
    assert data == "v1:book:slot:123"
    parsed = parse(data)
    assert parsed.feature == "book" and parsed.int_part(1) == 123
    with pytest.raises(ValueError):
        cb("x", "y" * 70)
    with pytest.raises(ValueError):
        cb("x", "a:b")
    with pytest.raises(ValueError):
        Button("x", "v1:" + "z" * 62)
    for bad in ("", "v2:bk:slot", "v1", "v1:", "v1:book::1", "x" * 65):
        with pytest.raises(StaleButton):
            parse(bad)
    with pytest.raises(StaleButton):
        parse("v1:book:slot:-3").int_part(1)


def test_split_text() -> None:
    text = ("line\n" * 2000).strip()
    chunks = split_text(text)
    assert all(len(c) <= 4096 for c in chunks)
    assert "".join(c.replace("\n", "") for c in chunks) == text.replace("\n", "")
    assert split_text("x" * 9000) == ["x" * 4096, "x" * 4096, "x" * 808]


def test_reply_rejects_buttons_and_keyboard_together() -> None:
    from bot.core import Keyboard, KeyButton

    with pytest.raises(ValueError):
        Reply("x", buttons=((Button("a", "v1:a"),),), keyboard=Keyboard(((KeyButton("b"),),)))


async def _runtime(settings, clock, registry: Registry) -> Runtime:
    rt = Runtime(settings, clock=clock, registry=registry)
    await rt.start()
    return rt


async def test_one_user_in_order_users_concurrently(settings, clock) -> None:
    registry = build_registry()
    seen: list[tuple[str, str]] = []
    running = 0
    peak = 0

    async def slow(ctx) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        seen.append((ctx.msg.user_id, ctx.msg.args))
        running -= 1
        ctx.say("ok")

    registry.command("probe", slow, open=True)
    rt = await _runtime(settings, clock, registry)
    try:
        msgs = [
            Incoming(channel="t", user_id=u, kind=Kind.COMMAND, command="probe", args=str(i))
            for i in range(5)
            for u in ("a", "b", "c")
        ]
        await asyncio.gather(*(rt.handle(m) for m in msgs))
    finally:
        await rt.stop()
    for u in ("a", "b", "c"):
        assert [a for who, a in seen if who == u] == ["0", "1", "2", "3", "4"]
    assert peak > 1  # different users overlapped
    assert len(rt.router.locks) == 0  # no lock left behind


async def test_handler_error_gets_kind_reply_and_keeps_state(settings, clock) -> None:
    registry = build_registry()

    async def boom(ctx) -> None:
        ctx.set_state("half-done")
        raise RuntimeError("bug")

    async def domain(ctx) -> None:
        raise UserError("That slot was just taken.")

    registry.command("boom", boom, open=True)
    registry.command("domain", domain, open=True)
    rt = await _runtime(settings, clock, registry)
    try:
        out = await rt.handle(
            Incoming(
                channel="t", user_id="1", kind=Kind.COMMAND, command="boom", language_code="en"
            )
        )
        assert "something went wrong" in out.replies[0].text
        loaded = await rt.router.residents.load("t", "1")
        assert loaded is not None and loaded[1].name is None
        out = await rt.handle(
            Incoming(
                channel="t", user_id="1", kind=Kind.COMMAND, command="domain", language_code="en"
            )
        )
        assert out.replies[0].text == "That slot was just taken."
    finally:
        await rt.stop()


async def test_menu_label_from_either_language_works(user) -> None:
    await user.text("⚙️ 设置")
    assert "Settings" in user.texts()


async def test_a_failing_handler_logs_no_personal_data(settings, clock, caplog) -> None:
    """The exception's message (which can quote what a resident typed) stays out of the log."""
    import logging

    registry = build_registry()

    async def leaky(ctx) -> None:
        int(ctx.msg.args)  # what the resident typed ends up in the ValueError's message

    registry.command("leaky", leaky, open=True)
    rt = await _runtime(settings, clock, registry)
    try:
        with caplog.at_level(logging.INFO):
            out = await rt.handle(
                Incoming(
                    channel="t",
                    user_id="9",
                    kind=Kind.COMMAND,
                    command="leaky",
                    args="my reading 135/85 and phone 13800000000",
                    language_code="en",
                )
            )
    finally:
        await rt.stop()
    assert "something went wrong" in out.replies[0].text
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "ValueError" in logged and "leaky" in logged  # type and frames are there
    assert "13800000000" not in logged and "135/85" not in logged
