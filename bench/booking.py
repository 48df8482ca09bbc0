"""Benchmark: 1,000 residents tap "Book this visit" at once for 10 free slots.

    python bench/booking.py [--attempts 1000] [--slots 10]

Every attempt goes through the real stack: `Runtime.handle(Incoming)` → router (per-user
lock, resident and state load) → handlers/resident/booking.py → BookingService →
BookingStore's write transaction (BEGIN IMMEDIATE: count the slot's bookings, insert only
below capacity, write the reminders) on a real SQLite file. Losers get "just taken — here
are the nearest free times", which reads the nearest free slots, as a resident would.

Baseline, measured in the same run: the same residents press a trivial button (Home) the same
number of times at once: the router round trip with no booking work. The ratio says what the
booking costs on top of the router.

Last line: one JSON object with attempts, booked, double_booked and attempts_per_s, the
baseline and the ratio; also rates per CPU second and the load average, because wall-clock
rates on a shared machine move with whatever else is running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.callbacks import cb  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import Incoming, Kind, Outcome  # noqa: E402
from bot.runtime import Runtime  # noqa: E402

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
STATIONS = (
    "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services\n"
    "c1,centre,朱泾社区卫生服务中心,Zhujing Centre,金山区,朱泾,人民路107号,107 Renmin Road,"
    "30.895,121.162,021-0000-0100,Mon-Fri 08:00-16:30,\n"
)
DOCTORS = (
    "id,name_zh,name_en,team,centre_id,phone,clinic_hours,communities,languages\n"
    'd1,王丽华,Dr Wang,一团队,c1,139,"Mon-Fri 08:00-11:30,13:30-16:30",东林居委,\n'
)


def press(user: int, data: str) -> Incoming:
    return Incoming(
        channel="bench", user_id=str(user), kind=Kind.BUTTON, data=data, language_code="en"
    )


async def setup(rt: Runtime, attempts: int, slots: int) -> list[int]:
    """The district, `attempts` consented residents living in d1's community, and the ids
    of the first `slots` free slots."""
    directory = rt.services.directory
    await directory.import_csv("stations", STATIONS.encode())
    await directory.import_csv("doctors", DOCTORS.encode())
    store = rt.stores.residents
    for i in range(attempts):
        r = await store.create("bench", str(i))
        await store.update(r, consent_at=NOW, locale="en")
        await directory.store.set_home(r.id, "朱泾", "东林居委", NOW)
    svc = rt.services.booking
    doctor = await directory.doctor("d1")
    assert doctor is not None
    await svc.ensure_slots(doctor, NOW)
    free = await svc.free_times("d1", NOW.astimezone(rt.settings.tz).date(), NOW)
    return [s.id for s in free[:slots]]


async def burst(rt: Runtime, messages: list[Incoming]) -> tuple[float, float, list[Outcome]]:
    """Wall-clock and CPU seconds (this process, SQLite threads included) for one burst."""
    cpu, start = time.process_time(), time.perf_counter()
    outcomes = await asyncio.gather(*(rt.handle(m) for m in messages))
    return time.perf_counter() - start, time.process_time() - cpu, list(outcomes)


async def run(attempts: int, slots: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({}, db_path=Path(tmp) / "bench.sqlite3")
        rt = Runtime(settings, clock=lambda: NOW)
        await rt.start()
        try:
            slot_ids = await setup(rt, attempts, slots)
            assert len(slot_ids) == slots, f"only {len(slot_ids)} free slots today"
            # Warm both paths once (imports, caches, prepared statements), off the clock.
            await rt.handle(press(0, cb("menu", "home")))
            await rt.handle(press(0, cb("book", "list")))

            home = [press(i, cb("menu", "home")) for i in range(attempts)]
            base_s, base_cpu, _ = await burst(rt, home)

            taps = [
                press(i, cb("book", "ok", "general", slot_ids[i % slots])) for i in range(attempts)
            ]
            book_s, book_cpu, outcomes = await burst(rt, taps)

            store = rt.stores.booking
            booked = await rt.db.fetchval(
                "SELECT COUNT(*) FROM appointments WHERE status = 'booked'"
            )
            overbooked = await store.overbooked()
            said_booked = sum(
                any("Your visit is booked" in r.text for r in o.replies) for o in outcomes
            )
            said_taken = sum(any("just taken" in r.text for r in o.replies) for o in outcomes)
        finally:
            await rt.stop()
    attempts_per_s = attempts / book_s
    baseline_per_s = attempts / base_s
    print(f"baseline: {attempts} Home taps in {base_s:.2f} s = {baseline_per_s:.0f}/s")
    print(
        f"booking:  {attempts} confirm taps for {slots} slots in {book_s:.2f} s = "
        f"{attempts_per_s:.0f}/s; {said_booked} told booked, {said_taken} told just taken"
    )
    return {
        "attempts": attempts,
        "booked": booked,
        "double_booked": sum(s.taken - s.capacity for s in overbooked),
        "told_booked": said_booked,
        "told_taken": said_taken,
        "attempts_per_s": round(attempts_per_s, 1),
        "baseline_per_s": round(baseline_per_s, 1),
        "ratio_to_baseline": round(attempts_per_s / baseline_per_s, 3),
        # Per CPU second: what one core would do, steadier than wall time on a busy machine.
        "attempts_per_cpu_s": round(attempts / book_cpu, 1),
        "baseline_per_cpu_s": round(attempts / base_cpu, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.attempts, args.slots))))


if __name__ == "__main__":
    main()
