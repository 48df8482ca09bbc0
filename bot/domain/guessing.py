"""Limits on guessing codes (issue 16): records shared by the throttle and its callers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CodeKind(StrEnum):
    CHILD = "child"  # a code to follow a child another guardian shared
    DOCTOR = "doctor"  # a doctor's invite code
    STEPUP = "stepup"  # the code that opens a doctor's desk on the web


@dataclass(frozen=True, slots=True)
class GuessLimits:
    """Failed attempts allowed per `window` seconds: per account, per address, overall."""

    account: int
    address: int
    overall: int
    window: int = 3600

    @property
    def alert_at(self) -> int:
        """Failed attempts by everyone that make a burst worth an operator's look."""
        return max(1, self.overall // 2)
