"""Parents' side of the childhood schedule: children, doses recorded, sharing with a second
guardian. Every change re-plans the child's reminders at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.clock import Clock
from bot.domain.guessing import CodeKind
from bot.domain.vaccines import Child, ChildRecord
from bot.services.guess_throttle import GuessThrottle
from bot.services.invite_codes import hash_code, new_code, normalize
from bot.services.vaccines.engine import Plan, Planner, Status
from bot.services.vaccines.model import Vaccine
from bot.services.vaccines.reminder_plan import ChildReminders
from bot.storage.vaccines import VaccineStore

MAX_CHILDREN = 8
MAX_GUARDIANS = 4
NICKNAME_MAX = 20
OLDEST_YEARS = 14  # the schedule ends at 6 years; catch-up runs to 18, but we keep it simple
INVITE_TTL = timedelta(hours=48)
CODE_LENGTH = 8
_TAKEN = (Status.DUE, Status.OVERDUE, Status.MISSED)


class ChildError(ValueError):
    """Input a button or a message should never carry; the handler answers "out of date"."""


@dataclass(frozen=True, slots=True)
class Redeemed:
    outcome: str  # ok | unknown | used | expired | already | full | too_many | limited
    child: Child | None


def given_on_time(
    planner: Planner, born: date, given: dict[str, date], today: date, sex: str | None = None
) -> dict[str, date]:
    """Every dose whose age has come, recorded as given on its due date ("all up to today").

    Planned in rounds, so each dose's date follows the dates of the doses it waits for; doses
    that could not fall due before they stop being given are left out (they were never given
    on time)."""
    result = dict(given)
    for _ in range(12):
        plan = planner.plan(born, result, today, sex=sex)
        new = {
            d.dose: d.due
            for d in plan.doses
            if d.status in _TAKEN
            and not d.waiting_for
            and d.due <= today
            and (d.no_longer_given_from is None or d.due < d.no_longer_given_from)
        }
        if not new:
            break
        result.update(new)
    return {k: v for k, v in result.items() if k not in given}


class ChildService:
    def __init__(
        self,
        store: VaccineStore,
        reminders: ChildReminders,
        clock: Clock,
        guesses: GuessThrottle,
    ) -> None:
        self.guesses = guesses
        self.store = store
        self.reminders = reminders
        self.clock = clock

    @property
    def planner(self) -> Planner:
        return self.reminders.planner

    def today(self) -> date:
        return self.reminders.today()

    def vaccine(self, code: str) -> Vaccine | None:
        return self.planner.schedules.vaccine(code)

    def dose_age_months(self, dose: str) -> int:
        """The age group a dose belongs to (months; 0 = at birth), newest edition first."""
        for sched in reversed(self.planner.schedules.schedules):
            spec = sched.dose(dose)
            if spec is not None:
                return spec.age.total_months
        raise ChildError(f"unknown dose {dose}")

    def birth_range(self) -> tuple[date, date]:
        today = self.today()
        return date(today.year - OLDEST_YEARS, 1, 1), today

    # -- children -----------------------------------------------------------------------
    async def children(self, resident_id: int) -> list[Child]:
        return await self.store.children_of(resident_id)

    async def mine(self, resident_id: int, child_id: int) -> ChildRecord | None:
        """The child, if this resident looks after it (buttons carry ids: check them)."""
        record = await self.store.record(child_id)
        if record is None or resident_id not in record.guardians:
            return None
        return record

    async def add(self, resident_id: int, nickname: str, born: date) -> Child:
        first, last = self.birth_range()
        if not first <= born <= last:
            raise ChildError("birth date out of range")
        if await self.store.count_children(resident_id) >= MAX_CHILDREN:
            raise ChildError("too many children")
        child = await self.store.add_child(
            resident_id, nickname.strip()[:NICKNAME_MAX], born, self.clock()
        )
        await self.reminders.replan_child(child.id)
        return child

    def plan(self, record: ChildRecord) -> Plan:
        return self.reminders.plan(record)

    async def record_doses(self, record: ChildRecord, doses: dict[str, date]) -> None:
        """Record doses given; every code and date is checked (buttons may be forged)."""
        known = set(self.planner.dose_codes)
        today = self.today()
        for code, on in doses.items():
            if code not in known:
                raise ChildError("unknown dose")
            if not record.child.born <= on <= today:
                raise ChildError("date outside the child's life")
        await self.store.set_doses(record.child.id, doses, self.clock())
        await self.reminders.replan_child(record.child.id)

    async def unrecord(self, record: ChildRecord, dose: str) -> None:
        if dose not in set(self.planner.dose_codes):
            raise ChildError("unknown dose")
        await self.store.remove_doses(record.child.id, [dose])
        await self.reminders.replan_child(record.child.id)

    async def all_up_to_today(self, record: ChildRecord, months: int | None = None) -> int:
        """Record every dose due so far (or only those of one age group) as given on time."""
        plan_given = {k: v for k, v in record.given.items() if k in set(self.planner.dose_codes)}
        new = given_on_time(
            self.planner, record.child.born, plan_given, self.today(), record.child.sex
        )
        if months is not None:
            new = {k: v for k, v in new.items() if self.dose_age_months(k) == months}
        if new:
            await self.record_doses(record, new)
        return len(new)

    async def set_sex(self, record: ChildRecord, sex: str) -> None:
        """Girl or boy: decides vaccines of one sex (HPV); re-plans the reminders."""
        if sex not in ("female", "male"):
            raise ChildError("unknown sex")
        await self.store.set_sex(record.child.id, sex)
        await self.reminders.replan_child(record.child.id)

    async def leave(self, record: ChildRecord, resident_id: int) -> bool:
        """Stop looking after a child; True if the child's record is deleted with it."""
        gone = await self.store.leave(record.child.id, resident_id)
        if gone:
            await self.reminders.cancel_child(record.child.id)
        else:
            await self.reminders.cancel_child(record.child.id, resident_id)
        return gone

    # -- sharing ------------------------------------------------------------------------
    async def invite(self, record: ChildRecord) -> str:
        """A new single-use code for a second guardian; only its hash is stored."""
        code = new_code(CODE_LENGTH)
        now = self.clock()
        await self.store.add_invite(record.child.id, hash_code(code), now, now + INVITE_TTL)
        return code

    async def redeem(self, resident_id: int, code: str, address: str | None = None) -> Redeemed:
        """Follow a shared child. Wrong codes count against the guessing limits (per
        account, per address, overall), checked first: a limited guesser learns nothing."""
        throttle = self.guesses
        if await throttle.refused(CodeKind.CHILD, resident_id, address) is not None:
            return Redeemed("limited", None)
        if await self.store.count_children(resident_id) >= MAX_CHILDREN:
            return Redeemed("too_many", None)
        if len(normalize(code)) != CODE_LENGTH:
            await throttle.failed(CodeKind.CHILD, resident_id, address)
            return Redeemed("unknown", None)
        outcome, child_id = await self.store.redeem_invite(
            hash_code(code), resident_id, self.clock(), MAX_GUARDIANS
        )
        if outcome in ("unknown", "used", "expired"):
            await throttle.failed(CodeKind.CHILD, resident_id, address)
        if outcome != "ok" or child_id is None:
            return Redeemed(outcome, None)
        await self.reminders.replan_child(child_id)
        record = await self.store.record(child_id)
        return Redeemed("ok", record.child if record else None)
