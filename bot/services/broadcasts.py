"""Doctors' broadcasts: audiences within the doctor's own team, preset templates, the limits
against mistakes (per day, a second confirmation above 500), planning one outbox row per
recipient, cancelling, and the progress loop that edits the doctor's progress message.

Delivery is the pipeline's: rows of group `bc:<id>` go out at Telegram's limits, wait out
quiet hours unless urgent, and blocked residents are skipped (and counted as unreachable).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.domain.booking import REASONS
from bot.domain.broadcasts import Broadcast, DoctorUnlinked, NewBroadcast, Progress, Recipient
from bot.domain.clock import Clock
from bot.domain.directory import Doctor
from bot.domain.doctors import NewAudit
from bot.domain.outbox import Planned
from bot.i18n import N_
from bot.router import UserError
from bot.services.directory import CommunityRef, DirectoryService
from bot.services.doctors import DoctorService
from bot.services.followup import ELDERLY_AGE
from bot.storage.broadcasts import BroadcastStore, dedupe_key
from bot.storage.broadcasts import group_key as group_key  # re-exported: a broadcast's rows

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.delivery.dispatcher import Dispatcher
    from bot.services.child_vaccines import ChildVaccines

log = logging.getLogger(__name__)

KIND = "broadcast"
MAX_TEXT = 1000
LARGE = 500  # above this many recipients, a second confirmation
STATUS_TTL = 1.0  # a cancel made in another process is seen within this many seconds
CONTENT_CACHE = 64  # broadcasts whose content and status are kept in memory


class BroadcastError(UserError):
    """Why a broadcast was not made; `msgid` is an English message shown translated."""


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    order: int
    title: dict[str, str]
    text: dict[str, str]
    book: str | None = None

    def in_locale(self, field: dict[str, str], locale: str) -> str:
        return field.get(locale) or field.get("zh_Hans") or next(iter(field.values()), "")


@dataclass(frozen=True, slots=True)
class Draft:
    """What the doctor composed (kept in their conversation state until confirmed)."""

    audience: str
    community: str = ""  # CommunityRef.key for the community audience
    text: str = ""
    template: str = ""
    send_at: datetime | None = None  # None: now
    urgent: bool = False


def load_templates(folder: Path) -> dict[str, Template]:
    """Preset broadcasts from content/broadcasts/*.yaml, by key; raises ValueError on a bad
    file (shipped content is checked by the tests)."""
    out: dict[str, Template] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text("utf-8"))
        try:
            template = Template(
                key=str(raw["key"]),
                order=int(raw.get("order", 99)),
                title={str(k): str(v) for k, v in raw["title"].items()},
                text={str(k): str(v).strip() for k, v in raw["text"].items()},
                book=raw.get("book"),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
        if template.book is not None and template.book not in REASONS:
            raise ValueError(f"{path.name}: unknown booking reason {template.book!r}")
        if template.key in out or ":" in template.key:
            raise ValueError(f"{path.name}: duplicate or malformed key {template.key!r}")
        out[template.key] = template
    return dict(sorted(out.items(), key=lambda kv: kv[1].order))


class BroadcastService:
    def __init__(
        self,
        store: BroadcastStore,
        doctors: DoctorService,
        directory: DirectoryService,
        child_vaccines: ChildVaccines,
        dispatcher: Dispatcher,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.doctors = doctors
        self.directory = directory
        self.child_vaccines = child_vaccines
        self.dispatcher = dispatcher
        self.settings = settings
        self.clock = clock
        self._templates: dict[str, Template] | None = None
        self._content: dict[int, Broadcast] = {}
        self._status: dict[int, tuple[str | None, float]] = {}

    # -- composing ----------------------------------------------------------------------
    def templates(self) -> dict[str, Template]:
        if self._templates is None:
            self._templates = load_templates(self.settings.content_dir / "broadcasts")
        return self._templates

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    async def communities(self, doctor: Doctor) -> list[CommunityRef]:
        """Communities the doctor's team serves."""
        snap = await self.directory.snapshot()
        team = set(await self.doctors.team(doctor))
        return [
            ref
            for refs in snap.communities.values()
            for ref in refs
            if team & set(snap.served.get((ref.town, ref.name), ()))
        ]

    async def recipients(
        self, doctor: Doctor, audience: str, community: str = ""
    ) -> list[Recipient]:
        """The audience's residents, all signed to the doctor's team."""
        team = await self.doctors.team(doctor)
        if audience == "vaccine":
            return await self.child_vaccines.parents_due(team)
        place: tuple[str, str] | None = None
        if audience == "community":
            ref = await self.directory.community_by_key(community)
            if ref is None or ref not in await self.communities(doctor):
                return []
            place = (ref.town, ref.name)
        born_by = self.today().year - ELDERLY_AGE
        return await self.store.audience(team, audience, community=place, born_by=born_by)

    def _day_start(self) -> int:
        tz = self.settings.tz
        return int(datetime.combine(self.today(), datetime.min.time(), tzinfo=tz).timestamp())

    async def made_today(self, doctor: Doctor) -> int:
        return await self.store.created_since(doctor.id, self._day_start())

    @property
    def per_day(self) -> int:
        return self.settings.broadcasts_per_day

    async def create(
        self,
        doctor: Doctor,
        draft: Draft,
        progress: tuple[str, str, str | None],
        large_confirmed: bool = False,
    ) -> Broadcast:
        """Plan the broadcast: one outbox row per recipient, in one transaction with the
        broadcast. `progress` is (channel, user id, message ref) of the doctor's progress
        message. Raises BroadcastError for a rule it breaks (nothing is written then)."""
        text = draft.text.strip()
        if draft.template:
            if draft.template not in self.templates():
                raise BroadcastError(N_("That preset message no longer exists."))
            text = ""
        elif not text:
            raise BroadcastError(N_("The message is empty."))
        elif len(text) > MAX_TEXT:
            raise BroadcastError(N_("The message is too long ({n} characters)."), n=len(text))
        recipients = await self.recipients(doctor, draft.audience, draft.community)
        if not recipients:
            raise BroadcastError(N_("Nobody is in this audience, so nothing was sent."))
        if len(recipients) > LARGE and not large_confirmed:
            raise BroadcastError(N_("Please confirm a broadcast to more than 500 people."))
        now = self.clock()
        send_at = max(draft.send_at or now, now)
        due = send_at
        expires = send_at + timedelta(days=3)
        ids = [r.resident_id for r in recipients]

        def rows_for(broadcast_id: int) -> list[Planned]:
            return [
                Planned(
                    resident_id=rid,
                    kind=KIND,
                    key=draft.template or "text",
                    due_at=due,
                    dedupe_key=dedupe_key(broadcast_id, rid),
                    params={"b": broadcast_id},
                    expires_at=expires,
                    urgent=draft.urgent,
                    group_key=group_key(broadcast_id),
                )
                for rid in ids
            ]

        channel, user, ref = progress
        new = NewBroadcast(
            doctor_id=doctor.id,
            audience=draft.audience,
            audience_arg=draft.community,
            text=text,
            template=draft.template,
            urgent=draft.urgent,
            scheduled_at=send_at,
            progress_channel=channel,
            progress_user=user,
            progress_ref=ref,
        )
        try:
            made = await self.store.create(
                new, ids, rows_for, int(now.timestamp()), self.per_day, self._day_start()
            )
        except DoctorUnlinked:
            raise BroadcastError(
                N_("This account is no longer linked to a doctor, so nothing was sent.")
            ) from None
        if made is None:
            raise BroadcastError(
                N_("You have reached today's limit of {n} broadcasts. Please try again tomorrow."),
                n=self.per_day,
            )
        await self.doctors.audit(
            NewAudit(
                doctor.id,
                "broadcast",
                details=(
                    f"broadcast={made.id} audience={draft.audience} recipients={len(ids)} "
                    f"template={draft.template or '-'} urgent={int(draft.urgent)}"
                ),
            )
        )
        self._poke()
        return made

    def _poke(self) -> None:
        self.dispatcher.poke()

    # -- after sending ------------------------------------------------------------------
    async def mine(self, doctor: Doctor, broadcast_id: int) -> Broadcast | None:
        b = await self.store.get(broadcast_id)
        return b if b is not None and b.doctor_id == doctor.id else None

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.store.get(broadcast_id)

    async def recent(self, doctor: Doctor) -> list[Broadcast]:
        return await self.store.recent(doctor.id)

    async def progress(self, broadcast_id: int) -> Progress:
        return await self.store.progress(broadcast_id, int(self.clock().timestamp()))

    async def cancel(self, doctor: Doctor, broadcast_id: int) -> int | None:
        """Stop a running or scheduled broadcast: nothing more goes out. Rows the dispatcher
        already holds are dropped when rendered (they see the status). None if not theirs."""
        return await self._cancel(doctor.id, broadcast_id, "")

    async def stop_all(self, doctor_id: str, why: str) -> list[int]:
        """Cancel every scheduled or running broadcast of `doctor_id` (e.g. when the doctor is
        revoked); returns the ids cancelled. Works for a doctor no longer in the directory."""
        stopped = []
        for broadcast_id in await self.store.open_for(doctor_id):
            if await self._cancel(doctor_id, broadcast_id, why) is not None:
                stopped.append(broadcast_id)
        return stopped

    async def _cancel(self, doctor_id: str, broadcast_id: int, why: str) -> int | None:
        cancelled = await self.store.cancel(broadcast_id, doctor_id, int(self.clock().timestamp()))
        if cancelled is None:
            return None
        self.dispatcher.note_cancelled(group_key(broadcast_id))
        self._status[broadcast_id] = ("cancelled", time.monotonic())
        details = f"broadcast={broadcast_id}" + (f" {why}" if why else "")
        await self.doctors.audit(NewAudit(doctor_id, "broadcast_cancel", details=details))
        log.info("broadcast %s cancelled (%s rows)", broadcast_id, cancelled)
        return cancelled

    async def set_progress_ref(self, broadcast_id: int, ref: str | None) -> None:
        await self.store.set_progress_ref(broadcast_id, ref)

    # -- rendering for recipients ---------------------------------------------------------
    async def content(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast's (unchanging) content, cached: rendered once per recipient. Only the
        newest CONTENT_CACHE broadcasts are kept: a long-running process sees many."""
        b = self._content.get(broadcast_id)
        if b is None:
            b = await self.store.get(broadcast_id)
            if b is not None:
                self._content[broadcast_id] = b
                while len(self._content) > CONTENT_CACHE:
                    del self._content[min(self._content)]
        return b

    async def still_sending(self, broadcast_id: int) -> bool:
        """False once the broadcast is cancelled or its doctor has no linked account any more
        (in this process at once, in another within STATUS_TTL seconds)."""
        status, at = self._status.get(broadcast_id, (None, 0.0))
        if status != "cancelled" and time.monotonic() - at > STATUS_TTL:
            status = await self.store.sending_status(broadcast_id)
            self._status[broadcast_id] = (status, time.monotonic())
            while len(self._status) > CONTENT_CACHE:
                del self._status[min(self._status)]
        return status in ("scheduled", "sending", "done")
