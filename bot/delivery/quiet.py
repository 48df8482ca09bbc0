"""Quiet hours: when non-urgent messages wait for the morning.

The deployment sets the default window (21:00–08:00 Asia/Shanghai); a resident may have their
own ('HH:MM' text in residents.quiet_start / quiet_end). A window whose start is later than its
end wraps midnight; equal start and end means no quiet hours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.residents import Resident

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    tz: ZoneInfo

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (aware) falls inside the window."""
        t = moment.astimezone(self.tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def resume_at(self, moment: datetime) -> datetime | None:
        """When a message held at `moment` may go out (the window's end), or None if it may
        go now."""
        if not self.contains(moment):
            return None
        local = moment.astimezone(self.tz)
        end = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.tz)
        return end


def parse_hhmm(value: str | None) -> time | None:
    if not value:
        return None
    try:
        hh, mm = value.strip().split(":")
        return time(int(hh), int(mm))
    except ValueError:
        return None


def quiet_hours_for(resident: Resident, settings: Settings) -> QuietHours:
    """The resident's own window if both ends are set and valid, else the deployment's."""
    start, end = parse_hhmm(resident.quiet_start), parse_hhmm(resident.quiet_end)
    if (start is None or end is None) and (resident.quiet_start or resident.quiet_end):
        log.warning("resident %s has an incomplete or invalid quiet-hours override", resident.id)
    return quiet_hours_of(resident.quiet_start, resident.quiet_end, settings)


def quiet_hours_of(
    quiet_start: str | None, quiet_end: str | None, settings: Settings
) -> QuietHours:
    """The window from a resident's stored override ('HH:MM' each), else the deployment's."""
    start, end = parse_hhmm(quiet_start), parse_hhmm(quiet_end)
    if start is not None and end is not None:
        return QuietHours(start, end, settings.tz)
    return QuietHours(settings.quiet_start, settings.quiet_end, settings.tz)
