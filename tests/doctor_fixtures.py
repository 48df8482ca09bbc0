"""Helpers for the doctor-side tests: the sample district, signed residents, linked doctors."""

from __future__ import annotations

from collections.abc import Callable

from bot.core import Reply
from bot.delivery.sender import Blocked
from bot.domain.outbox import OutboxRow
from bot.runtime import Runtime
from tests.harness import ChatUser

WANG = "js-01-zj-d1"  # 朱泾家庭医生一团队: 东林居委, 西林居委
CHEN = "js-01-zj-d2"  # 朱泾家庭医生二团队: 待泾村, 秀州村


async def load_district(rt: Runtime) -> None:
    await rt.services.directory.load_sample(rt.settings.content_dir / "district")


async def signed_resident(
    rt: Runtime,
    user_id: str,
    doctor_id: str = WANG,
    *,
    community: str = "东林居委",
    conditions: tuple[str, ...] = (),
    birth_year: int | None = None,
    name: str = "",
    channel: str = "test",
    locale: str | None = "en",
) -> int:
    """A resident signed with `doctor_id` (through a real request and approval)."""
    residents = rt.stores.residents
    resident = await residents.create(channel, user_id)
    if locale:
        resident = await residents.update(resident, locale=locale)
    directory = rt.services.directory
    await directory.set_home(resident.id, "朱泾", community)
    req = await directory.request_signing(
        resident.id, doctor_id, name or f"Resident {user_id}", "13800000000"
    )
    assert await directory.decide(req.id, doctor_id, True) is not None
    health = rt.services.health
    for condition in conditions:
        await health.set_condition(resident.id, condition)
    if birth_year is not None:
        await health.set_birth_year(resident.id, birth_year)
    return resident.id


async def linked_doctor(
    rt: Runtime, make_user: Callable[..., ChatUser], doctor_id: str = WANG, user_id: str = "9001"
) -> ChatUser:
    """A doctor's chat account linked with a real invite code."""
    code = await rt.services.doctors.invite(doctor_id)
    doctor = make_user(user_id)
    await doctor.text(f"/doctor {code}")
    assert "Doctor's desk" in doctor.texts(), doctor.texts()
    return doctor


class RecordingSender:
    """A channel sender that records what it would send; some chats have blocked the bot."""

    def __init__(self, blocked: set[str] | None = None) -> None:
        self.sent: list[tuple[str, Reply, str | None]] = []
        self.blocked = blocked or set()

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        if user_id in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        self.sent.extend((user_id, r, edit_ref if r.edit else None) for r in replies)

    def to(self, user_id: str) -> list[Reply]:
        return [r for u, r, _ in self.sent if u == user_id]


async def bulk_signed(
    rt: Runtime,
    n: int,
    doctor_id: str = WANG,
    condition: str | None = "hypertension",
    first: int = 100_000,
    channel: str = "test",
) -> list[int]:
    """`n` residents signed with `doctor_id` at once (for audiences too big to sign one by one)."""
    db = rt.db
    now = rt.now().isoformat()
    await db.executemany(
        "INSERT INTO residents (channel, channel_user_id, locale, consent_at, created_at) "
        "VALUES (?, ?, 'en', ?, ?)",
        [(channel, str(first + i), now, now) for i in range(n)],
    )
    rows = await db.fetchall(
        "SELECT id FROM residents WHERE channel = ? AND CAST(channel_user_id AS INTEGER) "
        "BETWEEN ? AND ? ORDER BY id",
        (channel, first, first + n - 1),
    )
    ids = [r[0] for r in rows]
    await db.executemany(
        "INSERT INTO signings (resident_id, doctor_id, signed_at) VALUES (?, ?, ?)",
        [(i, doctor_id, now) for i in ids],
    )
    if condition:
        await db.executemany(
            "INSERT INTO health_conditions (resident_id, condition, set_by, since) "
            "VALUES (?, ?, 'resident', '2026-01-01')",
            [(i, condition) for i in ids],
        )
    return ids
