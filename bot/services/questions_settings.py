"""Deployment settings of typed questions, read from the DOORSTEP_* environment (kept in
`Settings.extra`, so no central settings list grows with this feature)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class QuestionSettings:
    escalate_hours: float = 24.0  # unanswered team tickets go to the duty desk after this
    close_days: float = 7.0  # answered tickets nobody replied to are closed after this
    crisis_line: str = ""  # a local psychological-assistance line, besides the national 12356

    @classmethod
    def from_settings(cls, settings: Settings) -> QuestionSettings:
        extra = settings.extra

        def number(name: str, default: float) -> float:
            raw = extra.get(name, "")
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a number") from None
            if value <= 0:
                raise ConfigError(f"{name} must be above 0")
            return value

        return cls(
            escalate_hours=number("DOORSTEP_TICKET_ESCALATE_HOURS", 24.0),
            close_days=number("DOORSTEP_TICKET_CLOSE_DAYS", 7.0),
            crisis_line=extra.get("DOORSTEP_CRISIS_LINE", "").strip(),
        )
