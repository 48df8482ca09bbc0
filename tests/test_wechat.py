"""The WeChat channel through its real wire format: signed and AES-encrypted XML POSTed to
`/wechat`, answers read back, and a fake WeChat API on loopback receiving what we push."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.channels.web import WebChat
from bot.channels.wechat import (
    EVENT_BUDGET,
    MESSAGE_BUDGET,
    REPLY_DEADLINE,
    Template,
    WeChatChannel,
    WeChatSender,
)
from bot.channels.wechat_api import WeChatAPI
from bot.context import Ctx
from bot.core import Reply
from bot.delivery.sender import Deferred
from bot.runtime import Runtime
from bot.web.app import build_app
from tests.conftest import Clock
from tests.fakes.wechat_api import FakeWeChatAPI, serve_asgi
from tests.fakes.wechat_follower import AES_KEY, APP_ID, APP_SECRET, TOKEN, Follower, sign

# A Jinshan location (Zhujing town) for location shares.
LAT, LON = 30.8930, 121.1620


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeWeChatAPI, str]]:
    api = FakeWeChatAPI(app_id=APP_ID, secret=APP_SECRET)
    async with serve_asgi(api.app()) as url:
        yield api, url


def make_channel(rt: Runtime, url: str, **kwargs: Any) -> WeChatChannel:
    api = WeChatAPI(rt.stores.channels, APP_ID, APP_SECRET, url)
    kwargs.setdefault("aes_key", None)  # plaintext mode; safe-mode tests pass AES_KEY
    return WeChatChannel(rt, api, token=TOKEN, app_id=APP_ID, **kwargs)


class Setup:
    def __init__(self, rt: Runtime, api: FakeWeChatAPI, url: str, clock: Clock) -> None:
        self.rt, self.api, self.url, self.clock = rt, api, url, clock
        self.channel: WeChatChannel | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self, **kwargs: Any) -> None:
        await self.stop()
        self.channel = make_channel(self.rt, self.url, **kwargs)
        self.rt.senders["wechat"] = WeChatSender(self.channel)
        app = build_app(self.rt, web=WebChat(self.rt), wechat=self.channel)
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://doorstep.test"
        )

    def follower(self, openid: str = "o-follower-1", safe_mode: bool = False) -> Follower:
        assert self._client is not None
        now = lambda: self.clock().timestamp()  # noqa: E731
        return Follower(self._client, openid, safe_mode=safe_mode, clock=now)

    @property
    def sender(self) -> WeChatSender:
        return self.rt.senders["wechat"]  # type: ignore[return-value]

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self._client is not None:
            await self._client.aclose()


@pytest.fixture
async def wx(rt: Runtime, fake: tuple[FakeWeChatAPI, str], clock: Clock) -> AsyncIterator[Setup]:
    setup = Setup(rt, fake[0], fake[1], clock)
    await setup.start(
        templates={
            "tip": Template("TPL-TIP", {"thing1": "{title}", "thing2": "{text}", "phrase3": "健康"})
        }
    )
    yield setup
    await setup.stop()


async def onboard(f: Follower) -> None:
    await f.subscribe()
    await f.text("English")  # an option's label works as well as its number
    answer = await f.text("1")  # ✅ I agree
    assert "You're all set" in (answer.content or "")


# -- the endpoint -------------------------------------------------------------------------------
async def test_url_verification_echoes_only_with_a_valid_signature(wx: Setup) -> None:
    f = wx.follower()
    ts, nonce = str(int(wx.clock().timestamp())), "abc"
    ok = await f.client.get(
        "/wechat",
        params={
            "signature": sign(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "echo-123",
        },
    )
    assert ok.status_code == 200 and ok.text == "echo-123"
    bad = await f.client.get(
        "/wechat",
        params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": "echo-123"},
    )
    assert bad.status_code == 403 and "echo-123" not in bad.text


async def test_forged_post_is_refused_and_handles_nothing(wx: Setup) -> None:
    f = wx.follower()
    answer = await f.post(f.xml("text", Content="/start"), signature="f" * 40)
    assert answer.status == 403
    assert await wx.rt.stores.residents.load("wechat", f.openid) is None


@pytest.mark.parametrize("safe_mode", [False, True], ids=["plaintext", "aes"])
async def test_conversation_start_menu_rhyme_location(wx: Setup, safe_mode: bool) -> None:
    if safe_mode:
        await wx.start(aes_key=AES_KEY)
    f = wx.follower(safe_mode=safe_mode)
    welcome = await f.subscribe()
    assert "Doorstep" in (welcome.content or "") or "家门口" in (welcome.content or "")
    assert "1" in (welcome.content or "") and "English" in (welcome.content or "")
    privacy = await f.text("2")  # languages are offered as 1 中文, 2 English
    assert "Privacy notice" in (privacy.content or "")
    assert "Reply 1: ✅ I agree" in (privacy.content or "")
    menu = await f.text("1")
    assert "💡 Health tips" in (menu.content or "")
    tips = await f.click("menu:tips")  # the custom menu's entry = tapping the menu label
    assert tips.content and "Read the rhyme" in tips.content
    number = next(
        line.split(":")[0].removeprefix("Reply ")
        for line in tips.content.splitlines()
        if "Read the rhyme" in line
    )
    rhyme = await f.text(number)
    assert "Wash your hands" in (rhyme.content or "")
    where = await f.location(LAT, LON)
    assert where.content and "went wrong" not in where.content
    assert wx.api.calls == []  # everything was answered passively: no API call needed


async def test_media_gets_a_text_or_buttons_reply(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    answer = await f.image()
    assert "can't read pictures" in (answer.content or "")


async def test_voice_with_recognition_is_read_as_text(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    answer = await f.post(f.xml("voice", MediaId="m", Format="amr", Recognition="/help"))
    assert "Doorstep helps you" in (answer.content or "")


async def test_unsubscribe_marks_the_resident_unreachable(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    answer = await f.event("unsubscribe")
    assert answer.status == 200 and answer.body == "success"
    loaded = await wx.rt.stores.residents.load("wechat", f.openid)
    assert loaded is not None and loaded[0].unreachable_at is not None


async def test_location_report_only_answers_when_a_location_is_asked_for(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    idle = await f.event("LOCATION", Latitude=LAT, Longitude=LON, Precision=30)
    assert idle.body == "success"

    seen: list[tuple[float, float]] = []

    async def ask(ctx: Ctx) -> None:
        ctx.set_state("probe_where")
        ctx.say("Where are you?")

    async def got(ctx: Ctx) -> None:
        assert ctx.msg.location is not None
        seen.append((ctx.msg.location.lat, ctx.msg.location.lon))
        ctx.clear_state()
        ctx.say("Thanks")

    wx.rt.registry.command("probe_where", ask)
    wx.rt.registry.state("probe_where", got)
    await f.text("/probe_where")
    wx.clock.set(wx.clock() + timedelta(seconds=5))  # WeChat reports every 5 s
    answer = await f.event("LOCATION", Latitude=LAT, Longitude=LON, Precision=30)
    assert answer.content == "Thanks" and seen == [(LAT, LON)]


async def test_custom_menu_clicks_map_to_every_main_menu_entry(wx: Setup) -> None:
    from bot.channels.wechat_menu import build_menu
    from bot.menu import MAIN_MENU

    f = wx.follower()
    await onboard(f)
    menu = build_menu(wx.rt.catalogs.get("zh_Hans"))
    keys = [b.get("key") for b in menu["button"]] + [
        s["key"] for b in menu["button"] for s in b.get("sub_button", [])
    ]
    assert sorted(k for k in keys if k) == sorted(f"menu:{i.key}" for i in MAIN_MENU)
    for item in MAIN_MENU:
        by_click = await f.click(f"menu:{item.key}")
        by_label = await f.text(wx.rt.catalogs.get("en").gettext(item.label))
        assert by_click.content == by_label.content, item.key


# -- WeChat's rules -------------------------------------------------------------------------------
async def test_a_retried_message_runs_its_handler_once(wx: Setup) -> None:
    runs: list[str] = []
    release, running = asyncio.Event(), asyncio.Event()

    async def probe(ctx: Ctx) -> None:
        runs.append(ctx.msg.text)
        running.set()
        await release.wait()
        ctx.say("probed")

    wx.rt.registry.command("probe", probe, open=True)
    await wx.start(reply_deadline=30)  # no time pressure here: only the retry is tested
    f = wx.follower()
    first = asyncio.create_task(f.text("/probe", msg_id=42))
    await running.wait()
    retry = asyncio.create_task(f.text("/probe", msg_id=42))  # WeChat's retry, same MsgId
    await asyncio.sleep(0.05)
    release.set()
    a, b = await first, await retry
    assert a.content == b.content == "probed"
    late = await f.text("/probe", msg_id=42)  # a retry after the answer: same answer again
    assert late.content == "probed"
    assert runs == ["/probe"]


async def test_retried_events_are_deduplicated_by_sender_and_time(wx: Setup) -> None:
    f = wx.follower()
    xml = f.xml("event", Event="subscribe", EventKey="")
    first = await f.post(xml)
    again = await f.post(xml)
    assert first.content == again.content and first.content
    other = wx.follower("o-follower-2")
    assert (await other.post(other.xml("event", Event="subscribe", EventKey=""))).content


async def test_a_slow_handler_is_answered_success_then_by_customer_service(wx: Setup) -> None:
    assert REPLY_DEADLINE < 5  # WeChat gives up after 5 s
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(ctx: Ctx) -> None:
        started.set()
        await release.wait()
        ctx.say("Here is your slow answer", [])

    wx.rt.registry.command("slow", slow, open=True)
    await wx.start(reply_deadline=0.05)
    f = wx.follower()
    # The handler cannot finish before we release it, so this answer came from the deadline.
    answer = await f.text("/slow")
    assert started.is_set() and not release.is_set()
    assert answer.status == 200 and answer.body == "success"
    assert wx.api.texts() == []
    release.set()
    assert wx.channel is not None
    await wx.channel.drain()
    assert wx.api.texts(f.openid) == ["Here is your slow answer"]


async def test_customer_service_sends_are_capped_per_message_and_merged(wx: Setup) -> None:
    async def chatty(ctx: Ctx) -> None:
        for i in range(8):
            ctx.say(f"part {i}")

    wx.rt.registry.command("chatty", chatty, open=True)
    wx.rt.registry.menu.pop("tips", None)
    await wx.start(reply_deadline=30, msgmenu=True)
    f = wx.follower()
    # Eight parts exceed one passive reply's room only when long; force the push path:
    # with msgmenu on, the subscribe answer (it has options) goes by customer service.
    await f.subscribe()
    assert wx.channel is not None
    await wx.channel.drain()
    assert len(wx.api.ok("custom")) == 1 and wx.api.ok("custom")[0]["msgtype"] == "msgmenu"
    await wx.sender.send(f.openid, [Reply(text=f"part {i}") for i in range(8)])
    sent = wx.api.texts(f.openid)[1:]
    assert len(sent) == EVENT_BUDGET - 1  # subscribe allows 3; the menu took one
    assert "part 7" in sent[-1] and "part 1" in sent[-1]
    with pytest.raises(Deferred, match="quota"):
        await wx.sender.send(f.openid, [Reply(text="one more")])
    await f.text("hello")  # a message from the resident: a fresh budget of 5...
    await wx.channel.drain()  # ...of which the answer to it (a msgmenu) takes one
    for i in range(MESSAGE_BUDGET - 1):
        await wx.sender.send(f.openid, [Reply(text=f"reminder {i}")])
    with pytest.raises(Deferred):
        await wx.sender.send(f.openid, [Reply(text="reminder 5")])


async def test_msgmenu_items_map_back_to_their_buttons(wx: Setup) -> None:
    await wx.start(msgmenu=True)
    f = wx.follower()
    await f.subscribe()
    assert wx.channel is not None
    await wx.channel.drain()
    menu = wx.api.ok("custom")[-1]["msgmenu"]
    english = next(i for i in menu["list"] if i["content"] == "English")
    await f.text("English", bizmsgmenuid=english["id"])
    await wx.channel.drain()
    assert "Privacy notice" in wx.api.ok("custom")[-1]["msgmenu"]["head_content"]


async def test_outside_48_hours_reminders_use_a_template_or_wait(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    await wx.sender.send(f.openid, [Reply(text="Within the window")])
    assert wx.api.texts(f.openid)[-1] == "Within the window"

    wx.clock.set(wx.clock() + timedelta(hours=49))
    no_template = type("Row", (), {"kind": "vaccine", "params": {}})()
    with pytest.raises(Deferred, match="48-hour"):
        await wx.sender.send(f.openid, [Reply(text="Late")], notification=no_template)
    assert wx.api.texts(f.openid)[-1] == "Within the window"  # nothing pushed

    tip = type("Row", (), {"kind": "tip", "params": {"title": "洗手" * 15}})()
    await wx.sender.send(
        f.openid, [Reply(text="Wash your hands, every single time")], notification=tip
    )
    sent = wx.api.ok("subscribe")[-1]
    assert sent["template_id"] == "TPL-TIP" and sent["touser"] == f.openid
    assert len(sent["data"]["thing1"]["value"]) == 20  # thing.* values are cut to 20
    assert sent["data"]["thing2"]["value"].startswith("Wash your hands")
    assert sent["data"]["phrase3"]["value"] == "健康"

    await f.text("hi again")  # the resident writes: the window opens again
    await wx.sender.send(f.openid, [Reply(text="Back in the window")], notification=no_template)
    assert wx.api.texts(f.openid)[-1] == "Back in the window"


async def test_wechat_error_codes_become_delivery_outcomes(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    wx.api.fail_next("custom", 45015)  # WeChat says the window is closed: believe it
    with pytest.raises(Deferred, match="45015"):
        await wx.sender.send(f.openid, [Reply(text="x")])
    calls = len(wx.api.calls)
    with pytest.raises(Deferred):
        await wx.sender.send(f.openid, [Reply(text="y")])
    assert len(wx.api.calls) == calls  # not even tried again until the resident writes

    await f.text("hello")
    wx.api.fail_next("custom", 45047)  # quota used up
    with pytest.raises(Deferred, match="45047"):
        await wx.sender.send(f.openid, [Reply(text="z")])
    resident = (await wx.rt.stores.residents.load("wechat", f.openid))[0]  # type: ignore[index]
    window = await wx.rt.stores.channels.window(resident.id)
    assert window is not None and window.cs_budget == 0


async def test_an_expired_token_is_refreshed_once_and_the_send_retried(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    await wx.sender.send(f.openid, [Reply(text="first")])
    assert wx.api.token_fetches == 1
    wx.api.expire_tokens()
    await wx.sender.send(f.openid, [Reply(text="second")])
    codes = [c.errcode for c in wx.api.calls if c.api == "custom"]
    assert codes == [0, 42001, 0]
    assert wx.api.token_fetches == 2
    assert wx.api.texts(f.openid) == ["first", "second"]


async def test_workers_share_one_token_fetch(wx: Setup) -> None:
    store = wx.rt.stores.channels
    # Two API clients stand for two workers sharing the database.
    one = WeChatAPI(store, APP_ID, APP_SECRET, wx.url)
    two = WeChatAPI(store, APP_ID, APP_SECRET, wx.url)
    wx.api.hold_token = asyncio.Event()
    first = asyncio.create_task(one.token())
    await wx.api.token_requested.wait()  # the first worker holds the lease and is fetching
    second = asyncio.create_task(two.token())
    await asyncio.sleep(0.05)
    wx.api.hold_token.set()
    assert await first == await second
    assert wx.api.token_fetches == 1
    await one.close()
    await two.close()


async def test_offered_options_survive_a_restart(
    wx: Setup, settings: Any, clock: Clock, fake: tuple[FakeWeChatAPI, str]
) -> None:
    f = wx.follower()
    await f.subscribe()  # offers 1 中文, 2 English
    await wx.stop()
    await wx.rt.stop()
    rt2 = Runtime(settings, clock=clock)
    await rt2.start()
    try:
        again = Setup(rt2, fake[0], fake[1], clock)
        await again.start()
        answer = await again.follower().text("2")
        assert "Privacy notice" in (answer.content or "")
        await again.stop()
    finally:
        await rt2.stop()
        await wx.rt.start()  # the fixture stops it again


# -- typed values on the reading keypads ---------------------------------------------------------
async def test_typed_readings_on_the_keypad_are_values_not_options(wx: Setup) -> None:
    f = wx.follower()
    await onboard(f)
    await f.text("/health")
    await f.text("🩸 Log glucose")
    keypad = await f.text("🌅 Fasting (before eating)")
    content = keypad.content or ""
    # Options are lettered on a value screen, and the hint says a number is the value.
    assert "Reply a: 1" in content and "Reply l: ✅" in content and "Reply 12" not in content
    assert "a number you send is the value" in content
    twelve = await f.text("12")  # was option 12, ✅ on an empty keypad: the reading was lost
    assert "Saved: 12.0 mmol/L" in (twelve.content or "")
    await f.text("/health")
    await f.text("🩸 Log glucose")
    await f.text("🌅 Fasting (before eating)")
    assert "Saved: 6.1 mmol/L" in ((await f.text("6.1")).content or "")
    await f.text("/health")
    await f.text("🩺 Log blood pressure")
    assert "Saved: 135/85 mmHg" in ((await f.text("135/85")).content or "")
    await f.text("/health")
    await f.text("🩸 Log glucose")
    await f.text("🌅 Fasting (before eating)")
    back = await f.text("p")  # ⬅️ Back, by its letter (after the meter's HI and LO keys)
    assert "Log glucose" in (back.content or "")
    loaded = await wx.rt.stores.residents.load("wechat", f.openid)
    assert loaded is not None
    saved = await wx.rt.services.health.readings(loaded[0].id)
    assert sorted((r.kind, r.glucose, r.systolic) for r in saved) == [
        ("bp", None, 135),
        ("glucose", 6.1, None),
        ("glucose", 12.0, None),
    ]


async def test_msgmenu_taps_on_the_keypad_still_press_keys(wx: Setup) -> None:
    await wx.start(reply_deadline=30, msgmenu=True)
    f = wx.follower()
    await f.subscribe()
    for text in ("English", "1", "/health"):  # answers go out as msgmenu messages
        await f.text(text)
    await f.text("🩸 Log glucose")
    await f.text("🌅 Fasting (before eating)")
    # A tapped msgmenu item arrives with its number: the key, never a typed value.
    for n in (6, 13, 1, 12):  # 6, decimal point, 1, ✅
        await f.text("", bizmsgmenuid=n)
    assert wx.channel is not None
    await wx.channel.drain()
    assert any("Saved: 6.1 mmol/L" in text for text in wx.api.texts(f.openid))


# -- a claimed message whose worker died ---------------------------------------------------------
async def test_a_message_claimed_by_a_dead_worker_is_handled_after_the_lease(
    wx: Setup, clock: Clock
) -> None:
    runs: list[str] = []

    async def probe(ctx: Ctx) -> None:
        runs.append(ctx.msg.text)
        ctx.say("probed")

    wx.rt.registry.command("probe", probe, open=True)
    await wx.start(reply_deadline=0.05)
    assert wx.channel is not None
    lease = wx.channel.inbound_lease
    f = wx.follower()
    # Another worker claimed message 90 and was killed (kill -9: its row stays 'running').
    now = int(clock().timestamp())
    assert await wx.rt.stores.channels.claim_inbound("m:90", now, lease)
    # WeChat's first retry, within the lease: the claim may still be live, so no second run.
    early = await f.text("/probe", msg_id=90)
    assert early.body == "success" and runs == []
    # A retry after the lease takes the message over and answers it.
    clock.set(clock() + timedelta(seconds=lease))
    late = await f.text("/probe", msg_id=90)
    assert late.content == "probed" and runs == ["/probe"]
    # Once answered, further retries get the same answer without running it again.
    clock.set(clock() + timedelta(seconds=lease))
    assert (await f.text("/probe", msg_id=90)).content == "probed"
    assert runs == ["/probe"]


async def test_a_live_claim_on_another_worker_is_waited_for_not_taken_over(
    wx: Setup, clock: Clock, fake: tuple[FakeWeChatAPI, str]
) -> None:
    runs: list[str] = []
    running, release = asyncio.Event(), asyncio.Event()

    async def probe(ctx: Ctx) -> None:
        runs.append(ctx.msg.text)
        running.set()
        await release.wait()
        ctx.say("probed")

    wx.rt.registry.command("probe", probe, open=True)
    await wx.start(reply_deadline=30)  # no time pressure: only the hand-over is tested
    # A second worker: its own channel object (no shared memory), the same database.
    other = make_channel(wx.rt, fake[1], reply_deadline=30)
    app = build_app(wx.rt, web=WebChat(wx.rt, "s"), wechat=other)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://doorstep.test"
    ) as client:
        now = lambda: clock().timestamp()  # noqa: E731
        f, g = wx.follower(), Follower(client, "o-follower-1", clock=now)
        first = asyncio.create_task(f.text("/probe", msg_id=91))
        await running.wait()
        # The retry reaches the other worker some seconds later, inside the lease.
        clock.set(clock() + timedelta(seconds=other.inbound_lease - 1))
        retry = asyncio.create_task(g.text("/probe", msg_id=91))
        await asyncio.sleep(0.2)  # let the retry find the claim and start watching it
        assert not retry.done()  # it waits for the live claim instead of answering 'success'
        release.set()
        a, b = await first, await retry
    await other.close()
    assert a.content == b.content == "probed"
    assert runs == ["/probe"]


async def test_a_failing_message_is_logged_without_what_was_sent(
    wx: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    f = wx.follower()
    await onboard(f)
    caplog.set_level(logging.INFO)
    # A location WeChat would never send is refused before any handler runs (it used to
    # fail inside one): a 400 and one clean line, without the text.
    answer = await f.post(
        f.xml("location", Location_X="31.2 Home-Street-8", Location_Y=121.1, Scale=15, Label="")
    )
    assert answer.status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "location out of range" in caplog.text
    assert "Home-Street-8" not in caplog.text
    # A superscript msgmenu id is not a menu item: read as the text, no failure.
    caplog.clear()
    answer = await f.text("/menu", bizmsgmenuid="²")
    assert answer.content and not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_reminder_mid_flow_keeps_the_numbers_on_screen(wx: Setup) -> None:
    """A tip pushed while the resident reads the tips screen is numbered after that screen's
    options: "2" still means "⏰ Time of day", not the tip's "🔕 Fewer tips"."""
    from bot.core import Button

    f = wx.follower("o-mid-flow")
    await onboard(f)
    await f.text("💡 Health tips")
    screen = await f.text("1")  # 🔔 Turn on tips
    assert "2：⏰" in (screen.content or "") or "2: ⏰" in (screen.content or "")
    tip = Reply(text="Wash your hands", buttons=((Button("👍 Helpful", "tips:fb:x:up"),),))
    await wx.sender.send(f.openid, [tip])
    pushed = wx.api.texts(f.openid)[-1]
    assert "Wash your hands" in pushed and "6" in pushed and "1: 👍" not in pushed
    loaded = await wx.rt.stores.residents.load("wechat", f.openid)
    assert loaded is not None
    offer = await wx.rt.stores.channels.load_options(loaded[0].id)
    by_number = {o["n"]: o["label"] for o in offer["options"]}
    assert by_number[2] == "⏰ Time of day" and by_number[6] == "👍 Helpful"
    answer = await f.text("2")
    assert "When would you like your tip?" in (answer.content or "")
