"""Doctors' accounts and what a doctor may do: invite codes, linking, the team's residents,
signing decisions, and the audit log of every action.

The rule every doctor screen relies on: `DoctorService.doctor_for(channel, user)` decides who
is a doctor (a linked account whose doctor is still in the directory), and
`can_reach(doctor, resident)` decides whether that doctor may see or message a resident.
Both read the database on every call, so a revoked link or a forged button gets nothing,
whatever the button data says.

Who a doctor may reach (least privilege): residents signed to the doctor's team, and
residents with a visit with the team that is booked (upcoming, or not yet marked) or attended,
starting within the last VISIT_ACCESS days. A cancelled or moved booking, a no-show, or a
visit longer ago gives no access: once a resident is neither signed nor recently seen, the
team loses sight of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.domain.clock import Clock
from bot.domain.directory import Doctor, SigningRequest
from bot.domain.districts import ALL_DISTRICTS
from bot.domain.doctors import AuditEntry, DoctorLink, NewAudit, Redeem
from bot.domain.guessing import CodeKind
from bot.domain.outbox import OutboxRow, Planned
from bot.i18n import N_
from bot.services.directory import DirectoryService
from bot.services.doctor_stepup import DoctorStepUp
from bot.services.guess_throttle import GuessThrottle
from bot.services.invite_codes import hash_code, new_code, normalize
from bot.storage.doctors import DoctorStore
from bot.storage.outbox import OutboxStore
from bot.storage.residents import ResidentStore

if TYPE_CHECKING:
    from bot.domain.residents import Resident

log = logging.getLogger(__name__)

INVITE_TTL = timedelta(hours=72)
CODE_LENGTH = 10
# How long a visit (booked or attended) with the team lets it see a resident not signed to it.
VISIT_ACCESS = timedelta(days=90)
# In the sandbox (`doorstep chat`) this code links the first sample doctor without an invite.
SANDBOX_CODE = "DEMO"
SIGNING_KIND = "signing_decision"
WEB = "web"  # the web chat's channel: see doctor_for
# Why a doctor declines a signing request: the buttons' labels. The request stores the key;
# each screen translates it into the reader's language of the moment.
DECLINE_REASONS: dict[str, str] = {
    "area": N_("Your address is outside our team's area."),
    "full": N_("Our team cannot take on more residents at the moment."),
    "in_person": N_("Please come to the health centre to sign in person."),
    "details": N_("We could not reach you at the phone number you gave."),
}


@dataclass(frozen=True, slots=True)
class Linked:
    """The outcome of `/doctor CODE`: `status` is a Redeem value or 'limited' / 'gone'."""

    status: str
    doctor: Doctor | None = None


@dataclass(frozen=True, slots=True)
class Revoked:
    """The outcome of revoking a doctor: the account unlinked, unused invites voided, and the
    doctor's unfinished broadcasts cancelled (their ids)."""

    unlinked: bool
    voided: int
    broadcasts: tuple[int, ...] = ()


def team_ids(doctor: Doctor, everyone: Sequence[Doctor]) -> list[str]:
    """The doctor's team: doctors of the same centre with the same (non-empty) team name.
    A doctor without a team name is a team of one."""
    if not doctor.team:
        return [doctor.id]
    ids = [d.id for d in everyone if d.centre_id == doctor.centre_id and d.team == doctor.team]
    return sorted(set(ids) | {doctor.id})


@dataclass(frozen=True, slots=True)
class Decided:
    """A decided signing request and the message to the resident that is actually planned."""

    request: SigningRequest
    notices: tuple[OutboxRow, ...]


