"""My medicines: the rules, once each. Adding and stopping medicines, the day's doses and their
reminders, answers (taken, later, skipped), and adherence.

Reminders are `med_dose` outbox rows, one per resident and moment, urgent so that quiet hours
do not hold them (the resident chose the time). A deployment may still cap the hours in which
they are sent (`DOORSTEP_MEDS_HOURS`, e.g. `06:00-22:30`): a time outside it cannot be chosen,
and an older one outside it gets no reminder (its doses are still expected, shown under
"Today" on the list and marked taken there).
Each moment gets the reminder at its time; once it was sent, the job `meds.repeat` (every
minute) plans one gentle repeat REPEAT_AFTER_S after the time for moments still unanswered and
not put off with "30 min later". Answering cancels what is still pending for that moment.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.config import ConfigError
from bot.domain.medicines import (
    DOSE_KIND,
    FLAG_DAYS,
    MAX_ENTRIES,
    MAX_TIMES_PER_DAY,
    REPEAT_AFTER_S,
    SNOOZE_S,
    WEEKLY_KIND,
    DayCount,
    Dose,
    DoseStatus,
    Entry,
    NewEntry,
    Stopped,
    dose_status,
    parse_hhmm,
)
from bot.domain.outbox import OutboxRow, Planned
from bot.router import UserError
from bot.services.medicines_catalog import MedicineCatalog, load_catalog
from bot.storage.medicines import MedicineStore
from bot.storage.outbox import OutboxStore

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.delivery.dispatcher import Dispatcher
    from bot.domain.clock import Clock

# A reminder is no use long after its time: by then the resident may be near the next dose.
REMINDER_LIFETIME_S = 2 * 3600
PLAN_PAGE = 5000  # residents read per page by the day planner
REPEAT_CATCH_UP_S = 30 * 60


@dataclass(frozen=True, slots=True)
class HoursCap:
    """The deployment's window for medicine reminders (start <= t < end), or no cap."""

    start: time | None = None
    end: time | None = None

    def allows(self, t: time) -> bool:
        if self.start is None or self.end is None:
            return True
        return self.start <= t < self.end


def parse_cap(value: str | None) -> HoursCap:
    """`DOORSTEP_MEDS_HOURS`: empty for no cap, else 'HH:MM-HH:MM' (24:00 may end it)."""
    if not value:
        return HoursCap()
    lo, _, hi = value.partition("-")
    start = parse_hhmm(lo.strip())
    end = time.max if hi.strip() == "24:00" else parse_hhmm(hi.strip())
    if start is None or end is None or start >= end:
        raise ConfigError(f"DOORSTEP_MEDS_HOURS must look like 06:00-22:30, got {value!r}")
    return HoursCap(start, end)


@lru_cache(maxsize=4096)
def _payload(key: str, at: int) -> str:
    """The row's payload as `outbox.row_values` writes it; a day has few distinct moments."""
    return json.dumps({"key": key, "params": {"at": at}}, ensure_ascii=False, sort_keys=True)


def reminder_values(resident_id: int, at: int, now: int) -> tuple[Any, ...]:
    """The outbox row of one moment's reminder, as insert values in the column order of
    `outbox.row_values` (built directly: the day planner makes ~10^5). Its gentle repeat is
    planned only once it was sent and is still unanswered (`plan_repeats`)."""
    return (
        resident_id,
        DOSE_KIND,
        _payload("due", at),
        at,
        at + REMINDER_LIFETIME_S,
        1,
        f"md:{resident_id}:{at}",
        None,
        now,
        now,
    )


class DayPlanner:
    """Turns medicines into the day's doses and reminder rows (pure but for the clock)."""

    def __init__(self, tz: ZoneInfo, cap: HoursCap) -> None:
        self.tz = tz
        self.cap = cap
        self._moments: dict[tuple[date, str], int | None] = {}
        self._allowed: dict[str, bool] = {}

    def moment(self, day: date, hhmm: str) -> int | None:
        """Unix seconds of `hhmm` on `day`, or None for a malformed time."""
        key = (day, hhmm)
        if key not in self._moments:
            t = parse_hhmm(hhmm)
            self._moments[key] = (
                None if t is None else int(datetime.combine(day, t, tzinfo=self.tz).timestamp())
            )
        return self._moments[key]

    def plan(
        self, rows: Iterable[tuple[int, str]], day: date, after: int, now: int
    ) -> list[tuple[Any, ...]]:
        """Reminder rows (outbox values) for (resident, their medicines' times on `day`,
        comma-separated): one per resident and moment later than `after`; none outside the
        deployment's cap."""
        reminders: list[tuple[Any, ...]] = []
        moment, allowed = self.moment, self.allowed
        for resident_id, times in rows:
            for hhmm in set(times.split(",")):
                at = moment(day, hhmm)
                if at is not None and at > after and allowed(hhmm):
                    reminders.append(reminder_values(resident_id, at, now))
        return reminders

    def allowed(self, hhmm: str) -> bool:
        """Whether the deployment's cap lets a reminder go at `hhmm`."""
        if hhmm not in self._allowed:
            t = parse_hhmm(hhmm)
            self._allowed[hhmm] = t is not None and self.cap.allows(t)
        return self._allowed[hhmm]

    def moments_on(self, e: Entry, day: date) -> list[int]:
        """The moments on `day` at which a dose of `e` was or is expected."""
        if not e.dated_on(day):
            return []
        out = []
        for hhmm in e.times:
            at = self.moment(day, hhmm)
            if at is not None and e.expected_at(at):
                out.append(at)
        return out


