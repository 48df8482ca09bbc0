"""Benchmark: a doctor's 10,000-recipient broadcast end to end, through the real Application,
handlers, outbox, dispatcher, progress loop and PTB, over the fake Bot API.

    python bench/broadcast.py [--recipients 10000] [--capped-seconds 20]

1. baseline (same run): 10,000 plain `text` outbox rows planned directly and sent by the same
   dispatcher with no rate limit: the pipeline without the doctor's side.
2. uncapped: the doctor links with `/doctor CODE` and composes by pressing buttons (audience
   "hypertension", own text, now, and above 500 recipients the second confirmation); it is sent
   with no rate limit. `uncapped_msgs_per_s` is recipients / (confirm -> final report), and
   `uncapped_vs_baseline` its ratio to (1).
3. capped: the same broadcast at Telegram's 30 messages/s for `--capped-seconds`, then the
   doctor presses Cancel. `capped_cap_ratio` = messages per second / 30; nothing may go out
   after the cancel beyond the rows the dispatcher already held.

Both broadcast runs check every recipient: `lost` counts rows marked sent that never arrived
(and arrivals never marked), `duplicates` second copies. `progress_edits` counts edits of the
doctor's progress message; `progress_min_gap_s` is the shortest time between two of them
(the loop edits at most once per 5 s per chat; Telegram allows about 1 message/s per chat).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application  # noqa: E402

import bot.channels.telegram as tg  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.outbox import Planned  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services.broadcast_progress import EDIT_EVERY  # noqa: E402
from bot.services.broadcasts import LARGE  # noqa: E402
from handlers.doctor.broadcast_progress import progress_loop  # noqa: E402
from tests.doctor_fixtures import WANG, bulk_signed, load_district  # noqa: E402
from tests.fakes.botapi import FakeBotAPI, FakeRequest  # noqa: E402
from tests.fakes.updates import FakeUser  # noqa: E402

FIRST_CHAT = 900_000
DOCTOR = 77
CAP = 30.0
TEXT = "Free blood pressure checks at the centre on Saturday morning."


async def make_runtime(settings: Settings, n: int) -> Runtime:
    rt = Runtime(settings)
    await rt.start()
    await load_district(rt)
    await bulk_signed(rt, n, first=FIRST_CHAT, channel="telegram")
    return rt


async def send(app: Application, update: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(update, app.bot))


async def press(app: Application, api: FakeBotAPI, user: FakeUser, label: str) -> None:
    """Press the newest button whose text contains `label` in the user's chat."""
    for msg in reversed(list(api.messages.get(user.user_id, {}).values())):
        for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
            for b in row:
                if label in b.get("text", "") and "callback_data" in b:
                    await send(app, user.callback(b["callback_data"], msg["message_id"]))
                    return
    raise RuntimeError(f"no button with {label!r}")


async def compose(rt: Runtime, app: Application, api: FakeBotAPI) -> FakeUser:
    """The doctor links and composes the broadcast with buttons, up to the confirm screen."""
    doctor = FakeUser(api, user_id=DOCTOR, language_code="en")
    code = await rt.services.doctors.invite(WANG)
    await send(app, doctor.text(f"/doctor {code}"))
    await press(app, api, doctor, "New broadcast")
    await press(app, api, doctor, "Hypertension")
    await press(app, api, doctor, "Type my own")
    await send(app, doctor.text(TEXT))
    await press(app, api, doctor, "Now")
    return doctor


async def confirm(app: Application, api: FakeBotAPI, doctor: FakeUser, n: int) -> None:
    """Press Send, and above LARGE recipients the second confirmation: the press that starts
    the broadcast is the last one (at or below LARGE there is no second screen)."""
    await press(app, api, doctor, f"Send to {n:,}")
    if n > LARGE:
        await press(app, api, doctor, f"Yes, send to {n:,}")


def recipient_calls(api: FakeBotAPI) -> list[tuple[float, int]]:
    return [
        (c.t, c.chat_id or 0)
        for c in api.calls_to("sendMessage")
        if c.ok and TEXT in c.text and c.chat_id != DOCTOR
    ]


def edits(api: FakeBotAPI, after: float) -> list[float]:
    """Times of the progress loop's edits: edits of the doctor's chat after the confirm press
    returned (the button presses before it edit their own screens)."""
    return [c.t for c in api.calls_to("editMessageText", DOCTOR) if c.ok and c.t > after]


