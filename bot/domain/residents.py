"""A resident (one chat account) and their saved conversation state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Self


@dataclass(frozen=True, slots=True)
class Resident:
    id: int
    channel: str
    channel_user_id: str
    locale: str | None = None
    elder_mode: bool = False
    consent_at: datetime | None = None  # aware, like every time in the domain
    unreachable_at: datetime | None = None
    quiet_start: str | None = None  # 'HH:MM' local wall-clock times, not moments
    quiet_end: str | None = None
    created_at: datetime | None = None

    @property
    def consented(self) -> bool:
        return self.consent_at is not None


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the router loads and saves around each update: the flow's name and its fields
    (JSON in the residents' state column)."""

    name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowState:
    """A conversation flow's typed state: subclass it as a frozen dataclass with a `NAME`.

    Saved as a `ConversationState(NAME, fields)`; loading ignores keys the class does not
    have and gives missing ones their defaults, so a state saved by an older version of the
    flow still loads after a deploy.
    """

    NAME: ClassVar[str] = ""

    def to_state(self) -> ConversationState:
        return ConversationState(self.NAME, asdict(self))

    @classmethod
    def from_state(cls, state: ConversationState) -> Self | None:
        """The flow's state, or None if the resident is not in this flow."""
        if state.name != cls.NAME:
            return None
        return cls.from_data(state.data)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
