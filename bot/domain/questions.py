"""Records of typed questions: emergency signs, common questions, tickets to a team, and
satisfaction answers. Plain frozen dataclasses; no I/O, no chat library."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from bot.domain.clinical import Decision


# -- emergency signs ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sign:
    """One emergency sign of content/redflags/signs.yaml."""

    id: str
    level: int  # 急诊预检分诊 level: 1 濒危, 2 危重
    title: dict[str, str]  # locale -> title
    waiting: dict[str, tuple[str, ...]]  # locale -> what to do while waiting for 120
    cite: tuple[str, ...]  # source ids
    zh: tuple[re.Pattern[str], ...]
    en: tuple[re.Pattern[str], ...]
    glucose_value: bool = False
    # What to do while waiting, said to the person who has the sign (locale -> lines);
    # `waiting` is said to someone helping another person.
    waiting_self: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Symptoms of a low sugar: with a typed value the rules call low, the rules' own reply
    # (treat it first) is given at once, in any state (low_sugar only).
    symptoms_zh: tuple[re.Pattern[str], ...] = ()
    symptoms_en: tuple[re.Pattern[str], ...] = ()
    # The rules' conditions for 120 with a low sugar (gl.low.120: drowsy, confused, cannot
    # swallow): with a typed low value, the sign itself (call 120).
    danger_zh: tuple[re.Pattern[str], ...] = ()
    danger_en: tuple[re.Pattern[str], ...] = ()
    crisis: bool = False  # a psychological crisis: the crisis line is the heading, 120 if in danger

    def advice(self, locale: str, about_self: bool) -> tuple[str, ...]:
        """The lines for whoever is reading: the person with the sign, or a helper."""
        if about_self and self.waiting_self.get(locale):
            return self.waiting_self[locale]
        return self.waiting[locale]


@dataclass(frozen=True, slots=True)
class SignList:
    signs: tuple[Sign, ...]
    sources: dict[str, str]
    exclude_zh: tuple[re.Pattern[str], ...]
    exclude_en: tuple[re.Pattern[str], ...]
    education_zh: tuple[re.Pattern[str], ...]
    education_en: tuple[re.Pattern[str], ...]
    now_zh: tuple[str, ...]
    now_en: tuple[str, ...]
    vocabulary: frozenset[str]  # words of the English patterns, for typo correction
    others_zh: tuple[re.Pattern[str], ...] = ()  # words naming another person (我爸, 他)
    others_en: tuple[re.Pattern[str], ...] = ()

    def by_id(self, sign_id: str) -> Sign | None:
        return next((s for s in self.signs if s.id == sign_id), None)


@dataclass(frozen=True, slots=True)
class RedFlag:
    """What the matcher found: the signs, most urgent first (file order)."""

    signs: tuple[Sign, ...]
    about_self: bool = True  # the words describe the writer (no other person is named)
    # Typed glucose values the clinical rules call low, with their decision, when they alone
    # raised the low_sugar sign (no words of it, none of the rules' conditions for 120): the
    # reply is the rules' own (treat it first), not the ambulance.
    treat_first: tuple[tuple[Decimal, Decision], ...] = ()

    @property
    def ambulance(self) -> bool:
        """The reply leads with 120 (or the crisis line): any sign raised by its words."""
        return not (self.treat_first and self.ids == ("low_sugar",))

    @property
    def first(self) -> Sign:
        return self.signs[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.signs)


# -- common questions ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    topic: str
    question: dict[str, str]  # locale -> the question as shown
    answer: dict[str, str]
    also: tuple[str, ...]  # other ways to ask (either language), used for matching only
    source: dict[str, str]
    last_reviewed: date


@dataclass(frozen=True, slots=True)
class FaqHit:
    entry: FaqEntry
    score: float


@dataclass(frozen=True, slots=True)
class FaqAnswer:
    """The best matches, best first; `confident` when the first may be answered directly."""

    hits: tuple[FaqHit, ...]
    confident: bool


# -- tickets ------------------------------------------------------------------------------------
class Route(StrEnum):
    TEAM = "team"  # the resident's signed family doctor team
    DUTY = "duty"  # the centre's duty desk: every doctor of the centre


class TicketStatus(StrEnum):
    OPEN = "open"  # waiting for the team
    ANSWERED = "answered"  # the team answered; the resident may thank or ask again
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    resident_id: int
    centre_id: str
    team: str  # the team's name at the centre; '' for a duty-desk ticket
    route: Route
    status: TicketStatus
    created_at: int
    first_response_at: int | None
    closed_at: int | None
    escalated_at: int | None
    waiting_since: int  # the oldest resident message not yet answered
    rating: int | None = None


@dataclass(frozen=True, slots=True)
class AskResult:
    """What storing a resident's message did: joined or opened a ticket, reopened an answered
    one the resident chose to follow up, or closed an answered one for a new question."""

    ticket: Ticket
    message_id: int
    created: bool  # a new ticket
    reopened: bool  # the follow-up made an answered ticket wait for the team again
    closed: int | None  # the answered ticket closed because this is a new question


@dataclass(frozen=True, slots=True)
class TicketMessage:
    id: int
    ticket_id: int
    author: str  # 'resident' or 'doctor'
    doctor_id: str | None
    text: str
    created_at: int


@dataclass(frozen=True, slots=True)
class TicketTimes:
    """`doorstep report tickets`: one row per team (or duty desk)."""

    centre_id: str
    team: str
    tickets: int
    answered: int
    closed: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    resolution_median_s: float | None


# -- satisfaction -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SatisfactionGroup:
    """Satisfaction of one team or centre. `shown` is False for fewer than MIN_GROUP answers:
    the average of so few answers could point at one resident."""

    centre_id: str
    team: str  # '' for a whole centre
    answers: int
    average: float | None
    counts: tuple[int, int, int, int, int]  # ratings 1..5
    shown: bool