async def finished(rt: Runtime, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await rt.db.fetchval("SELECT COUNT(*) FROM broadcasts WHERE finished_at IS NULL") == 0:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the broadcast did not finish in time")


async def start_pipeline(rt: Runtime) -> None:
    await rt.delivery.dispatcher.start()
    rt.spawn(progress_loop(rt).run(), "broadcast-progress")


async def marked_sent(rt: Runtime) -> set[int]:
    rows = await rt.db.fetchall(
        "SELECT r.channel_user_id FROM outbox o JOIN residents r ON r.id = o.resident_id "
        "WHERE o.kind = 'broadcast' AND o.status = 'sent'"
    )
    return {int(r[0]) for r in rows}


async def baseline(settings: Settings, n: int) -> float:
    rt = await make_runtime(settings, n)
    ids = [r[0] for r in await rt.db.fetchall("SELECT id FROM residents ORDER BY id")]
    now = rt.now()
    await rt.stores.outbox.plan(
        [Planned(i, "text", "text", now, f"base:{i}", params={"text": TEXT}) for i in ids], now
    )
    api = FakeBotAPI("123:ABC")
    app = tg.build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders[tg.CHANNEL] = tg.TelegramSender(app.bot)
        t0 = time.perf_counter()
        await rt.delivery.dispatcher.start()
        store = rt.stores.delivery
        while await store.open_count():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
    await rt.stop()
    return n / elapsed


async def uncapped(settings: Settings, n: int) -> dict[str, Any]:
    rt = await make_runtime(replace(settings, global_rate=0, per_chat_interval=0), n)
    api = FakeBotAPI("123:ABC")
    app = tg.build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders[tg.CHANNEL] = tg.TelegramSender(app.bot)
        await start_pipeline(rt)
        doctor = await compose(rt, app, api)
        t0 = time.monotonic()
        await confirm(app, api, doctor, n)
        t_confirmed = time.monotonic()
        await finished(rt, 900)
        await asyncio.sleep(0.5)  # the report is sent just after the final counts are written
        report = [c.text for c in api.calls_to("sendMessage", DOCTOR) if "Report" in c.text]
    calls = recipient_calls(api)
    # Confirm press to the last recipient's message (the final report waits for its edit turn).
    elapsed = max(t for t, _ in calls) - t0
    got = Counter(chat for _, chat in calls)
    marked = await marked_sent(rt)
    await rt.stop()
    return {
        "seconds": elapsed,
        "rate": n / elapsed,
        "lost": len(set(range(FIRST_CHAT, FIRST_CHAT + n)) - set(got)) + len(set(got) ^ marked),
        "duplicates": sum(k - 1 for k in got.values()),
        "edits": edits(api, t_confirmed),
        "loop_edits": progress_loop(rt).edits,
        "report": report[-1] if report else "",
    }


async def capped(settings: Settings, n: int, seconds: float) -> dict[str, Any]:
    rt = await make_runtime(replace(settings, global_rate=CAP, per_chat_interval=1.0), n)
    api = FakeBotAPI("123:ABC")
    app = tg.build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders[tg.CHANNEL] = tg.TelegramSender(app.bot)
        await start_pipeline(rt)
        doctor = await compose(rt, app, api)
        t0 = time.monotonic()
        await confirm(app, api, doctor, n)
        t_confirmed = time.monotonic()
        await asyncio.sleep(seconds)
        t_press = time.monotonic()
        await press(app, api, doctor, "Cancel the broadcast")
        t_cancel = time.monotonic()
        await finished(rt, 120)
        await asyncio.sleep(1.0)  # anything still going out would show now
    calls = recipient_calls(api)
    before = [t for t, _ in calls if t <= t_cancel]
    after = [t for t, _ in calls if t > t_cancel]
    span = (max(before) - min(before)) if len(before) > 1 else seconds
    got = Counter(chat for _, chat in calls)
    marked = await marked_sent(rt)
    window = rt.settings.delivery_window
    await rt.stop()
    return {
        "seconds": t_cancel - t0,
        "rate": len(before) / span if span else 0.0,
        "after_cancel": len(after),
        "window": window,
        "lost": len(set(got) ^ marked),
        "duplicates": sum(k - 1 for k in got.values()),
        "edits": [t for t in edits(api, t_confirmed) if t < t_press],
        "final_edits": edits(api, t_cancel),
        "concurrency": rt.settings.delivery_concurrency,
    }


def min_gap(times: list[float]) -> float | None:
    times = sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return round(min(gaps), 2) if gaps else None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="doorstep-bench-broadcast-"))
    env = {
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "DOORSTEP_QUIET_START": "00:00",  # a benchmark run at night must not wait
        "DOORSTEP_QUIET_END": "00:00",
    }
    base = replace(Settings.from_env(env), global_rate=0, per_chat_interval=0)
    n = args.recipients
    base_rate = await baseline(replace(base, db_path=tmp / "baseline.sqlite3"), n)
    print(f"baseline: {n:,} plain rows through the dispatcher: {base_rate:,.0f} msgs/s", flush=True)
    u = await uncapped(replace(base, db_path=tmp / "uncapped.sqlite3"), n)
    print(
        f"uncapped broadcast: {n:,} recipients in {u['seconds']:.2f}s = {u['rate']:,.0f} msgs/s "
        f"({u['rate'] / base_rate:.2f} of baseline); {len(u['edits'])} progress edits; "
        f"lost {u['lost']}, duplicates {u['duplicates']}; report: {u['report']!r}",
        flush=True,
    )
    c = await capped(replace(base, db_path=tmp / "capped.sqlite3"), n, args.capped_seconds)
    print(
        f"capped broadcast: {c['rate']:.2f} msgs/s at a cap of {CAP:g} "
        f"(ratio {c['rate'] / CAP:.3f}); cancelled after {c['seconds']:.1f}s, "
        f"{c['after_cancel']} sent after the cancel (rendered and waiting for their rate-limit "
        f"slot: at most {c['concurrency']} workers); "
        f"{len(c['edits'])} progress edits",
        flush=True,
    )
    all_edits = [u["edits"], c["edits"] + c["final_edits"]]
    gaps = [g for g in (min_gap(e) for e in all_edits) if g is not None]
    return {
        "recipients": n,
        "baseline_msgs_per_s": round(base_rate, 1),
        "uncapped_msgs_per_s": round(u["rate"], 1),
        "uncapped_vs_baseline": round(u["rate"] / base_rate, 3),
        "capped_msgs_per_s": round(c["rate"], 2),
        "capped_cap_ratio": round(c["rate"] / CAP, 3),
        "sent_after_cancel": c["after_cancel"],
        "lost": u["lost"] + c["lost"],
        "duplicates": u["duplicates"] + c["duplicates"],
        "progress_edits": sum(len(e) for e in all_edits),
        "progress_min_gap_s": min(gaps) if gaps else None,
        "progress_edit_every_s": EDIT_EVERY,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--capped-seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
