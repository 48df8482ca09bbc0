"""SQL for typed questions: emergency-sign events, tickets and their messages and ratings, and
satisfaction answers (migration 0014). Message texts are health data: they are read and
written here and never logged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.districts import ALL_DISTRICTS
from bot.domain.outbox import Planned
from bot.domain.questions import AskResult, Route, Ticket, TicketMessage, TicketStatus
from bot.storage.db import Database, inserted_id
from bot.storage.districts import centre_scope
from bot.storage.outbox import insert_planned

_TICKET = (
    "t.id, t.resident_id, t.centre_id, t.team, t.route, t.status, t.created_at, "
    "t.first_response_at, t.closed_at, t.escalated_at, t.waiting_since, r.rating"
)
_FROM = "FROM tickets AS t LEFT JOIN ticket_ratings AS r ON r.ticket_id = t.id"


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=row["id"],
        resident_id=row["resident_id"],
        centre_id=row["centre_id"],
        team=row["team"],
        route=Route(row["route"]),
        status=TicketStatus(row["status"]),
        created_at=row["created_at"],
        first_response_at=row["first_response_at"],
        closed_at=row["closed_at"],
        escalated_at=row["escalated_at"],
        waiting_since=row["waiting_since"],
        rating=row["rating"],
    )


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


class RedFlagStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, resident_id: int, sign: str, channel: str, doctor_id: str | None, now: int
    ) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO redflag_events (resident_id, sign, channel, doctor_id, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (resident_id, sign, channel, doctor_id, now),
            )
            return await inserted_id(cur)

    async def get(self, event_id: int) -> Any:
        return await self.db.fetchone("SELECT * FROM redflag_events WHERE id = ?", (event_id,))

    async def for_doctors(self, doctor_ids: Sequence[str], limit: int) -> list[Any]:
        """The newest events of residents signed to these doctors when they wrote."""
        if not doctor_ids:
            return []
        return list(
            await self.db.fetchall(
                "SELECT id, resident_id, sign, created_at, seen_at FROM redflag_events "
                f"WHERE doctor_id IN ({_marks(doctor_ids)}) ORDER BY created_at DESC, id DESC "
                "LIMIT ?",
                (*doctor_ids, limit),
            )
        )

    async def mark_seen(self, ids: Sequence[int], now: int) -> None:
        if ids:
            await self.db.execute(
                f"UPDATE redflag_events SET seen_at = ? WHERE id IN ({_marks(ids)}) "
                "AND seen_at IS NULL",
                (now, *ids),
            )


class TicketStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self.db.fetchone(f"SELECT {_TICKET} {_FROM} WHERE t.id = ?", (ticket_id,))
        return None if row is None else _ticket(row)

    async def open_for(self, resident_id: int) -> Ticket | None:
        row = await self.db.fetchone(
            f"SELECT {_TICKET} {_FROM} WHERE t.resident_id = ? AND t.status <> 'closed'",
            (resident_id,),
        )
        return None if row is None else _ticket(row)

    async def ask(
        self,
        resident_id: int,
        centre_id: str,
        team: str,
        route: Route,
        text: str,
        now: int,
        follow_up: int | None = None,
    ) -> AskResult:
        """Store the resident's message. It joins their ticket that is not closed when that
        ticket is `follow_up` (the resident chose to add to it; an answered one is waiting
        again from now) or is still open (one open ticket per resident). An answered ticket
        the resident did not choose to follow up is closed, and the message opens a new one."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "SELECT id, status FROM tickets WHERE resident_id = ? AND status <> 'closed'",
                (resident_id,),
            )
            found = await cur.fetchone()
            closed: int | None = None
            reopened = False
            if (
                found is not None
                and found["status"] == TicketStatus.ANSWERED
                and found["id"] != follow_up
            ):
                await conn.execute(
                    "UPDATE tickets SET status = 'closed', closed_at = ? WHERE id = ?",
                    (now, found["id"]),
                )
                closed, found = int(found["id"]), None
            created = found is None
            if found is None:
                cur = await conn.execute(
                    "INSERT INTO tickets (resident_id, centre_id, team, route, created_at, "
                    "waiting_since) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (resident_id, centre_id, team, str(route), now, now),
                )
                ticket_id = await inserted_id(cur)
            else:
                ticket_id = found["id"]
                if found["status"] == TicketStatus.ANSWERED:
                    reopened = True
                    await conn.execute(
                        "UPDATE tickets SET status = 'open', waiting_since = ? WHERE id = ?",
                        (now, ticket_id),
                    )
            cur = await conn.execute(
                "INSERT INTO ticket_messages (ticket_id, resident_id, author, text, created_at) "
                "VALUES (?, ?, 'resident', ?, ?) RETURNING id",
                (ticket_id, resident_id, text, now),
            )
            message_id = await inserted_id(cur)
            cur = await conn.execute(f"SELECT {_TICKET} {_FROM} WHERE t.id = ?", (ticket_id,))
            return AskResult(_ticket(await cur.fetchone()), message_id, created, reopened, closed)

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        rows = await self.db.fetchall(
            "SELECT id, ticket_id, author, doctor_id, text, created_at FROM ticket_messages "
            "WHERE ticket_id = ? ORDER BY id",
            (ticket_id,),
        )
        return [TicketMessage(**dict(r)) for r in rows]

    async def message(self, message_id: int) -> TicketMessage | None:
        row = await self.db.fetchone(
            "SELECT id, ticket_id, author, doctor_id, text, created_at FROM ticket_messages "
            "WHERE id = ?",
            (message_id,),
        )
        return None if row is None else TicketMessage(**dict(row))

    async def queue(self, centre_id: str, team: str) -> list[Ticket]:
        """Open tickets a doctor of (centre, team) sees: the team's, and the centre's duty
        desk's; the longest waiting first."""
        rows = await self.db.fetchall(
            f"SELECT {_TICKET} {_FROM} WHERE t.centre_id = ? AND t.status = 'open' "
            "AND (t.route = 'duty' OR t.team = ?) ORDER BY t.waiting_since, t.id",
            (centre_id, team),
        )
        return [_ticket(r) for r in rows]

    async def answer(
        self,
        ticket_id: int,
        doctor_id: str,
        text: str,
        now: int,
        notify: Callable[[int], list[Planned]],
    ) -> int | None:
        """The doctor's answer and the resident's notification, in one transaction; None if
        the ticket is no longer open (answered by a colleague or closed meanwhile)."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE tickets SET status = 'answered', answered_at = ?, "
                "first_response_at = coalesce(first_response_at, ?) "
                "WHERE id = ? AND status = 'open' RETURNING resident_id",
                (now, now, ticket_id),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "INSERT INTO ticket_messages (ticket_id, resident_id, author, doctor_id, text, "
                "created_at) VALUES (?, ?, 'doctor', ?, ?, ?) RETURNING id",
                (ticket_id, row["resident_id"], doctor_id, text, now),
            )
            message_id = await inserted_id(cur)
            await insert_planned(conn, notify(message_id), now)
            return message_id

    async def close(self, ticket_id: int, resident_id: int, now: int) -> bool:
        return (
            await self.db.execute(
                "UPDATE tickets SET status = 'closed', closed_at = ? "
                "WHERE id = ? AND resident_id = ? AND status <> 'closed'",
                (now, ticket_id, resident_id),
            )
            > 0
        )

    async def rate(self, ticket_id: int, resident_id: int, rating: int, now: int) -> bool:
        """One rating for a closed ticket of this resident; False if already rated."""
        return (
            await self.db.execute(
                "INSERT INTO ticket_ratings (ticket_id, resident_id, rating, created_at) "
                "SELECT id, resident_id, ?, ? FROM tickets "
                "WHERE id = ? AND resident_id = ? AND status = 'closed' "
                "ON CONFLICT (ticket_id) DO NOTHING",
                (rating, now, ticket_id, resident_id),
            )
            > 0
        )

    async def escalate(self, waiting_before: int, now: int) -> list[Ticket]:
        """Team tickets waiting since before `waiting_before` go to the centre's duty desk."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE tickets SET route = 'duty', escalated_at = ? WHERE status = 'open' "
                "AND route = 'team' AND waiting_since <= ? RETURNING id",
                (now, waiting_before),
            )
            ids = [r["id"] for r in await cur.fetchall()]
        return [t for t in [await self.get(i) for i in ids] if t is not None]

    async def close_answered(self, answered_before: int, now: int) -> list[Ticket]:
        """Answered tickets the resident left alone since `answered_before` are closed."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE tickets SET status = 'closed', closed_at = ? WHERE status = 'answered' "
                "AND answered_at <= ? RETURNING id",
                (now, answered_before),
            )
            ids = [r["id"] for r in await cur.fetchall()]
        return [t for t in [await self.get(i) for i in ids] if t is not None]

    async def response_times(self, centre_id: str, team: str, since: int) -> list[int]:
        """Seconds to the first answer of this team's (or duty desk's) recent tickets."""
        rows = await self.db.fetchall(
            "SELECT first_response_at - created_at AS s FROM tickets WHERE centre_id = ? "
            "AND team = ? AND first_response_at IS NOT NULL AND created_at >= ?",
            (centre_id, team, since),
        )
        return [int(r["s"]) for r in rows]

    async def all_since(self, since: int, district: str = ALL_DISTRICTS) -> list[Any]:
        scope, params = centre_scope(district, "centre_id")
        return list(
            await self.db.fetchall(
                "SELECT centre_id, team, route, status, created_at, first_response_at, "
                f"closed_at FROM tickets WHERE created_at >= ?{scope} ORDER BY centre_id, team",
                (since, *params),
            )
        )


class SatisfactionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def attended_between(self, lo: int, hi: int) -> list[Any]:
        return list(
            await self.db.fetchall(
                "SELECT id, resident_id, doctor_id, start_at FROM appointments "
                "WHERE status = 'attended' AND start_at >= ? AND start_at < ? ORDER BY id",
                (lo, hi),
            )
        )

    async def appointment(self, appointment_id: int) -> Any:
        return await self.db.fetchone(
            "SELECT id, resident_id, doctor_id, start_at, status FROM appointments WHERE id = ?",
            (appointment_id,),
        )

    async def answer(
        self,
        appointment_id: int,
        resident_id: int,
        doctor_id: str,
        centre_id: str,
        team: str,
        rating: int,
        now: int,
    ) -> bool:
        return (
            await self.db.execute(
                "INSERT INTO satisfaction_answers (appointment_id, resident_id, doctor_id, "
                "centre_id, team, rating, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (appointment_id) DO NOTHING",
                (appointment_id, resident_id, doctor_id, centre_id, team, rating, now),
            )
            > 0
        )

    async def get(self, appointment_id: int) -> Any:
        return await self.db.fetchone(
            "SELECT * FROM satisfaction_answers WHERE appointment_id = ?", (appointment_id,)
        )

    async def comment(self, appointment_id: int, resident_id: int, text: str) -> bool:
        """A comment for a low rating, once."""
        return (
            await self.db.execute(
                "UPDATE satisfaction_answers SET comment = ? WHERE appointment_id = ? "
                "AND resident_id = ? AND rating <= 2 AND comment = ''",
                (text, appointment_id, resident_id),
            )
            > 0
        )

    async def counts(self, since: int, district: str = ALL_DISTRICTS) -> list[Any]:
        """(centre_id, team, rating, n) over answers since `since`, of the district's centres."""
        scope, params = centre_scope(district, "centre_id")
        return list(
            await self.db.fetchall(
                "SELECT centre_id, team, rating, count(*) AS n FROM satisfaction_answers "
                f"WHERE created_at >= ?{scope} GROUP BY centre_id, team, rating "
                "ORDER BY centre_id, team, rating",
                (since, *params),
            )
        )
