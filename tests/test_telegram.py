"""Tier 3: the real python-telegram-bot Application against a fake Bot API transport.

Everything below the transport is real: PTB's Bot and Application, our Telegram channel,
the router, the handlers and a SQLite file. The fake answers like the Bot API and records
every call, so the tests read what a resident's phone would have received.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.app import build_registry
from bot.channels.telegram import TelegramSender, build_application
from bot.config import Settings
from bot.context import Ctx
from bot.core import Attachment, Reply, Venue
from bot.delivery.sender import Blocked, Permanent, RetryLater, Transient
from bot.runtime import Runtime
from tests.conftest import Clock
from tests.fakes.botapi import FakeBotAPI, FakeBotAPIServer, FakeRequest
from tests.fakes.updates import FakeUser

ROOT = Path(__file__).resolve().parent.parent
LONG_REPLY = "\n".join(f"line {i:04d} " + "x" * 40 for i in range(100))  # ~5000 characters


async def _boom(ctx: Ctx) -> None:
    raise RuntimeError("a bug inside a handler")


async def _long(ctx: Ctx) -> None:
    ctx.say(LONG_REPLY, home=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:ABC"}, db_path=tmp_path / "tg.sqlite3")


@pytest.fixture
async def rt(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    """The real registry plus two test-only commands: one that fails, one that talks long."""
    registry = build_registry()
    registry.command("boom", _boom, open=True)
    registry.command("long", _long, open=True)
    runtime = Runtime(settings, clock=clock, registry=registry)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI("123:ABC", poll_wait=0.05)


@pytest.fixture
async def app(rt: Runtime, api: FakeBotAPI) -> AsyncIterator[Application]:
    application = build_application(
        rt, request=FakeRequest(api), get_updates_request=FakeRequest(api)
    )
    async with application:
        yield application


Send = Callable[[dict[str, Any]], Awaitable[None]]


@pytest.fixture
def send(app: Application) -> Send:
    async def push(update: dict[str, Any]) -> None:
        await app.process_update(Update.de_json(update, app.bot))

    return push


async def onboard(send: Send, u: FakeUser, language: str = "English") -> None:
    await send(u.text("/start"))
    await send(u.press(language))
    await send(u.press("✅"))


def inline_buttons(api: FakeBotAPI) -> list[dict[str, Any]]:
    return [
        b
        for c in api.replies()
        for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]


async def test_zh_user_gets_chinese_and_en_user_english(api: FakeBotAPI, send: Send) -> None:
    zh = FakeUser(api, 2001, "李", "zh-hans")
    en = FakeUser(api, 2002, "Ann", "en-GB")
    await send(zh.text("/start"))
    await send(en.text("/start"))
    assert "请选择语言" in api.texts(2001)[-1] and "欢迎" in api.texts(2001)[-1]
    assert api.texts(2002)[-1].startswith("Welcome to Doorstep")
    await send(zh.press("中文"))
    await send(en.press("English"))
    assert "隐私" in api.texts(2001)[-1]
    assert "Privacy notice" in api.texts(2002)[-1]
    await send(zh.press("✅"))
    await send(en.press("✅"))
    assert "设置完成" in api.texts(2001)[-1]
    assert "You're all set" in api.texts(2002)[-1]


async def test_main_menu_is_a_persistent_resized_reply_keyboard(
    api: FakeBotAPI, send: Send
) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    markup = api.last_markup(u.user_id)
    assert markup is not None and "keyboard" in markup
    assert markup["is_persistent"] is True and markup["resize_keyboard"] is True
    labels = [b["text"] for row in markup["keyboard"] for b in row]
    assert "⚙️ Settings" in labels and "💡 Health tips" in labels
    # A tap on the keyboard arrives as its label's text and opens the feature.
    await send(u.press("⚙️ Settings"))
    assert api.texts(u.user_id)[-1].startswith("Settings")


async def test_inline_buttons_are_short_versioned_callbacks(api: FakeBotAPI, send: Send) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    for step in ("⚙️ Settings", "🌐 Language", "⬅️ Back", "Elder mode: turn on", "✅ Yes"):
        await send(u.press(step))
    await send(u.text("/delete"))
    await send(u.text("/help"))
    buttons = inline_buttons(api)
    assert len(buttons) >= 10
    for b in buttons:
        data = b["callback_data"]
        assert data.startswith("v1:") and len(data.encode()) <= 64, data


async def test_every_callback_is_answered_even_forged_stale_or_failing(
    api: FakeBotAPI, send: Send
) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    queries = []
    presses = [
        u.callback("v1:menu:home"),
        u.callback("garbage"),
        u.callback("v0:menu:home"),
        u.callback("v1:settings:setlang:fr"),
        u.callback("v1:nofeature:x"),
        u.callback("x" * 64),
        u.callback(None),  # a game button: no data at all
        u.callback("v1:settings:show", message_id=999_999),  # a message the bot never sent
    ]
    for update in presses:
        queries.append(update["callback_query"]["id"])
        before = len(api.replies(u.user_id))
        await send(update)
        assert len(api.replies(u.user_id)) > before, update["callback_query"].get("data")
    # The answer itself fails (network, flood control): the reply still arrives.
    for kind in ("network", "retry_after", "server"):
        api.fail("answerCallbackQuery", kind)
        update = u.callback("v1:menu:home")
        queries.append(update["callback_query"]["id"])
        before = len(api.replies(u.user_id))
        await send(update)
        assert len(api.replies(u.user_id)) > before, kind
    answered = [c.params["callback_query_id"] for c in api.calls_to("answerCallbackQuery")]
    onboarding_presses = 2
    assert sorted(answered[onboarding_presses:]) == sorted(queries)
    forged = api.calls_to("answerCallbackQuery")[onboarding_presses + 1]
    assert forged.params.get("text") == "This button is no longer valid."


async def test_button_on_an_old_message_edits_or_sends_anew(api: FakeBotAPI, send: Send) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    await send(u.press("⚙️ Settings"))
    await send(u.press("🌐 Language"))
    assert api.calls[-1].method == "editMessageText" and api.calls[-1].ok
    # The same screen again: Telegram refuses an identical edit; the channel accepts that.
    await send(u.press("⬅️ Back"))
    await send(u.callback("v1:settings:show"))
    last = api.calls_to("editMessageText")[-1]
    assert not last.ok and "not modified" in (last.description or "")
    # The message is gone (deleted on the phone): a fresh message is sent instead.
    await send(u.callback("v1:settings:lang", message_id=424242))
    assert api.replies(u.user_id)[-1].method == "sendMessage"
    assert api.texts(u.user_id)[-1] == "Choose your language."


async def test_5000_character_reply_is_split(api: FakeBotAPI, send: Send) -> None:
    u = FakeUser(api)
    await send(u.text("/long"))
    sent = api.calls_to("sendMessage", u.user_id)
    assert len(sent) >= 2 and all(c.ok and len(c.params["text"]) <= 4096 for c in sent)
    assert "\n".join(c.params["text"] for c in sent) == LONG_REPLY
    # The buttons go with the last part only.
    assert [bool(c.params.get("reply_markup")) for c in sent] == [False] * (len(sent) - 1) + [True]


async def test_mydata_sends_a_json_document(api: FakeBotAPI, send: Send) -> None:
    u = FakeUser(api, 3003, language_code="zh-CN")
    await onboard(send, u, "中文")
    await send(u.text("/mydata"))
    docs = api.calls_to("sendDocument", u.user_id)
    assert len(docs) == 1 and docs[0].ok
    upload = docs[0].files["document"]
    assert upload.filename == "doorstep-my-data.json" and upload.size > 50
    assert upload.mime == "application/json"
    assert docs[0].params["caption"] == "您的数据（JSON）"
    # The file first, then the words with Back and Home (never a file as the last message).
    assert api.texts(u.user_id)[-2:][0] == "您的数据（JSON）"
    assert "您的全部信息" in api.texts(u.user_id)[-1]


async def test_blocked_user_is_marked_unreachable(api: FakeBotAPI, send: Send, rt: Runtime) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    store = rt.stores.residents
    api.blocked_chats.add(u.user_id)
    await send(u.text("hello"))
    assert api.calls[-1].status == 403
    loaded = await store.load("telegram", str(u.user_id))
    assert loaded is not None and loaded[0].unreachable_at is not None
    # Writing again after unblocking makes them reachable.
    api.blocked_chats.discard(u.user_id)
    await send(u.text("hello again"))
    loaded = await store.load("telegram", str(u.user_id))
    assert loaded is not None and loaded[0].unreachable_at is None
    assert "not sure I understood" in api.texts(u.user_id)[-1]


async def test_kicked_member_update_marks_unreachable(
    api: FakeBotAPI, send: Send, rt: Runtime
) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    store = rt.stores.residents
    replies_before = len(api.replies())
    await send(u.member_status("kicked"))
    loaded = await store.load("telegram", str(u.user_id))
    assert loaded is not None and loaded[0].unreachable_at is not None
    await send(u.member_status("member"))
    loaded = await store.load("telegram", str(u.user_id))
    assert loaded is not None and loaded[0].unreachable_at is None
    assert len(api.replies()) == replies_before  # nothing is said to a member change


async def test_handler_exception_gets_a_friendly_reply_and_the_bot_goes_on(
    api: FakeBotAPI, send: Send, caplog: pytest.LogCaptureFixture
) -> None:
    u = FakeUser(api, 4004, language_code="zh")
    await send(u.text("/boom secret-words"))
    assert "出了点问题" in api.texts(u.user_id)[-1] or "出错" in api.texts(u.user_id)[-1]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures and "secret-words" not in caplog.text
    await send(u.text("/help"))
    assert "/mydata" in api.texts(u.user_id)[-1]


async def test_router_failure_still_gets_an_apology(
    api: FakeBotAPI, settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Even when the error fallback itself fails, PTB's error handler tells the resident."""
    registry = build_registry()
    registry.command("boom", _boom, open=True)
    registry.fallbacks["error"] = _boom
    runtime = Runtime(settings, clock=clock, registry=registry)
    await runtime.start()
    try:
        application = build_application(runtime, request=FakeRequest(api))
        async with application:
            u = FakeUser(api, 5005, language_code="en")
            await application.process_update(Update.de_json(u.text("/boom"), application.bot))
            assert api.texts(u.user_id) == [
                "Sorry, something went wrong on our side. Nothing you entered was lost; "
                "please try again."
            ]
            assert any("error while handling update" in r.message for r in caplog.records)
            await application.process_update(Update.de_json(u.text("/help"), application.bot))
            assert "/mydata" in api.texts(u.user_id)[-1]
    finally:
        await runtime.stop()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda u: u.sticker(), "can't read pictures"),
        (lambda u: u.photo("my blood pressure"), "can't read pictures"),
        (lambda u: u.voice(), "can't read pictures"),
        (lambda u: u.edited("fixed typo"), "edited a message"),
        # Features answer a shared location or contact in their own words.
        (lambda u: u.location(30.74, 121.34), None),
        (lambda u: u.location(91.0, 500.0), None),
        (lambda u: u.contact("+8613800000000"), None),
        (lambda u: u.text("x" * 4096), "Ask my team"),
        (lambda u: u.text("/nonsense"), "don't know that command"),
        (lambda u: u.text("/HELP@doorstep_test_bot"), "/mydata"),
    ],
)
async def test_odd_input_gets_a_kind_reply(
    api: FakeBotAPI,
    send: Send,
    make: Callable[[FakeUser], dict[str, Any]],
    expected: str | None,
) -> None:
    u = FakeUser(api)
    await onboard(send, u)
    before = len(api.replies(u.user_id))
    await send(make(u))
    new = api.texts(u.user_id)[before:]
    assert new and not any("went wrong" in t for t in new)
    assert expected is None or expected in new[-1]


