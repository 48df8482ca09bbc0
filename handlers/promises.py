"""What the bot promises, phrased from what was stored.

Every "I will remind you", "your doctor can see it" or "they have been told" is composed here
from the rows a service actually wrote (outbox rows, flags, requests), and says something else
when there are none. A handler never writes such a promise as a fixed sentence: the next
feature that books, flags or notifies hands its rows to one of these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.outbox import SENT, OutboxRow
from bot.i18n import Translator


def when(t: Translator, row: OutboxRow) -> str:
    """The local date and time an outbox row is due, in the one style for planned messages."""
    return t.weekday_datetime(row.due_at.astimezone(t.tz))


def reminders(t: Translator, rows: Sequence[OutboxRow], none: str) -> str:
    """ "I will remind you on …" for exactly these pending rows; `none` (already translated)
    when there are none, e.g. "It is too close to the visit for a reminder."."""
    if not rows:
        return none
    ordered = sorted(rows, key=lambda r: (r.due_at, r.id))
    return t.gettext("I will remind you on {times}.").format(
        times=t.list([when(t, r) for r in ordered])
    )


def reminders_about(
    t: Translator, about: Sequence[tuple[str, Sequence[OutboxRow]]], none: str
) -> str:
    """ "I will remind you about X on …" once for each subject (already translated, e.g. a
    vaccine's name) that has pending rows, with exactly those rows' times; subjects without
    rows are not mentioned; `none` when no subject has any."""
    lines = [
        t.gettext("I will remind you about {what} on {times}.").format(
            what=what,
            times=t.list([when(t, r) for r in sorted(rows, key=lambda r: (r.due_at, r.id))]),
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