class DoctorService:
    def __init__(
        self,
        store: DoctorStore,
        residents: ResidentStore,
        outbox: OutboxStore,
        directory: DirectoryService,
        clock: Clock,
        guesses: GuessThrottle,
        stepup: DoctorStepUp,
        *,
        sandbox: bool = False,
    ) -> None:
        self.guesses = guesses
        self.stepup = stepup
        self.store = store
        self.residents = residents
        self.outbox = outbox
        self.directory = directory
        self.clock = clock
        self.sandbox = sandbox
        # Wired by the composition root once both exist (each needs the other): revoking a
        # doctor stops their broadcasts; the sandbox's demo doctor gets made-up residents.
        self.stop_broadcasts: Callable[[str, str], Awaitable[list[int]]] | None = None
        self.seed_demo: Callable[[Doctor], Awaitable[bool]] | None = None

    def _now(self) -> int:
        return int(self.clock().timestamp())

    # -- who is a doctor ----------------------------------------------------------------
    async def doctor_for(self, channel: str, user_id: str) -> Doctor | None:
        """The doctor this chat account is linked to, if that doctor is still listed. On the
        web, where an account is only a browser's token, a doctor is whoever completed the
        step-up (a code sent to the doctor's Telegram or WeChat) for this account lately."""
        if channel == WEB:
            loaded = await self.residents.load(channel, user_id)
            doctor_id = await self.stepup.desk_doctor_id(loaded[0].id) if loaded else None
            return await self.directory.doctor(doctor_id) if doctor_id else None
        link = await self.store.link_for_account(channel, user_id)
        if link is None:
            return None
        return await self.directory.doctor(link.doctor_id)

    async def team(self, doctor: Doctor) -> list[str]:
        snap = await self.directory.snapshot()
        return team_ids(doctor, list(snap.doctors.values()))

    async def signed_residents(self, doctor: Doctor) -> list[int]:
        return await self.store.signed_to(await self.team(doctor), doctor.district_code)

    async def can_reach(self, doctor: Doctor, resident_id: int) -> bool:
        """Whether `doctor` may see or message this resident: signed to the doctor's team, or
        a booked or attended visit with it starting within the last VISIT_ACCESS days."""
        team = await self.team(doctor)
        # A doctor sees only residents of their own district (issue 14), whatever else links
        # them: checked here, under every other rule.
        if not await self.store.in_district(resident_id, doctor.district_code):
            return False
        if await self.store.is_signed_to(resident_id, team):
            return True
        since = int((self.clock() - VISIT_ACCESS).timestamp())
        return await self.store.has_visit_with(resident_id, team, since)

    async def names(self, doctor: Doctor, resident_ids: Sequence[int]) -> dict[int, str]:
        """Residents' names as they gave them to the doctor's team (never to another team)."""
        return await self.store.names(resident_ids, await self.team(doctor))

    # -- invites and links --------------------------------------------------------------
    async def invite(self, doctor_id: str) -> str:
        """A new single-use code for `doctor_id` (valid 72 hours); only its hash is kept."""
        if await self.directory.doctor(doctor_id) is None:
            raise KeyError(doctor_id)
        code = new_code(CODE_LENGTH, group=5)
        now = self._now()
        await self.store.add_invite(
            doctor_id, hash_code(code), now, now + int(INVITE_TTL.total_seconds())
        )
        await self.audit(NewAudit(doctor_id, "invite_created"))
        return code

    async def revoke(self, doctor_id: str) -> Revoked:
        """Unlink the doctor's account, void their invites, and stop their scheduled and
        running broadcasts: nothing more goes out in the name of a doctor who left."""
        unlinked, voided = await self.store.revoke(doctor_id, self._now())
        await self.audit(NewAudit(doctor_id, "revoked", details=f"unlinked={int(unlinked)}"))
        stopped = await self.stop_broadcasts(doctor_id, "revoked") if self.stop_broadcasts else []
        return Revoked(unlinked, voided, tuple(stopped))

    async def link_of(self, doctor_id: str) -> DoctorLink | None:
        """The chat account linked to the doctor, if any."""
        return await self.store.link_for_doctor(doctor_id)

    async def account(self, doctor_id: str) -> Resident | None:
        """The linked chat account's resident record (its language), if any."""
        link = await self.store.link_for_doctor(doctor_id)
        return None if link is None else await self.residents.get(link.resident_id)

    async def links(self) -> list[DoctorLink]:
        """The links this process's district may see (a shared bot: all of them)."""
        district = self.directory.store.district
        return await self.store.links(None if district == ALL_DISTRICTS else district)

    async def link(self, resident: Resident, code: str, address: str | None = None) -> Linked:
        """`/doctor CODE`: link the account if the code is good. Failed tries count against
        limits per account, per address and overall (GuessThrottle), checked before the code
        is, so guessing gets nowhere."""
        if resident.channel == WEB:
            return Linked("web")  # web accounts open the desk by step-up, never by a link
        throttle = self.guesses
        now = self._now()
        hit = await throttle.refused(CodeKind.DOCTOR, resident.id, address)
        if hit is not None:
            await self.audit(NewAudit(None, "link_limited", details=f"account={resident.id} {hit}"))
            return Linked("limited")
        if self.sandbox and normalize(code) == SANDBOX_CODE:
            return await self._link_sandbox(resident, now)
        status, doctor_id = await self.store.redeem(
            hash_code(code), resident.id, resident.channel, resident.channel_user_id, now
        )
        if status is not Redeem.LINKED:
            await throttle.failed(CodeKind.DOCTOR, resident.id, address)
            await self.audit(
                NewAudit(doctor_id, "link_failed", details=f"account={resident.id} {status}")
            )
            return Linked(str(status))
        assert doctor_id is not None
        doctor = await self.directory.doctor(doctor_id)
        await self.audit(NewAudit(doctor_id, "linked", details=f"account={resident.id}"))
        log.info("doctor %s linked to account %s", doctor_id, resident.id)
        return Linked(str(Redeem.LINKED), doctor) if doctor else Linked("gone")

    async def _link_sandbox(self, resident: Resident, now: int) -> Linked:
        snap = await self.directory.snapshot()
        sample = sorted((d for d in snap.doctors.values() if d.sample), key=lambda d: d.id)
        if not sample:
            return Linked(str(Redeem.UNKNOWN))
        doctor = sample[0]
        await self.store.link_directly(
            doctor.id, resident.id, resident.channel, resident.channel_user_id, now
        )
        await self.audit(NewAudit(doctor.id, "linked", details=f"account={resident.id} sandbox"))
        if self.seed_demo is not None:
            await self.seed_demo(doctor)
        return Linked(str(Redeem.LINKED), doctor)

    # -- audit --------------------------------------------------------------------------
    async def audit(self, *entries: NewAudit) -> None:
        await self.store.audit(entries, self._now())

    async def denied(self, resident: Resident, doctor: Doctor | None, what: str) -> None:
        """Record a refused doctor action (someone else's resident, or not a doctor at all).
        `what` is the feature and action of the button, never its arguments' meaning."""
        log.warning(
            "refused doctor action %s by account %s (doctor %s)",
            what,
            resident.id,
            doctor.id if doctor else None,
        )
        await self.audit(
            NewAudit(
                doctor.id if doctor else None, "denied", details=f"account={resident.id} {what}"
            )
        )

    async def audit_since(self, since: int, doctor_id: str | None = None) -> list[AuditEntry]:
        """The audit log of this process's district (the operator's --district)."""
        return await self.store.audit_since(since, doctor_id, self.directory.store.district)

    # -- signing requests ---------------------------------------------------------------
    async def pending(self, doctor: Doctor) -> list[SigningRequest]:
        """Open signing requests to anyone in the doctor's team, oldest first."""
        out: list[SigningRequest] = []
        for doctor_id in await self.team(doctor):
            out.extend(await self.directory.list_pending(doctor_id))
        return sorted(out, key=lambda r: (r.created_at, r.id))

    async def request(self, doctor: Doctor, request_id: int) -> SigningRequest | None:
        """A pending request addressed to the doctor's team, else None."""
        req = await self.directory.store.request(request_id)
        if req is None or req.status != "pending" or req.doctor_id not in await self.team(doctor):
            return None
        return req

    async def decide(
        self, doctor: Doctor, request_id: int, approve: bool, reason_key: str = ""
    ) -> Decided | None:
        """Approve or decline a pending request of the team; tell the resident (an outbox row
        rendered in their language, returned as read back so the doctor's screen says only
        what is planned). None if the request is not the team's or not pending.
        A decline stores the reason's key (a key of DECLINE_REASONS), so the resident's
        "My family doctor" screen shows it in whatever language they read at the time."""
        req = await self.request(doctor, request_id)
        if req is None:
            return None
        reason = reason_key if not approve and reason_key in DECLINE_REASONS else ""
        decided = await self.directory.decide(request_id, req.doctor_id, approve, reason)
        if decided is None:
            return None
        now = self.clock()
        dedupe_key = f"sign:{decided.id}:{decided.status}"
        await self.outbox.plan(
            [
                Planned(
                    resident_id=decided.resident_id,
                    kind=SIGNING_KIND,
                    key="approved" if approve else "declined",
                    due_at=now,
                    dedupe_key=dedupe_key,
                    params={"doctor_id": req.doctor_id, "reason": reason_key},
                    urgent=False,
                )
            ],
            now,
        )
        await self.audit(
            NewAudit(
                doctor.id,
                "signing_approved" if approve else "signing_declined",
                decided.resident_id,
                f"request={request_id}" + (f" reason={reason_key}" if reason_key else ""),
            )
        )
        return Decided(decided, tuple(await self.outbox.live_by_keys([dedupe_key])))