@dataclass(frozen=True, slots=True)
class SlotDose:
    """A dose at a moment with the medicine it is of (for reminders and answers)."""

    dose: Dose
    entry: Entry


def same_ingredient(entries: Sequence[Entry], ingredient: str, skip: int = 0) -> list[Entry]:
    """Active entries with this active ingredient (other than entry `skip`)."""
    if not ingredient:
        return []
    return [e for e in entries if e.ingredient == ingredient and e.id != skip and e.active]


def duplicates(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
    """Active ingredients that two or more active entries share."""
    found: dict[str, list[Entry]] = {}
    for e in entries:
        if e.active and e.ingredient:
            found.setdefault(e.ingredient, []).append(e)
    return {k: v for k, v in found.items() if len(v) > 1}


class MedicineService:
    def __init__(
        self,
        store: MedicineStore,
        outbox: OutboxStore,
        dispatcher: Dispatcher,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.dispatcher = dispatcher
        self.settings = settings
        self.clock = clock
        self.tz = settings.tz
        self.cap = parse_cap(settings.extra.get("DOORSTEP_MEDS_HOURS"))
        self._catalog: MedicineCatalog | None = None

    @property
    def catalog(self) -> MedicineCatalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.settings.content_dir / "medicines")
        return self._catalog

    def now_ts(self) -> int:
        return int(self.clock().timestamp())

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    def planner(self) -> DayPlanner:
        return DayPlanner(self.tz, self.cap)

    def at_local(self, ts: int) -> datetime:
        return datetime.fromtimestamp(ts, self.tz)

    # -- entries --------------------------------------------------------------------------
    async def entries(self, resident_id: int) -> list[Entry]:
        return await self.store.entries(resident_id)

    async def add(self, resident_id: int, e: NewEntry) -> tuple[int, list[int]]:
        """Save a medicine and plan its doses of today and tomorrow; (entry id, moments of
        the reminders now planned for the resident from now on)."""
        if not e.times or len(e.times) > MAX_TIMES_PER_DAY:
            raise UserError("Please choose between one and six times a day.")
        for hhmm in e.times:
            t = parse_hhmm(hhmm)
            if t is None:
                raise UserError("Please choose the time again.")
        if e.end_on is not None and e.end_on < e.start_on:
            raise UserError("The end date must not be before the start.")
        if len(await self.store.entries(resident_id)) >= MAX_ENTRIES:
            raise UserError("You have 20 medicines on your list, the most it can hold.")
        entry_id = await self.store.add(resident_id, e, self.now_ts())
        await self.plan_resident(resident_id)
        return entry_id, await self.upcoming_reminders(resident_id)

    async def set_dose(self, resident_id: int, entry_id: int, amount: str, unit: str) -> bool:
        return await self.store.set_dose(resident_id, entry_id, amount, unit)

    async def stop(self, resident_id: int, entry_id: int) -> Stopped | None:
        """Stop a medicine now: its pending reminders are cancelled at once, except those of
        moments another active medicine shares (they go on, composed without it when sent).
        What the stop did, read back from the rows (None: it was not active)."""
        entries = await self.store.entries(resident_id)
        stopping = next((e for e in entries if e.id == entry_id), None)
        others = [e for e in entries if e.id != entry_id]
        keys = [
            key
            for key, at in await self.store.pending_reminders(resident_id)
            if not any(self._expected(e, at) for e in others)
        ]
        done = await self.store.stop(resident_id, entry_id, self.now_ts(), keys)
        if done is None or stopping is None:
            return None
        cancelled, pending = done
        left = sorted({at for _, at in pending})
        return Stopped(
            cancelled=tuple(sorted(set(cancelled))),
            kept=tuple(at for at in left if self._expected(stopping, at)),
            left=tuple(left),
        )

    def expected(self, e: Entry, at: int) -> bool:
        """Whether a dose of `e` is expected at moment `at` (its dates, times and life)."""
        return self._expected(e, at)

    def _expected(self, e: Entry, at: int) -> bool:
        return at in self.planner().moments_on(e, self.at_local(at).date())

    # -- planning -------------------------------------------------------------------------
    async def plan_resident(self, resident_id: int) -> int:
        """Plan the rest of today and all of tomorrow for one resident (after a change)."""
        now = self.now_ts()
        entries = await self.store.entries(resident_id)
        planner = self.planner()
        reminders: list[tuple[Any, ...]] = []
        for day in (self.today(), self.today() + timedelta(days=1)):
            times = ",".join(t for e in entries if e.dated_on(day) for t in e.times)
            reminders += planner.plan([(resident_id, times)] if times else [], day, now, now)
        added = await self.store.write_plan(reminders)
        self.wake_delivery()
        return added

    async def plan_day(self, day: date) -> int:
        """Plan `day`'s reminders for every reachable resident with medicines, a page at a
        time: the rows added (existing ones stay as they are)."""
        now = self.now_ts()
        planner = self.planner()
        after, added = 0, 0
        # The writer thread inserts one page while this task reads and plans the next.
        writing: asyncio.Task[int] | None = None
        while True:
            page = await self.store.plan_rows(day, after, PLAN_PAGE)
            if not page:
                break
            rows = planner.plan(page, day, now, now)
            if writing is not None:
                added += await writing
            writing = asyncio.ensure_future(self._write_page(rows))
            after = page[-1][0]
        if writing is not None:
            added += await writing
        self.wake_delivery()
        return added

    async def _write_page(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Write one page of the plan; if the page fails, each row on its own, so one bad row
        costs only that resident their reminder, never the rest of the district's."""
        try:
            return await self.store.write_plan(rows)
        except Exception:
            log.exception(
                "medicine plan page of %d rows failed; writing rows one by one", len(rows)
            )
        added = 0
        for row in rows:
            try:
                added += await self.store.write_plan([row])
            except Exception:
                log.exception("medicine plan row skipped (outbox row for resident id %s)", row[0])
        return added

    def wake_delivery(self) -> None:
        """Wake the dispatcher for rows due now (it also finds them within a second)."""
        if self.dispatcher.running:
            self.dispatcher.poke()

    async def plan_repeats(self) -> int:
        """Plan the gentle repeat of every first reminder sent and still unanswered whose
        repeat falls due within the next minute (or fell due in the last half hour: a
        process that was down catches up); the rows added."""
        now = self.now_ts()
        added = await self.store.plan_repeats(
            now - REPEAT_AFTER_S - REPEAT_CATCH_UP_S, now - REPEAT_AFTER_S + 60, REPEAT_AFTER_S, now
        )
        if added:
            self.wake_delivery()
        return added

    async def reminder_row(self, resident_id: int, row_id: int) -> OutboxRow | None:
        """A dose reminder of this resident by its row id (its buttons carry it), else None."""
        row = await self.outbox.get(row_id)
        if row is None or row.kind != DOSE_KIND or row.resident_id != resident_id:
            return None
        return row

    async def upcoming_reminders(self, resident_id: int) -> list[int]:
        """Moments (unix seconds) of the resident's pending first reminders, from the rows."""
        rows = await self.outbox.for_resident(resident_id, DOSE_KIND)
        return sorted(
            {int(r.params["at"]) for r in rows if r.status == "pending" and r.key == "due"}
        )

    # -- answers --------------------------------------------------------------------------
    async def slot(self, resident_id: int, at: int) -> list[SlotDose]:
        """The doses of active medicines expected at moment `at`, with their status."""
        entries = [e for e in await self.store.entries(resident_id) if self._expected(e, at)]
        answers = await self.store.answers([resident_id], at, at + 1)
        now = self.now_ts()
        out = []
        for e in entries:
            status, answered = answers.get((e.id, at), (None, None))
            out.append(SlotDose(Dose(e.id, at, dose_status(status, at, now), answered), e))
        return out

    async def today_moments(self, resident_id: int) -> list[tuple[int, list[SlotDose]]]:
        """Today's moments with their doses, in time order (the list's "Today" lines)."""
        day = self.today()
        planner = self.planner()
        entries = await self.store.entries(resident_id)
        moments = sorted({at for e in entries for at in planner.moments_on(e, day)})
        return [(at, await self.slot(resident_id, at)) for at in moments]

    async def answer(self, resident_id: int, at: int, taken: bool) -> int:
        """Record taken / skipped for the moment's open doses; the doses answered."""
        status = DoseStatus.TAKEN if taken else DoseStatus.SKIPPED
        open_ids = [
            d.entry.id
            for d in await self.slot(resident_id, at)
            if d.dose.status in (DoseStatus.DUE, DoseStatus.MISSED)
        ]
        return await self.store.answer(resident_id, at, open_ids, status, self.now_ts())

    async def snooze(self, resident_id: int, at: int, from_row: int) -> tuple[bool, int]:
        """Remind again in 30 minutes; (newly planned, when the later reminder is due)."""
        now = self.clock()
        due = now + timedelta(seconds=SNOOZE_S)
        row = Planned(
            resident_id=resident_id,
            kind=DOSE_KIND,
            key="later",
            due_at=due,
            dedupe_key=f"mdz:{resident_id}:{at}:{from_row}",
            params={"at": at},
            expires_at=due + timedelta(seconds=REMINDER_LIFETIME_S),
            urgent=True,
        )
        added = await self.store.snooze(resident_id, at, row, int(now.timestamp()))
        self.wake_delivery()
        stored = await self.outbox.by_dedupe(row.dedupe_key)
        return added, int((stored.due_at if stored else due).timestamp())

    # -- adherence ------------------------------------------------------------------------
    def _count(
        self,
        entries: Sequence[Entry],
        answers: dict[tuple[int, int], tuple[str, int]],
        first: date,
        n: int,
        until: int | None = None,
    ) -> list[DayCount]:
        now = self.now_ts()
        planner = self.planner()
        out = []
        for i in range(n):
            day = first + timedelta(days=i)
            c = {s: 0 for s in DoseStatus}
            for e in entries:
                for at in planner.moments_on(e, day):
                    if until is None or at <= until:
                        c[dose_status(answers.get((e.id, at), (None, 0))[0], at, now)] += 1
            out.append(
                DayCount(
                    day,
                    c[DoseStatus.TAKEN],
                    c[DoseStatus.SKIPPED],
                    c[DoseStatus.MISSED],
                    c[DoseStatus.DUE],
                )
            )
        return out

    def _bounds(self, first: date, n: int) -> tuple[int, int]:
        lo = int(datetime.combine(first, time(0), tzinfo=self.tz).timestamp())
        end = first + timedelta(days=n)
        return lo, int(datetime.combine(end, time(0), tzinfo=self.tz).timestamp())

    async def days(self, resident_id: int, first: date, n: int = 7) -> list[DayCount]:
        """Taken / skipped / missed / still open per local day, `n` days from `first`."""
        lo, hi = self._bounds(first, n)
        entries = (await self.store.entries_of([resident_id], stopped_since=lo)).get(
            resident_id, []
        )
        return self._count(entries, await self.store.answers([resident_id], lo, hi), first, n)

    async def not_taken(self, resident_ids: Sequence[int], days: int = FLAG_DAYS) -> dict[int, int]:
        """Doses skipped or missed in the last `days` days (today included), by resident."""
        now = self.now_ts()
        first = self.today() - timedelta(days=days - 1)
        lo, hi = self._bounds(first, days)
        by_resident = await self.store.entries_of(resident_ids, stopped_since=lo)
        answers = await self.store.answers(list(by_resident), lo, hi)
        out = {}
        for rid, entries in by_resident.items():
            counts = self._count(entries, answers, first, days, until=now)
            out[rid] = sum(d.not_taken for d in counts)
        return out

    # -- the weekly summary ---------------------------------------------------------------
    def last_week(self) -> date:
        """The Monday starting the last full week (Monday to Sunday) before today."""
        today = self.today()
        return today - timedelta(days=today.weekday() + 7)

    async def plan_weekly(self) -> int:
        """Plan last week's summary for every reachable resident who had doses in it."""
        first = self.last_week()
        lo = int(datetime.combine(first, time(0), tzinfo=self.tz).timestamp())
        hi = lo + 7 * 86400 + 3600  # a DST change cannot cut the last day short
        now = self.clock()
        rows = [
            Planned(
                resident_id=rid,
                kind=WEEKLY_KIND,
                key="week",
                due_at=now,
                dedupe_key=f"mdw:{rid}:{first.isoformat()}",
                params={"from": first.isoformat()},
                expires_at=now + timedelta(days=2),
            )
            for rid in await self.store.residents_with_medicines(lo, hi)
        ]
        added = await self.outbox.plan(rows, now)
        self.wake_delivery()
        return added
