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