async def test_group_chats_are_ignored_without_error(
    api: FakeBotAPI, send: Send, caplog: pytest.LogCaptureFixture
) -> None:
    u = FakeUser(api)
    group = {"id": -100500, "type": "supergroup", "title": "Neighbours"}
    message = {"message_id": 7, "date": 0, "chat": group, "from": u.user, "text": "/start"}
    await send({"update_id": api.next_update_id(), "message": message})
    query = {
        "id": "g1",
        "from": u.user,
        "chat_instance": "g",
        "data": "v1:menu:home",
        "message": {**message, "from": api.bot_user},
    }
    await send({"update_id": api.next_update_id(), "callback_query": query})
    assert api.replies() == []
    assert [c.params["callback_query_id"] for c in api.calls_to("answerCallbackQuery")] == ["g1"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("kind", ["retry_after", "network", "server"])
async def test_an_interactive_reply_survives_one_failed_send(
    api: FakeBotAPI, send: Send, kind: str
) -> None:
    u = FakeUser(api)
    api.fail("sendMessage", kind, chat_id=u.user_id, retry_after=1)
    await send(u.text("/start"))
    sent = api.calls_to("sendMessage", u.user_id)
    assert [c.ok for c in sent] == [False, True]
    assert sent[1].text.startswith("Welcome to Doorstep")


async def test_a_long_flood_pause_is_not_waited_out(api: FakeBotAPI, send: Send) -> None:
    u = FakeUser(api)
    api.fail("sendMessage", "retry_after", chat_id=u.user_id, retry_after=3600)
    await send(u.text("/start"))
    assert [c.status for c in api.calls_to("sendMessage", u.user_id)] == [429]


async def test_sender_renders_venues_photos_and_maps_errors(
    app: Application, api: FakeBotAPI
) -> None:
    sender = TelegramSender(app.bot)
    venue = Venue(30.7397, 121.3410, "金山卫镇社区卫生服务中心", "上海市金山区卫清西路")
    await sender.send("1001", [Reply(venue=venue)])
    sent = api.calls_to("sendVenue")[-1]
    assert sent.ok and sent.params["title"] == venue.title
    assert sent.result["venue"]["location"]["latitude"] == pytest.approx(30.7397)
    await sender.send("1001", [Reply(text="chart", photo=Attachment("bp.png", b"\x89PNG..."))])
    photo = api.calls_to("sendPhoto")[-1]
    assert (
        photo.ok
        and photo.files["photo"].filename == "bp.png"
        and photo.params["caption"] == "chart"
    )

    api.fail("sendMessage", "blocked")
    with pytest.raises(Blocked):
        await sender.send("1001", [Reply(text="hi")])
    api.fail("sendMessage", "retry_after", retry_after=7)
    with pytest.raises(RetryLater) as flood:
        await sender.send("1001", [Reply(text="hi")])
    assert flood.value.seconds == 7
    for kind in ("network", "server"):
        api.fail("sendMessage", kind)
        with pytest.raises(Transient):
            await sender.send("1001", [Reply(text="hi")])
    with pytest.raises(Permanent):
        await sender.send("1001", [Reply(venue=dataclasses.replace(venue, lat=123.0))])


async def test_long_polling_answers_in_each_users_language(rt: Runtime, api: FakeBotAPI) -> None:
    app = build_application(rt, request=FakeRequest(api), get_updates_request=FakeRequest(api))
    zh = FakeUser(api, 6001, "王", "zh-CN")
    en = FakeUser(api, 6002, "Tom", "en")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        api.enqueue(zh.text("/start"), en.text("/start"))
        await wait_for(lambda: len(api.replies(6001)) >= 1 and len(api.replies(6002)) >= 1)
        api.enqueue(zh.press("中文"), en.press("English"))
        await wait_for(lambda: len(api.replies(6001)) >= 2 and len(api.replies(6002)) >= 2)
        await app.updater.stop()
        await app.stop()
    assert "隐私说明" in api.texts(6001)[-1]
    assert "Privacy notice" in api.texts(6002)[-1]
    assert api.calls_to("deleteWebhook") and api.pending_updates == 0


async def wait_for(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Wait until something another task does has happened (a guard, not a timing check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the bot did not get there")
        await asyncio.sleep(0.02)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DOORSTEP_"))}
    env.update({"DOORSTEP_DB": str(tmp_path / "run.sqlite3"), "PYTHONPATH": str(ROOT), **extra})
    return env


# How long to wait for a real process to do something. A wait for an event, not a timed
# assertion: it only bounds a hang, so it is generous enough that a loaded machine (the bot
# process starting Python, PTB and the migrations on 2 shared cores) cannot fail it.
PROCESS_WAIT = 240.0


async def finish(
    proc: asyncio.subprocess.Process, terminate: bool = True, limit: float = PROCESS_WAIT
) -> bytes:
    """Stop the process (SIGTERM unless it is to exit by itself, then SIGKILL if it has not
    exited within `limit`) and return its stderr: after a failed wait too, so no bot process
    outlives its test."""
    if terminate and proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), limit)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        raise
    return stderr


async def test_a_process_that_ignores_sigterm_is_killed() -> None:
    """The clean-up the process tests rely on: a hung process does not outlive the test."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"ready"  # SIGTERM is ignored from here
    with pytest.raises(TimeoutError):
        await finish(proc, limit=0.5)
    assert proc.returncode == -signal.SIGKILL


async def test_doorstep_run_against_a_fake_bot_api_server(tmp_path: Path) -> None:
    """The real CLI, PTB's httpx transport and long polling, over HTTP to the fake."""
    api = FakeBotAPI("123:ABC", poll_wait=0.2)
    async with FakeBotAPIServer(api) as server:
        env = _env(tmp_path, TELEGRAM_BOT_TOKEN="123:ABC", TELEGRAM_API_URL=server.url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            zh = FakeUser(api, 7001, "张", "zh-hans")
            en = FakeUser(api, 7002, "Kim", "en-US")
            api.enqueue(zh.text("/start"), en.text("/start"))
            await wait_for(lambda: api.replies(7001) and api.replies(7002), PROCESS_WAIT)
            api.enqueue(zh.press("中文"), en.press("English"))
            await wait_for(
                lambda: len(api.replies(7001)) >= 2 and len(api.replies(7002)) >= 2, PROCESS_WAIT
            )
            api.enqueue(zh.press("✅"), en.press("✅"))
            await wait_for(
                lambda: len(api.replies(7001)) >= 3 and len(api.replies(7002)) >= 3, PROCESS_WAIT
            )
            api.enqueue(zh.text("/mydata"))
            await wait_for(lambda: api.calls_to("sendDocument", 7001), PROCESS_WAIT)
        finally:
            stderr = await finish(proc)
    assert proc.returncode == 0, stderr.decode()
    assert "隐私说明" in api.texts(7001)[1] and "设置完成" in api.texts(7001)[2]
    assert "Privacy notice" in api.texts(7002)[1] and "You're all set" in api.texts(7002)[2]
    assert api.last_markup(7002)["is_persistent"] is True  # type: ignore[index]
    upload = api.calls_to("sendDocument", 7001)[0].files["document"]
    assert upload.filename == "doorstep-my-data.json"
    exported = json.loads(json.dumps(api.calls_to("sendDocument", 7001)[0].result))
    assert exported["document"]["file_size"] == upload.size > 0
    assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_doorstep_run_without_a_token_exits_2(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stderr = await finish(proc, terminate=False)  # it exits by itself; SIGKILL if it hangs
    text = stderr.decode().strip()
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in text and len(text.splitlines()) == 1
    assert "Traceback" not in text


def test_verbose_logging_never_shows_the_token(tmp_path: Path) -> None:
    """`doorstep -v` raises our loggers to INFO but keeps httpx (whose request URLs carry
    the bot token) at WARNING."""
    import logging

    from bot import cli

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        assert cli.main(["-v", "db", "--db", str(tmp_path / "v.sqlite3"), "migrate"]) == 0
        assert logging.getLogger("bot.router").getEffectiveLevel() <= logging.INFO
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.getLogger("httpx").setLevel(logging.NOTSET)
