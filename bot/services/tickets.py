"""Ask my team: a resident's question becomes a ticket for their signed family doctor team, or
for the centre's duty desk when they are not signed.

**The duty desk** is not a separate account: it is every linked doctor of the centre that serves
the resident (the centre of the team serving their community, else the centre nearest their
town, else the district's main centre: `HealthService.urgent_centre`, the same centre the
resident is told to call). That is how a community health service centre's 值班 works: the
doctors of the centre answer by rota. A team ticket left unanswered for the deployment's
`DOORSTEP_TICKET_ESCALATE_HOURS` (default 24) is escalated to the duty desk of its centre.

What the resident is told comes from what is stored: the working hours are the signed doctor's
clinic hours (or the centre's hours), the usual answer time is the median first-response time
of that team's tickets over the last 90 days (only with at least MIN_TIMES of them), and
"your team will see it" only when a linked doctor account can see the ticket.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.directory import Doctor, Station
from bot.domain.doctors import NewAudit
from bot.domain.outbox import Planned
from bot.domain.questions import Route, Ticket, TicketMessage, TicketStatus, TicketTimes
from bot.services.directory import DirectoryService
from bot.services.doctors import DoctorService
from bot.services.health import HealthService
from bot.services.questions_settings import QuestionSettings
from bot.storage.outbox import OutboxStore
from bot.storage.questions import TicketStore

ANSWER_KIND = "ticket_answer"
NEW_KIND = "ticket_new"
ESCALATED_KIND = "ticket_escalated"
RATE_KIND = "ticket_rate"
MAX_TEXT = 2000
SAVED_FILE = "answers/saved.yaml"
MIN_TIMES = 5
TIMES_WINDOW = timedelta(days=90)


def answer_key(message_id: int) -> str:
    """The dedupe key of the notification carrying a doctor's answer to the resident."""
    return f"tk:ans:{message_id}"


class NoDesk(Exception):
    """No centre could be found for the resident (an empty directory)."""


class NotYourTicket(Exception):
    """The ticket is not the doctor's team's or centre's, or not the resident's."""


@dataclass(frozen=True, slots=True)
class Desk:
    """Where a resident's question goes."""

    centre: Station
    team: str  # '' for the duty desk
    route: Route
    doctor: Doctor | None  # the signed doctor (team route)

    @property
    def hours(self) -> str:
        """The working hours of whoever answers: the doctor's clinic hours, else the centre's."""
        if self.doctor is not None and self.doctor.clinic_hours:
            return self.doctor.clinic_hours
        return self.centre.hours


@dataclass(frozen=True, slots=True)
class Asked:
    ticket: Ticket
    message_id: int
    created: bool
    desk: Desk
    viewers: int  # linked doctor accounts that can see the ticket now
    reopened: bool = False  # an answered ticket the resident followed up waits again
    closed: int | None = None  # the answered ticket closed because this is a new question


def load_saved_answers(content_dir: Path) -> dict[str, dict[str, str]]:
    """The doctors' saved answers (content/answers/saved.yaml), each in zh_Hans and en."""
    path = content_dir / SAVED_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {
        str(k): {loc: str(v.get(loc, "")) for loc in ("zh_Hans", "en")}
        for k, v in ((data or {}).get("answers") or {}).items()
    }


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))])


