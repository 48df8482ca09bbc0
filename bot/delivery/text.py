"""Delivery's own registrations: the plain `text` notification and the nightly outbox prune.

`text` rows carry their message in the payload (`params["text"]`), already in the words the
sender chose (an operator's or a doctor's broadcast): it is sent as is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core import Reply
from bot.router import Registry

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

TEXT_KIND = "text"


async def render_text(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """A `text` row: its text as given; nothing to send if it is empty."""
    text = str(row.params.get("text") or "").strip()
    return [Reply(text=text)] if text else []


async def prune_outbox(rt: Runtime) -> None:
    """Nightly: forget finished outbox rows older than the retention period."""
    keep = timedelta(days=rt.settings.outbox_retention_days)
    await rt.delivery.dispatcher.prune(rt.now() - keep)


def register(r: Registry) -> None:
    r.notification(TEXT_KIND, render_text)
    r.job("outbox.prune", prune_outbox, "cron", hour=3, minute=30)
