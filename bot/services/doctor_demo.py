"""The sandbox's demo practice: in `doorstep chat`, `/doctor DEMO` links the first sample doctor
and (once) gives them made-up residents to work with: signed residents with hypertension or
diabetes, two waiting signing requests, a danger-sign reading, an overdue follow-up and
visits booked for the next clinic day.

Demo residents live on the `demo` channel, whose sender (registered only in the sandbox)
accepts messages and drops them, so a demo broadcast runs to its final report. Nothing here
runs outside the sandbox.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.core import Reply
from bot.domain.directory import Doctor
from bot.domain.outbox import OutboxRow
from bot.services.readings import BloodPressure, Glucose

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "demo"
NAMES = (
    "张桂英",
    "王建华",
    "李秀兰",
    "刘德明",
    "陈玉珍",
    "杨国强",
    "赵淑芬",
    "黄志强",
    "周美华",
    "吴海燕",
    "徐建平",
    "孙丽娟",
    "胡永明",
    "朱小红",
    "高文杰",
    "林素梅",
    "何家豪",
    "郭春花",
    "马卫东",
    "罗秀英",
    "梁志华",
    "宋玉兰",
    "郑国平",
    "谢金凤",
)
WAITING = ("沈阿婆", "韩先生")


class DemoSender:
    """Accepts messages for demo residents and drops them (they are nobody's phone)."""

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        return None


async def register_demo_sender(rt: Runtime) -> None:
    """Start-up hook: only the sandbox can deliver to demo residents."""
    if rt.sandbox:
        rt.senders.setdefault(CHANNEL, DemoSender())


async def seed(rt: Runtime, doctor: Doctor) -> bool:
    """Give the demo doctor their made-up residents, once; True if it seeded now."""
    residents = rt.stores.residents
    if await residents.load(CHANNEL, "demo-1") is not None:
        return False
    directory = rt.services.directory
    health = rt.services.health
    communities = doctor.community_names or ("",)
    town = (await directory.team(doctor, signed=False)).centre
    town_name = town.town if town else ""
    today = health.today()
    ids: list[int] = []
    for i, name in enumerate(NAMES + WAITING, start=1):
        r = await residents.create(CHANNEL, f"demo-{i}")
        r = await residents.update(r, locale="zh_Hans" if i % 3 else "en", consent_at=rt.now())
        await directory.set_home(r.id, town_name, communities[i % len(communities)])
        req = await directory.request_signing(r.id, doctor.id, name, f"1390000{i:04d}")
        if name in WAITING:
            continue
        await directory.decide(req.id, doctor.id, True)
        ids.append(r.id)
        if i <= 14:
            await health.set_condition(r.id, "hypertension")
        if 10 <= i <= 18:
            await health.set_condition(r.id, "diabetes2")
        if i % 2:
            await health.set_birth_year(r.id, today.year - 60 - i)
    await health.log_reading(ids[0], BloodPressure(150, 92))
    await health.log_reading(ids[2], BloodPressure(186, 112))
    await health.log_reading(ids[11], Glucose(172))
    await health.record_event(ids[3], "followup", today - timedelta(days=200))
    await _book(rt, doctor, ids[4:7])
    log.info("sandbox: demo residents created for doctor %s", doctor.id)
    return True


async def _book(rt: Runtime, doctor: Doctor, resident_ids: list[int]) -> None:
    """Book the residents into the doctor's next clinic day (today if it has free slots)."""
    booking = rt.services.booking
    now = rt.now()
    await booking.ensure_slots(doctor, now)
    days: list[date] = [d for d, _ in await booking.free_days(doctor, now, limit=2)]
    if not days:
        return
    slots = await booking.free_times(doctor.id, days[0], now)
    for rid, slot in zip(resident_ids, slots, strict=False):
        await booking.book(rid, slot.id, doctor.id, "chronic", now)
