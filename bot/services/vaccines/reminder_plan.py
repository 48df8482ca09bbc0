"""Children's vaccine reminders as outbox rows, and re-planning them without ever doubling one.

One row per guardian, child and reminder date: the engine's reminders falling on the same day
(HepB-3 and MPSV-A-1 at 6 months) become one message. The row's dedupe key is built from the
engine's `Reminder.key`s, which stay the same until a reminder's date or kind changes, so:

- planning again (daily, or after any edit) finds the same keys and adds nothing;
- an edit that moves a date or completes a dose changes the key: the old pending row is
  cancelled (it is no longer wanted) and the new one planned.

Keys: ``vx:<child id, 10 digits>:<resident id>:<date>:<digest of the reminder keys>`` and
``vx:<child>:<resident>:<dose>:ask_centre`` (no date: one message, however often we plan).
Zero-padded child ids sort like numbers, so the daily job reads the pending keys of a batch of
children with one range query. "Remind me in 3 days" rows live under ``vxz:`` and are never
cancelled by a re-plan (the renderer drops doses done meanwhile).

Only reminders within `HORIZON` are stored; later ones are planned as they come closer.

The daily job plans every child. Children born on the same day with the same doses on the same
dates (most parents tap "all up to today") have the same plan, so it is made once per such
cohort (`MessageCache`) as `Message` templates, and each child's rows are filled in from them
as plain outbox row values. `child_rows` is the same thing one child at a time, as `Planned`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from bot.domain.clock import Clock
from bot.domain.outbox import OutboxRow, Planned
from bot.domain.vaccines import ChildDoses, ChildRecord
from bot.services.vaccines.engine import Plan, PlanInputError, Planner
from bot.services.vaccines.reminders import ReminderKind, next_reminders
from bot.services.vaccines.schedule import choices_from_settings, load_schedule_set
from bot.storage.outbox import OutboxStore
from bot.storage.vaccines import VaccineStore, parse_doses

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

KIND = "vaccine"
CHILD_KEY = "child"
ASK_KEY = "ask_centre"
SNOOZE_KEY = "snoozed"
HORIZON = timedelta(days=60)
SEND_AT = time(9, 30)
# A weekly reminder not sent within 6 days (the bot was down) is dropped: the next one comes.
EXPIRES_AFTER = timedelta(days=6)
SNOOZE = timedelta(days=3)
BATCH = 2000
# Positions in an outbox row's values (bot.storage.outbox.row_values).
_DUE, _EXPIRES, _DEDUPE = 3, 4, 6


def child_prefix(child_id: int) -> str:
    return f"vx:{child_id:010d}:"


def snooze_prefix(child_id: int) -> str:
    return f"vxz:{child_id:010d}:"


def send_time(on: date, tz: tzinfo) -> datetime:
    return datetime.combine(on, SEND_AT, tzinfo=tz)


@dataclass(frozen=True, slots=True)
class Message:
    """One reminder message of a child's plan, without the child or its guardians.

    Children with the same birth date and doses get the same messages, so the daily job plans
    each such cohort once (see `MessageCache`) and only fills in child and guardian ids.
    """

    key: str  # CHILD_KEY or ASK_KEY
    on: date
    due_at: datetime
    tail: str  # the dedupe key after "<child prefix><guardian>:"
    doses: tuple[tuple[str, str], ...]  # (dose, reminder kind)
    # The outbox payload (JSON, as `row_values` writes it) around the child id, and the times
    # as stored: made once per message rather than once per row.
    payload_head: str
    payload_tail: str
    due_ts: int
    expires_ts: int


# Cohorts planned on one day share many messages (the same doses falling due on the same day).
@functools.lru_cache(maxsize=8192)
def _message(
    key: str, on: date, tail: str, doses: tuple[tuple[str, str], ...], tz: tzinfo
) -> Message:
    due = send_time(on, tz)
    day = on.isoformat()
    # json.dumps(..., sort_keys=True) orders params as child, doses, on: the child id is the
    # only part that differs between children.
    head = '{"key": ' + json.dumps(key, ensure_ascii=False) + ', "params": {"child": '
    rest = json.dumps([list(d) for d in doses], ensure_ascii=False)
    tail_json = ', "doses": ' + rest + ', "on": ' + json.dumps(day) + "}}"
    return Message(
        key,
        on,
        due,
        tail,
        doses,
        head,
        tail_json,
        int(due.timestamp()),
        int((due + EXPIRES_AFTER).timestamp()),
    )


def messages(plan: Plan, today: date, tz: tzinfo, horizon: timedelta = HORIZON) -> list[Message]:
    """The messages for one plan's next reminders (pure): ask-the-centre ones first, then one
    per reminder date, by date."""
    last = today + horizon
    groups: dict[date, list[tuple[str, str, str]]] = {}
    out: list[Message] = []
    for r in next_reminders(plan, today):
        if r.on > last:
            continue
        if r.kind is ReminderKind.ASK_CENTRE:
            out.append(_message(ASK_KEY, r.on, r.key, ((r.dose, ASK_KEY),), tz))
            continue
        groups.setdefault(r.on, []).append((r.key, r.dose, str(r.kind)))
    for on, items in sorted(groups.items()):
        items.sort()
        digest = hashlib.blake2b(
            "|".join(k for k, _, _ in items).encode(), digest_size=5
        ).hexdigest()
        out.append(
            _message(
                CHILD_KEY, on, f"{on.isoformat()}:{digest}", tuple((d, k) for _, d, k in items), tz
            )
        )
    return out


def _expand(msgs: Sequence[Message], guardians: Sequence[int]) -> list[tuple[Message, int]]:
    # Row order: ask-the-centre messages each for every guardian, then the dated ones likewise.
    return [(m, g) for m in msgs for g in guardians]


def child_rows(
    child_id: int,
    guardians: Sequence[int],
    plan: Plan,
    today: date,
    tz: tzinfo,
    horizon: timedelta = HORIZON,
) -> list[Planned]:
    """The outbox rows for one child's next reminders (pure)."""
    prefix = child_prefix(child_id)
    return [
        Planned(
            g,
            KIND,
            m.key,
            m.due_at,
            f"{prefix}{g}:{m.tail}",
            {"child": child_id, "doses": [list(d) for d in m.doses], "on": m.on.isoformat()},
            m.due_at + EXPIRES_AFTER,
        )
        for m, g in _expand(messages(plan, today, tz, horizon), guardians)
    ]


