"""What the bot promises, phrased from what was stored.

Every "I will remind you", "your doctor can see it" or "they have been told" is composed here
from the rows a service actually wrote (outbox rows, flags, requests), and says something else
when there are none. A handler never writes such a promise as a fixed sentence: the next
feature that books, flags or notifies hands its rows to one of these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.outbox import SENT, OutboxRow
from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.delivery.eta import SendTimes

# When each row goes out (row id -> moment): its due time moved past the resident's quiet
# hours, as delivery will do (`arrivals`). A row missing from it is read at its due time.
Arrivals = Mapping[int, datetime]


async def arrivals(send_times: SendTimes, rows: Sequence[OutboxRow]) -> dict[int, datetime]:
    """When these rows actually go out (SendTimes.of_row: after quiet hours), by row id."""
    out: dict[int, datetime] = {}
    for r in rows:
        at = await send_times.of_row(r)
        out[r.id] = at if at is not None else r.due_at
    return out


def _at(row: OutboxRow, at: Arrivals | None) -> datetime:
    return (at or {}).get(row.id, row.due_at)


def when(t: Translator, row: OutboxRow, at: Arrivals | None = None) -> str:
    """The local date and time an outbox row goes out (`at`, from `arrivals`; else its due
    time), in the one style for planned messages."""
    return t.weekday_datetime(_at(row, at).astimezone(t.tz))


def _times(t: Translator, rows: Sequence[OutboxRow], at: Arrivals | None) -> str:
    ordered = sorted(rows, key=lambda r: (_at(r, at), r.id))
    return t.list([when(t, r, at) for r in ordered])


def reminders(
    t: Translator, rows: Sequence[OutboxRow], none: str, at: Arrivals | None = None
) -> str:
    """ "I will remind you on …" for exactly these pending rows, at the times they go out;
    `none` (already translated) when there are none, e.g. "It is too close to the visit for
    a reminder."."""
    if not rows:
        return none
    return t.gettext("I will remind you on {times}.").format(times=_times(t, rows, at))


def reminders_about(
    t: Translator,
    about: Sequence[tuple[str, Sequence[OutboxRow]]],
    none: str,
    at: Arrivals | None = None,
) -> str:
    """ "I will remind you about X on …" once for each subject (already translated, e.g. a
    vaccine's name) that has pending rows, with exactly those rows' times; subjects without
    rows are not mentioned; `none` when no subject has any."""
    lines = [
        t.gettext("I will remind you about {what} on {times}.").format(
            what=what, times=_times(t, rows, at)
        )
        for what, rows in about
        if rows
    ]
    return "\n".join(lines) if lines else none


def told(t: Translator, rows: Sequence[OutboxRow], none: str) -> str:
    """ "They will get a message now" when a notification row for them exists, else `none`."""
    if rows:
        return t.gettext("They get a message from the bot about it.")
    return none


def delivery(
    t: Translator, state: tuple[str, datetime | None] | None, now: datetime, sent: str
) -> str:
    """What happened to one notification row, read back from the outbox (`SendTimes.state`):
    `sent` (already translated) only once it was sent; while it waits, when it goes out (the
    resident's quiet hours may hold it until the morning); else that it could not be sent."""
    if state is not None and state[0] == SENT:
        return sent
    if state is None or state[1] is None:
        return t.gettext("The message to them could not be sent.")
    if state[1] > now + timedelta(minutes=1):
        return t.gettext("It is in their quiet hours: the message goes out {when}.").format(
            when=t.weekday_datetime(state[1].astimezone(t.tz))
        )
    return t.gettext("The message to them is on its way now.")