class TicketService:
    def __init__(
        self,
        store: TicketStore,
        outbox: OutboxStore,
        directory: DirectoryService,
        doctors: DoctorService,
        health: HealthService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.directory = directory
        self.doctors = doctors
        self.health = health
        self.clock = clock
        self.settings = QuestionSettings.from_settings(settings)
        self.district = settings.district  # reports cover this district's teams (issue 14)
        self.saved = load_saved_answers(settings.content_dir)

    def _now(self) -> int:
        return int(self.clock().timestamp())

    # -- where questions go -------------------------------------------------------------------
    async def desk_for(self, resident_id: int) -> Desk:
        signed = await self.directory.signed_doctor(resident_id)
        if signed is not None:
            centre = (await self.directory.snapshot()).stations.get(signed.centre_id)
            if centre is not None:
                return Desk(centre, signed.team, Route.TEAM, signed)
        centre = await self.health.urgent_centre(resident_id)
        if centre is None:
            centre = await self.directory.main_centre()
        if centre is None:
            raise NoDesk(resident_id)
        return Desk(centre, "", Route.DUTY, None)

    async def desk_of(self, ticket: Ticket) -> Desk | None:
        """The desk a ticket is with now (its centre may have left the directory)."""
        centre = (await self.directory.snapshot()).stations.get(ticket.centre_id)
        if centre is None:
            return None
        doctor = await self.directory.signed_doctor(ticket.resident_id)
        if ticket.route is Route.DUTY or doctor is None or doctor.team != ticket.team:
            return Desk(centre, ticket.team, ticket.route, None)
        return Desk(centre, ticket.team, ticket.route, doctor)

    def sees(self, doctor: Doctor, ticket: Ticket) -> bool:
        if doctor.centre_id != ticket.centre_id:
            return False
        return ticket.route is Route.DUTY or doctor.team == ticket.team

    async def viewer_links(self, ticket: Ticket) -> list[tuple[int, Doctor]]:
        """(resident row of the account, doctor) of every linked doctor who sees the ticket."""
        out = []
        for link in await self.doctors.links():
            doctor = await self.directory.doctor(link.doctor_id)
            if doctor is not None and self.sees(doctor, ticket):
                out.append((link.resident_id, doctor))
        return out

    async def usual_answer_seconds(self, desk: Desk) -> float | None:
        """Median time to a first answer of this desk's tickets (last 90 days), if enough."""
        since = int((self.clock() - TIMES_WINDOW).timestamp())
        times = await self.store.response_times(desk.centre.id, desk.team, since)
        return median(times) if len(times) >= MIN_TIMES else None

    # -- the resident ---------------------------------------------------------------------------
    async def open_ticket(self, resident_id: int) -> Ticket | None:
        return await self.store.open_for(resident_id)

    async def destination(self, resident_id: int, follow_up: int | None = None) -> Desk:
        """The desk words sent now would go to (what `ask` uses, and what the elder-mode
        confirm step shows): the open ticket's desk when they join it (chosen as
        `follow_up`, or still open), else the resident's desk for a new question."""
        current = await self.store.open_for(resident_id)
        joins = current is not None and (
            current.id == follow_up or current.status is TicketStatus.OPEN
        )
        if current is not None and joins:
            return await self.desk_of(current) or await self.desk_for(resident_id)
        return await self.desk_for(resident_id)

    async def ask(self, resident_id: int, text: str, follow_up: int | None = None) -> Asked:
        """Store a question and tell the linked doctors who see it. It joins the resident's
        ticket only when they chose to add to it (`follow_up`) or it is still open; an
        answered ticket is closed for a new question (and asks its rating)."""
        text = text.strip()[:MAX_TEXT]
        desk = await self.destination(resident_id, follow_up)
        done = await self.store.ask(
            resident_id, desk.centre.id, desk.team, desk.route, text, self._now(), follow_up
        )
        ticket, message_id = done.ticket, done.message_id
        viewers = await self.viewer_links(ticket)
        now = self.clock()
        rows = [
            Planned(
                resident_id=account,
                kind=NEW_KIND,
                key="new",
                due_at=now,
                dedupe_key=f"tk:new:{ticket.id}:{message_id}:{account}",
                params={"ticket_id": ticket.id},
                expires_at=now + timedelta(days=3),
            )
            for account, _ in viewers
        ]
        if done.closed is not None:
            rows.append(self._rate_row(resident_id, done.closed))
        await self.outbox.plan(rows, now)
        return Asked(
            ticket, message_id, done.created, desk, len(viewers), done.reopened, done.closed
        )

    def _rate_row(self, resident_id: int, ticket_id: int) -> Planned:
        now = self.clock()
        return Planned(
            resident_id=resident_id,
            kind=RATE_KIND,
            key="rate",
            due_at=now,
            dedupe_key=f"tk:rate:{ticket_id}",
            params={"ticket_id": ticket_id},
            expires_at=now + timedelta(days=7),
        )

    async def close(self, resident_id: int, ticket_id: int) -> Ticket:
        ticket = await self.store.get(ticket_id)
        if ticket is None or ticket.resident_id != resident_id:
            raise NotYourTicket(ticket_id)
        if ticket.status is not TicketStatus.CLOSED:
            await self.store.close(ticket_id, resident_id, self._now())
        closed = await self.store.get(ticket_id)
        assert closed is not None
        return closed

    async def rate(self, resident_id: int, ticket_id: int, rating: int) -> bool:
        if not 1 <= rating <= 5:
            raise NotYourTicket(ticket_id)
        ticket = await self.store.get(ticket_id)
        if ticket is None or ticket.resident_id != resident_id:
            raise NotYourTicket(ticket_id)
        return await self.store.rate(ticket_id, resident_id, rating, self._now())

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self.store.get(ticket_id)

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        return await self.store.messages(ticket_id)

    async def message(self, message_id: int) -> TicketMessage | None:
        return await self.store.message(message_id)

    # -- the doctor -----------------------------------------------------------------------------
    async def queue(self, doctor: Doctor) -> list[Ticket]:
        return await self.store.queue(doctor.centre_id, doctor.team)

    async def for_doctor(self, doctor: Doctor, ticket_id: int) -> Ticket:
        ticket = await self.store.get(ticket_id)
        if ticket is None or not self.sees(doctor, ticket):
            raise NotYourTicket(ticket_id)
        return ticket

    async def answer(self, doctor: Doctor, ticket_id: int, text: str) -> int | None:
        """The doctor's answer; the resident is notified through the outbox (with Thanks and
        Ask again). None if a colleague answered first or the ticket was closed."""
        ticket = await self.for_doctor(doctor, ticket_id)
        text = text.strip()[:MAX_TEXT]
        now = self.clock()

        def notify(message_id: int) -> list[Planned]:
            return [
                Planned(
                    resident_id=ticket.resident_id,
                    kind=ANSWER_KIND,
                    key="answer",
                    due_at=now,
                    dedupe_key=answer_key(message_id),
                    params={"ticket_id": ticket.id, "message_id": message_id},
                    expires_at=now + timedelta(days=14),
                )
            ]

        message_id = await self.store.answer(ticket.id, doctor.id, text, self._now(), notify)
        if message_id is not None:
            await self.doctors.audit(
                NewAudit(doctor.id, "ticket_answer", ticket.resident_id, f"ticket={ticket.id}")
            )
        return message_id

    # -- scheduled work -------------------------------------------------------------------------
    async def escalate(self) -> int:
        """Team tickets unanswered for the deployment's time go to their centre's duty desk,
        whose linked doctors are told."""
        now = self.clock()
        before = now - timedelta(hours=self.settings.escalate_hours)
        moved = await self.store.escalate(int(before.timestamp()), int(now.timestamp()))
        rows = []
        for ticket in moved:
            for account, _ in await self.viewer_links(ticket):
                rows.append(
                    Planned(
                        resident_id=account,
                        kind=ESCALATED_KIND,
                        key="escalated",
                        due_at=now,
                        dedupe_key=f"tk:esc:{ticket.id}:{account}",
                        params={"ticket_id": ticket.id},
                        expires_at=now + timedelta(days=3),
                    )
                )
        if rows:
            await self.outbox.plan(rows, now)
        return len(moved)

    async def close_stale(self) -> int:
        """Answered tickets the resident did not reply to are closed; a rating is asked."""
        now = self.clock()
        before = now - timedelta(days=self.settings.close_days)
        closed = await self.store.close_answered(int(before.timestamp()), int(now.timestamp()))
        await self.outbox.plan([self._rate_row(t.resident_id, t.id) for t in closed], now)
        return len(closed)

    # -- reports --------------------------------------------------------------------------------
    async def report(self, since_days: int = 90) -> list[TicketTimes]:
        """Times per team of this process's district (the operator's --district)."""
        since = int((self.clock() - timedelta(days=since_days)).timestamp())
        groups: dict[tuple[str, str], list[tuple[int, int | None, int | None, str]]] = {}
        for r in await self.store.all_since(since, self.district):
            groups.setdefault((r["centre_id"], r["team"]), []).append(
                (r["created_at"], r["first_response_at"], r["closed_at"], r["status"])
            )
        out = []
        for (centre, team), rows in sorted(groups.items()):
            first = [f - c for c, f, _, _ in rows if f is not None]
            resolved = [d - c for c, _, d, _ in rows if d is not None]
            out.append(
                TicketTimes(
                    centre_id=centre,
                    team=team,
                    tickets=len(rows),
                    answered=len(first),
                    closed=sum(1 for *_, s in rows if s == "closed"),
                    first_response_median_s=median(first),
                    first_response_p90_s=p90(first),
                    resolution_median_s=median(resolved),
                )
            )
        return out