def child_values(
    child_id: int, guardians: Sequence[int], msgs: Sequence[Message], now_ts: int
) -> list[tuple[Any, ...]]:
    """The outbox row values (as `row_values` makes them) of one child's messages."""
    cid = str(child_id)
    prefix = child_prefix(child_id)
    if len(guardians) == 1:  # nearly every child: no pairing of messages and guardians
        g = guardians[0]
        key = f"{prefix}{g}:"
        return [
            (
                g,
                KIND,
                m.payload_head + cid + m.payload_tail,
                m.due_ts,
                m.expires_ts,
                0,
                key + m.tail,
                None,
                now_ts,
                now_ts,
            )
            for m in msgs
        ]
    return [
        (
            g,
            KIND,
            m.payload_head + cid + m.payload_tail,
            m.due_ts,
            m.expires_ts,
            0,
            f"{prefix}{g}:{m.tail}",
            None,
            now_ts,
            now_ts,
        )
        for m, g in _expand(msgs, guardians)
    ]


# Distinct (birth date, doses given) cohorts kept by one planning run; beyond this we start
# afresh. An entry is about a kilobyte; the planning job must stay well under 300 MB.
CACHE_SIZE = 50_000


class MessageCache:
    """The messages of each cohort of children planned on one day: same birth date, same doses
    on the same dates (most children recorded "all up to today").

    Keyed on the stored text of the birth date and doses, which determines the engine's input
    exactly: absolute dates, not offsets from birth, since the engine is not shift-invariant
    (editions by date, month-end clamping). `None` marks input the engine refuses.
    """

    def __init__(self, planner: Planner, today: date, tz: tzinfo, size: int = CACHE_SIZE) -> None:
        self.planner = planner
        self.today = today
        self.tz = tz
        self.size = size
        self._known = frozenset(planner.dose_codes)
        self._memo: dict[tuple[str, str, str], list[Message] | None] = {}
        self.hits = self.misses = 0

    def get(self, born: str, doses: str, sex: str = "") -> list[Message] | None:
        """The messages of a child born on `born` given `doses` (`ChildDoses` text), of `sex`
        ('' when not recorded), or None if the engine refuses that input."""
        key = (born, doses, sex)
        memo = self._memo
        if key in memo:
            self.hits += 1
            return memo[key]
        self.misses += 1
        # Doses an operator's new schedule files no longer know are left out, as on the card.
        known = self._known
        given = {k: v for k, v in parse_doses(doses).items() if k in known}
        try:
            plan = self.planner.plan(date.fromisoformat(born), given, self.today, sex=sex or None)
        except PlanInputError:
            result = None
        else:
            result = messages(plan, self.today, self.tz)
        if len(memo) >= self.size:
            memo.clear()
        memo[key] = result
        return result


