"""Signing with a family doctor team: a resident's request, the doctor's decision, and what
moving home does to a request still open.

`DirectoryService` keeps its methods for these (they delegate here), so callers may use either.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.domain.directory import Doctor, Home, SigningRequest
from bot.storage.directory import DirectoryStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HomeChange:
    """What moving home did to an open signing request."""

    home: Home
    moved_to: Doctor | None = None
    withdrawn: bool = False


class SigningService:
    def __init__(self, store: DirectoryStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def request(
        self, resident_id: int, doctor_id: str, name: str, phone: str
    ) -> SigningRequest:
        """Open (or update) the resident's signing request to `doctor_id`."""
        now = self.clock()
        return await self.store.open_request(resident_id, doctor_id, name, phone, now)

    async def latest(self, resident_id: int) -> SigningRequest | None:
        return await self.store.latest_request(resident_id)

    async def withdraw(self, resident_id: int) -> bool:
        return await self.store.withdraw_pending(resident_id)

    async def pending_for(self, doctor_id: str) -> list[SigningRequest]:
        """Open requests addressed to a doctor, oldest first (for the doctor side)."""
        return await self.store.pending_for(doctor_id)

    async def decide(
        self, request_id: int, doctor_id: str, approve: bool, reason: str = ""
    ) -> SigningRequest | None:
        """Approve (recording the signing) or decline a pending request addressed to
        `doctor_id`. Returns the decided request, or None if it was not pending for them."""
        return await self.store.decide(request_id, doctor_id, approve, reason, self.clock())

    async def follow_home(self, home: Home, teams: Sequence[Doctor]) -> HomeChange:
        """The resident now lives at `home`, served by `teams`: an open request to a team that
        does not serve it moves to the first team that does, or is withdrawn if none does."""
        pending = await self.store.latest_request(home.resident_id)
        if pending is None or pending.status != "pending":
            return HomeChange(home)
        if any(t.id == pending.doctor_id for t in teams):
            return HomeChange(home)
        if not teams:
            await self.store.move_pending(home.resident_id, None, home.updated_at)
            return HomeChange(home, withdrawn=True)
        await self.store.move_pending(home.resident_id, teams[0].id, home.updated_at)
        log.info("signing request of resident %s moved to a new team", home.resident_id)
        return HomeChange(home, moved_to=teams[0])
