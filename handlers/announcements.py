"""What a resident receives of an operator's announcement (`doorstep announce`, issue 14): a
translated heading naming the district, then the operator's words exactly as written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import names
from bot.context import HOME
from bot.core import Button, Reply
from bot.router import Registry
from bot.services.announcements import KIND, AnnouncementService

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


async def render_announcement(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """One resident's copy; nothing if the announcement is gone."""
    service = rt.services.announcements
    announcement = await service.get(int(row.params.get("a", 0)))
    if announcement is None:
        return []
    district = await service.district(announcement.district_code)
    if district is None:
        name = announcement.district_code
    else:
        name = names.district_name(t.locale, district)
    heading = t.gettext("📢 Announcement from the {district} health service:").format(district=name)
    body = AnnouncementService.text_for(announcement, t.locale)
    return [
        Reply(
            text=f"{heading}\n\n{body}",
            buttons=((Button(t.gettext("🏠 Home"), HOME),),),
        )
    ]


def register(r: Registry) -> None:
    r.notification(KIND, render_announcement)