def load_planner(settings: Settings) -> Planner:
    """The deployment's schedule editions and live/inactivated choices."""
    schedules = load_schedule_set(settings.content_dir / "vaccines")
    return Planner(schedules, choices_from_settings(settings))


class ChildReminders:
    """Plans, re-plans and cancels the reminder rows of children."""

    def __init__(
        self, store: VaccineStore, outbox: OutboxStore, settings: Settings, clock: Clock
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self._planner: Planner | None = None

    async def own_reminder(self, resident_id: int, row_id: int) -> dict[str, Any] | None:
        """The params of a vaccine reminder row sent to this resident, else None (a button
        of someone else's or of another kind of row)."""
        found = await self.store.outbox_row(row_id)
        if found is None or found[0] != resident_id or found[1] != KIND:
            return None
        params = json.loads(found[2]).get("params", {})
        return params if isinstance(params, dict) else {}

    async def pending_for(self, resident_id: int, child_id: int) -> list[OutboxRow]:
        """This guardian's reminder rows about this child still to be sent (snoozes included),
        soonest first: what the child's card may promise."""
        rows = await self.outbox.for_resident(resident_id, KIND)
        return [
            r for r in rows if r.status == "pending" and int(r.params.get("child", 0)) == child_id
        ]

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            self._planner = load_planner(self.settings)
        return self._planner

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    def plan(self, record: ChildRecord, today: date | None = None) -> Plan:
        """The child's plan; doses an operator's new schedule files no longer know are left
        out rather than breaking the child's card."""
        known = set(self.planner.dose_codes)
        given = {k: v for k, v in record.given.items() if k in known}
        return self.planner.plan(
            record.child.born, given, today or self.today(), sex=record.child.sex
        )

    def values(
        self,
        children: Sequence[ChildDoses],
        today: date,
        now_ts: int,
        cache: MessageCache | None = None,
    ) -> list[tuple[Any, ...]]:
        """The outbox row values (as `row_values` makes them) of these children's next
        reminders; `cache` shares plans between children of one day."""
        if cache is None:
            cache = MessageCache(self.planner, today, self.settings.tz)
        out: list[tuple[Any, ...]] = []
        for child in children:
            msgs = cache.get(child.born, child.doses, child.sex)
            if msgs is None:
                log.warning("child %s cannot be planned; no reminders", child.child_id)
            elif msgs:
                out.extend(child_values(child.child_id, child.guardians, msgs, now_ts))
        return out

    async def _apply(self, values: list[tuple[Any, ...]], lo: str, hi: str) -> tuple[int, int]:
        """Make the pending rows with keys in [lo, hi) exactly `values`: (added, cancelled)."""
        now = self.clock()
        pending = await self.store.pending_keys(KIND, lo, hi)
        cancelled = 0
        if pending:
            wanted = {v[_DEDUPE] for v in values}
            stale = sorted(pending - wanted)
            for i in range(0, len(stale), 500):
                cancelled += await self.outbox.cancel(stale[i : i + 500], now)
            fresh = [v for v in values if v[_DEDUPE] not in pending]
        else:
            fresh = values
        added = await self.store.insert_outbox(fresh) if fresh else 0
        if added < len(fresh):
            # Some keys exist (sent, expired or cancelled): bring back the cancelled ones.
            added += await self.store.revive_cancelled(
                KIND,
                [
                    (
                        v[_DEDUPE],
                        datetime.fromtimestamp(v[_DUE], UTC),
                        datetime.fromtimestamp(v[_EXPIRES], UTC),
                    )
                    for v in fresh
                ],
                now,
            )
        return added, cancelled

    async def replan_child(self, child_id: int) -> tuple[int, int]:
        """After an edit: plan this child's reminders and cancel the ones no longer wanted."""
        child = await self.store.doses_of(child_id)
        now_ts = int(self.clock().timestamp())
        values = self.values([child], self.today(), now_ts) if child else []
        prefix = child_prefix(child_id)
        return await self._apply(values, prefix, prefix[:-1] + ";")

    async def cancel_child(self, child_id: int, resident_id: int | None = None) -> int:
        """Cancel a child's pending reminders (all, or one guardian's), snoozes included."""
        now = self.clock()
        tail = f"{resident_id}:" if resident_id is not None else ""
        n = await self.outbox.cancel_prefix(child_prefix(child_id) + tail, now)
        return n + await self.outbox.cancel_prefix(snooze_prefix(child_id) + tail, now)

    async def replan_all(self, batch: int = BATCH) -> tuple[int, int, int]:
        """The daily job: every child, in id batches; (children, rows added, cancelled)."""
        today = self.today()
        cache = MessageCache(self.planner, today, self.settings.tz)
        after = planned = added = cancelled = 0
        while True:
            children = await self.store.doses_after(after, batch)
            if not children:
                break
            last = children[-1].child_id
            now_ts = int(self.clock().timestamp())
            # From just after the previous batch: rows of children deleted in between go too.
            a, c = await self._apply(
                self.values(children, today, now_ts, cache),
                child_prefix(after + 1),
                child_prefix(last)[:-1] + ";",
            )
            planned, added, cancelled = planned + len(children), added + a, cancelled + c
            after = last
        a, c = await self._apply([], child_prefix(after + 1), "vx;")
        added, cancelled = added + a, cancelled + c
        log.info(
            "vaccine reminders: %s children (%s distinct plans), %s rows added, %s cancelled",
            *(planned, cache.misses, added, cancelled),
        )
        return planned, added, cancelled

    async def snooze(
        self, resident_id: int, row_id: int, child_id: int, params: dict[str, Any]
    ) -> list[OutboxRow]:
        """ "Remind me in 3 days": a new row for the same doses; pressing twice adds one row.
        Returns the row as stored (empty if none could be planned), for the answer to quote."""
        due = send_time(self.today() + SNOOZE, self.settings.tz)
        row = Planned(
            resident_id,
            KIND,
            SNOOZE_KEY,
            due,
            f"{snooze_prefix(child_id)}{resident_id}:{row_id}",
            {"child": child_id, "doses": params.get("doses", []), "on": due.date().isoformat()},
            due + EXPIRES_AFTER,
        )
        await self.outbox.plan([row], self.clock())
        return await self.outbox.pending_by_keys([row.dedupe_key])
