"""A resident's own account: language, elder mode, consent, and their data rights
(/mydata exports everything stored about them, /delete removes it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain.residents import Resident
from bot.storage.residents import ResidentStore


class ResidentService:
    def __init__(self, store: ResidentStore) -> None:
        self.store = store

    async def get(self, resident_id: int) -> Resident | None:
        return await self.store.get(resident_id)

    async def set_locale(self, resident: Resident, locale: str) -> Resident:
        return await self.store.update(resident, locale=locale)

    async def set_elder_mode(self, resident: Resident, on: bool) -> Resident:
        return await self.store.update(resident, elder_mode=on)

    async def consent(self, resident: Resident) -> Resident:
        """Record the privacy consent (once: a second "yes" keeps the first time)."""
        if resident.consented:
            return resident
        return await self.store.update(resident, consent_at=datetime.now(UTC))

    async def export(self, resident_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the resident (tables referencing residents are found by themselves)."""
        return await self.store.export(resident_id)

    async def delete(self, resident_id: int) -> bool:
        """Delete the resident and, by cascade, everything that references them."""
        return await self.store.delete(resident_id)
