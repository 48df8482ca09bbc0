"""Operators' announcements to every resident of a district (`doorstep announce`, issue 14).

One outbox row per resident (dedupe key `an:<id>:<resident>`), planned page by page; the
announcement itself is identified by a hash of its district, texts and requested time, so
running the same command twice finds the same announcement and plans nothing twice. The
operator's words are sent as they are; only the heading around them is translated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.districts import Announcement, AnnouncementCounts, District
from bot.domain.outbox import Planned
from bot.storage.districts import DistrictStore, dedupe_key, group_key

KIND = "announce"
MAX_TEXT = 3500  # Telegram takes 4096 characters; the heading needs some of them
EXPIRES_AFTER = timedelta(days=3)  # not delivered by then: stale news, not sent


class AnnounceError(ValueError):
    """The announcement cannot be made; the message is for the operator, as is."""


class PastTime(AnnounceError):
    """The requested time has passed (the command shows both times to the operator)."""

    def __init__(self, at: datetime, now: datetime) -> None:
        super().__init__("the time is in the past")
        self.at = at
        self.now = now


@dataclass(frozen=True, slots=True)
class Planning:
    announcement: Announcement
    district: District
    residents: int  # residents the rows were planned for (including rows planned before)
    new: bool  # False: the same announcement was made before (a re-run)


def ident(district: str, text_zh: str, text_en: str, at: datetime | None) -> str:
    """The announcement's identity: what is said, to whom, and when (if a time was asked)."""
    when = "" if at is None else str(int(at.timestamp()))
    data = "\x1f".join((district, text_zh, text_en, when))
    return hashlib.sha256(data.encode()).hexdigest()[:32]


class AnnouncementService:
    def __init__(self, store: DistrictStore, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    @property
    def paid_enabled(self) -> bool:
        """Whether urgent announcements may use Telegram's paid broadcasts (the deployment
        turns them on: DOORSTEP_PAID_BROADCAST=1; the budget is delivery's)."""
        flag = self.settings.extra.get("DOORSTEP_PAID_BROADCAST", "")
        return flag.lower() in ("1", "true", "yes", "on")

    async def announce(
        self,
        district_code: str,
        text_zh: str,
        text_en: str = "",
        *,
        urgent: bool = False,
        at: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Planning:
        """Plan the announcement for every consented resident of the district."""
        district = await self.store.get(district_code)
        if district is None:
            raise AnnounceError(f"unknown district {district_code!r} (see: doorstep district list)")
        text_zh, text_en = text_zh.strip(), text_en.strip()
        if not text_zh:
            raise AnnounceError("the announcement text is empty")
        for label, text in (("text", text_zh), ("English text", text_en)):
            if len(text) > MAX_TEXT:
                raise AnnounceError(
                    f"the {label} is {len(text)} characters long; at most {MAX_TEXT} fit"
                )
        now = self.clock()
        if at is not None:
            if at.tzinfo is None:
                raise AnnounceError("the time must carry its time zone")
            if at <= now:
                raise PastTime(at, now)
        key = ident(district.code, text_zh, text_en, at)
        before = await self.store.announcement(key)
        made = before or await self.store.create_announcement(
            key, district.code, text_zh, text_en, urgent, at or now, now
        )
        due = made.scheduled_at
        paid = made.urgent and self.paid_enabled

        def rows_for(resident_ids: list[int]) -> list[Planned]:
            return [
                Planned(
                    resident_id=rid,
                    kind=KIND,
                    key=KIND,
                    due_at=due,
                    dedupe_key=dedupe_key(made.id, rid),
                    params={"a": made.id},
                    expires_at=due + EXPIRES_AFTER,
                    urgent=made.urgent,
                    group_key=group_key(made.id),
                    paid=paid,
                )
                for rid in resident_ids
            ]

        residents = await self.store.plan_announcement(made, rows_for, progress)
        return Planning(made, district, residents, before is None)

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.store.get_announcement(announcement_id)

    async def district(self, code: str) -> District | None:
        return await self.store.get(code)

    async def counts(self, announcement_id: int) -> AnnouncementCounts:
        return await self.store.announcement_counts(announcement_id)

    @staticmethod
    def text_for(announcement: Announcement, locale: str) -> str:
        """The operator's words for a reader of `locale`: the English file's text for English
        readers when there is one, else the Chinese text (as given)."""
        if locale == "en" and announcement.text_en:
            return announcement.text_en
        return announcement.text_zh
