"""Health-tip subscriptions and the vocabularies of their settings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.outbox import Planned

SLOTS = ("morning", "noon", "evening")
FREQUENCIES = ("daily", "weekly")
VERDICTS = ("helpful", "fewer")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A resident's tip settings; `weekday` (Monday = 0) only matters for weekly tips."""

    resident_id: int
    active: bool
    topics: frozenset[str]
    slot: str = "morning"
    frequency: str = "daily"
    weekday: int = 0


@dataclass(frozen=True, slots=True)
class PlannedTip:
    """An outbox row to write; `count` says whether it adds to the resident's tip history
    (False when an already counted tip is only moved to another time)."""

    row: Planned
    count: bool = True
