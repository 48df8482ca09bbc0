"""What the bot promises, phrased from what was stored.

Every "I will remind you", "your doctor can see it" or "they have been told" is composed here
from the rows a service actually wrote (outbox rows, flags, requests), and says something else
when there are none. A handler never writes such a promise as a fixed sentence: the next
feature that books, flags or notifies hands its rows to one of these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.outbox import OutboxRow
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


def told(t: Translator, rows: Sequence[OutboxRow], none: str) -> str:
    """ "They will get a message now" when a notification row for them exists, else `none`."""
    if rows:
        return t.gettext("They get a message from the bot about it.")
    return none
