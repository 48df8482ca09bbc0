"""My medicines: the records of a resident's medicines, their doses and refill requests.

Nothing here suggests a dose: `Entry.amount` is what the resident typed or tapped, as their
doctor told them. Times are local wall-clock times ("HH:MM") in the deployment's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

# A dose not answered this long after its time counts as missed (the gentle repeat and any
# "30 min later" come well before).
MISSED_AFTER_S = 3 * 3600
REPEAT_AFTER_S = 45 * 60
SNOOZE_S = 30 * 60
MAX_TIMES_PER_DAY = 6
MAX_ENTRIES = 20
MAX_NAME = 40
MAX_AMOUNT = 20
FLAG_MISSED = 3  # the doctor's Flags list residents with this many missed doses in 7 days
FLAG_DAYS = 7
# Long prescriptions (长期处方): 国家卫生健康委、国家医保局《长期处方管理规范（试行）》(2021):
# up to 12 weeks for stable chronic patients, when a signed family doctor prescribes.
MAX_REFILL_WEEKS = 12
REFILL_WEEKS = (2, 4, 8, 12)
# Outbox kinds: a moment's dose reminder (keys 'due', 'repeat', 'later'), the weekly summary,
# and the team's decision on a refill request (keys: the RefillStatus).
DOSE_KIND = "med_dose"
WEEKLY_KIND = "med_weekly"
REFILL_KIND = "med_refill"


class Slot(StrEnum):
    """The named times of day offered as buttons, with their clock times."""

    MORNING = "morning"
    NOON = "noon"
    EVENING = "evening"
    BEDTIME = "bedtime"


SLOT_TIMES: dict[Slot, str] = {
    Slot.MORNING: "08:00",
    Slot.NOON: "12:00",
    Slot.EVENING: "18:00",
    Slot.BEDTIME: "21:00",
}


class Meals(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    ANY = "any"  # not tied to meals (or the doctor did not say)


class DoseStatus(StrEnum):
    DUE = "due"  # planned, not answered yet
    TAKEN = "taken"
    SKIPPED = "skipped"
    MISSED = "missed"  # never stored: a DUE dose older than MISSED_AFTER_S


class RefillStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"
    COME_IN = "come_in"


class Pickup(StrEnum):
    STATION = "station"
    FAMILY = "family"


@dataclass(frozen=True, slots=True)
class Medicine:
    """One medicine of the content list (national essential medicines list)."""

    id: str
    group: str
    name_zh: str
    name_en: str
    ingredient_zh: str
    ingredient_en: str
    unit: str
    strengths: tuple[str, ...]
    initials: str  # pinyin initials of the Chinese name, e.g. "bhsaldpp"
    ingredient_initials: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A medicine on a resident's list."""

    id: int
    resident_id: int
    catalog_id: str | None
    name: str  # the name as shown (the catalog's zh name, or what the resident typed)
    name_en: str
    ingredient: str  # the catalog's ingredient (English, lower case), or "" if unknown
    strength: str
    amount: str
    unit: str
    times: tuple[str, ...]
    meals: Meals
    start_on: date
    end_on: date | None
    active: bool
    created_at: int = 0
    stopped_at: int | None = None

    def dated_on(self, day: date) -> bool:
        """Whether `day` is within the medicine's start and end dates."""
        return self.start_on <= day and (self.end_on is None or day <= self.end_on)

    def expected_at(self, moment: int) -> bool:
        """Whether a dose was (or is) expected at `moment`, given when the medicine was added
        and stopped: the one rule behind reminders, answers and adherence counts."""
        return moment > self.created_at and (self.stopped_at is None or moment < self.stopped_at)


@dataclass(frozen=True, slots=True)
class Stopped:
    """What stopping a medicine did to the stored reminders (moments, unix seconds), read
    back in the stop's own transaction: the reply says this, not what stopping meant to do."""

    cancelled: tuple[int, ...]  # its reminders cancelled (no other medicine due then)
    kept: tuple[int, ...]  # its moments whose reminders stay, for other medicines due then
    left: tuple[int, ...]  # every moment still reminded (other medicines), soonest first


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A medicine to add, as the resident entered it."""

    catalog_id: str | None
    name: str
    name_en: str
    ingredient: str
    strength: str
    amount: str
    unit: str
    times: tuple[str, ...]
    meals: Meals
    start_on: date
    end_on: date | None


@dataclass(frozen=True, slots=True)
class Dose:
    """One expected dose: an entry at a moment (unix seconds), and what became of it. Only
    answers are stored; a dose without one is due, or missed MISSED_AFTER_S after its time."""

    entry_id: int
    due_at: int
    status: DoseStatus
    answered_at: int | None


def dose_status(answer: str | None, due_at: int, now: int) -> DoseStatus:
    """The one rule for a dose's status: its stored answer, else missed MISSED_AFTER_S after
    its time, else due (never stored, so the count does not depend on a job having run)."""
    if answer is not None:
        return DoseStatus(answer)
    return DoseStatus.MISSED if due_at + MISSED_AFTER_S <= now else DoseStatus.DUE


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    taken: int
    skipped: int
    missed: int
    due: int  # still open (not yet counted either way)

    @property
    def not_taken(self) -> int:
        return self.skipped + self.missed


@dataclass(frozen=True, slots=True)
class Refill:
    id: int
    resident_id: int
    doctor_id: str
    entry_ids: tuple[int, ...]
    names: tuple[str, ...]  # the medicines' names when asked (entries may be stopped later)
    weeks: int
    pickup: Pickup
    station_id: str
    family_name: str
    status: RefillStatus
    ready_on: date | None
    ready_station_id: str
    reason: str
    created_at: int
    decided_at: int | None
    # The English names when asked ('' where the list had none, and in requests stored
    # before English names were kept): see bot.names.refill_names.
    names_en: tuple[str, ...] = ()


def parse_hhmm(text: str) -> time | None:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        return None
