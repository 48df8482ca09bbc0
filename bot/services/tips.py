"""Health tips: the content catalog, the choice of the next tip, and the planner.

Content lives in `content/tips/*.yaml` and is validated at start-up into frozen dataclasses.
The order tips are sent in is fixed: files in name order, topics taken in turns, so every
subscriber starts with the hygiene rhyme and then sees a tip from each topic before a second
one from any. `choose_next` is a pure function of that order and the resident's history.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.delivery.eta import SendTimes
from bot.domain.clock import Clock
from bot.domain.outbox import PENDING, Planned
from bot.domain.tips import PlannedTip, Subscription
from bot.i18n import N_, SUPPORTED
from bot.storage.outbox import OutboxStore
from bot.storage.tips import TipStore

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

KIND = "tip"
RHYME_ID = "hygiene-rhyme"
# Keys in content files and callback data; labels are msgids translated where shown.
TOPICS: dict[str, str] = {
    "hygiene": N_("🧼 Hygiene"),
    "nutrition": N_("🥦 Healthy eating"),
    "exercise": N_("🚶 Exercise"),
    "chronic_disease": N_("🩺 Chronic illness"),
    "vaccination": N_("💉 Vaccination"),
    "mental_health": N_("🧠 Mental health"),
    "medication_safety": N_("💊 Safe use of medicines"),
    "smoking_alcohol": N_("🚭 Smoking and alcohol"),
    "seasonal": N_("🌦 Seasonal health"),
}
# Deployment-local times: all outside the default quiet hours (21:00-08:00), so a tip is
# never held back overnight; noon and evening suit people who are busy in the morning.
SLOT_TIMES: dict[str, time] = {
    "morning": time(8, 30),
    "noon": time(12, 0),
    "evening": time(18, 30),
}
TIP_LIFETIME = timedelta(days=1)  # a tip older than a day is stale: the pipeline expires it
MAX_CHARS = 1024  # Telegram allows 4096; a tip should fit a phone screen (and a caption)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")


class ContentError(ValueError):
    """A tips content file is malformed; the message names the file and the tip."""


@dataclass(frozen=True, slots=True)
class Tip:
    id: str
    topic: str
    text: Mapping[str, str]  # locale -> text
    source: Mapping[str, str]  # locale -> source citation

    def text_in(self, locale: str) -> str:
        return self.text.get(locale) or self.text[SUPPORTED[0]]

    def source_in(self, locale: str) -> str:
        return self.source.get(locale) or self.source[SUPPORTED[0]]


@dataclass(frozen=True)
class TipCatalog:
    """All tips: `tips` in file order, `order` the sending order (topics in turns)."""

    tips: tuple[Tip, ...]
    order: tuple[Tip, ...]
    by_id: Mapping[str, Tip]
    _eligible: dict[frozenset[str], tuple[Tip, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def get(self, tip_id: str) -> Tip | None:
        return self.by_id.get(tip_id)

    def eligible(self, topics: frozenset[str]) -> tuple[Tip, ...]:
        """Tips of these topics in sending order (cached: few distinct topic sets exist)."""
        found = self._eligible.get(topics)
        if found is None:
            found = tuple(t for t in self.order if t.topic in topics)
            self._eligible[topics] = found
        return found

    def topics_present(self) -> list[str]:
        return list(self._topics_present)

    @cached_property
    def _topics_present(self) -> tuple[str, ...]:
        # The catalog never changes once loaded, and the tips menu shows this every time.
        return tuple(k for k in TOPICS if any(t.topic == k for t in self.tips))


def build_catalog(tips: Sequence[Tip]) -> TipCatalog:
    by_topic: dict[str, list[Tip]] = {}
    for tip in tips:
        by_topic.setdefault(tip.topic, []).append(tip)
    order: list[Tip] = []
    queues = list(by_topic.values())  # topics in order of first appearance
    depth = max((len(q) for q in queues), default=0)
    for i in range(depth):
        order.extend(q[i] for q in queues if i < len(q))
    return TipCatalog(tuple(tips), tuple(order), {t.id: t for t in tips})


def _localized(value: Any, where: str, what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ContentError(f"{where}: {what} must have zh_Hans and en")
    out: dict[str, str] = {}
    for loc in SUPPORTED:
        text = value.get(loc)
        if not isinstance(text, str) or not text.strip():
            raise ContentError(f"{where}: {what} in {loc} is missing or empty")
        out[loc] = text.strip("\n")
    extra = set(value) - set(SUPPORTED)
    if extra:
        raise ContentError(f"{where}: {what} has unknown languages {sorted(extra)}")
    return out


def parse_tips(data: Any, name: str) -> list[Tip]:
    """Validate one content file's data (already parsed YAML) into tips."""
    if not isinstance(data, dict) or not isinstance(data.get("tips"), list):
        raise ContentError(f"{name}: expected a mapping with a 'tips' list")
    out: list[Tip] = []
    for i, item in enumerate(data["tips"]):
        where = f"{name} tip {i + 1}"
        if not isinstance(item, dict):
            raise ContentError(f"{where}: expected a mapping")
        # last_reviewed: the date a clinician (or the team, against the source) last checked
        # it; `doorstep content report` lists it for the district doctor's sign-off.
        unknown = set(item) - {"id", "topic", "zh_Hans", "en", "source", "last_reviewed"}
        if unknown:
            raise ContentError(f"{where}: unknown fields {sorted(unknown)}")
        tip_id = item.get("id")
        if not isinstance(tip_id, str) or not _ID.match(tip_id):
            raise ContentError(f"{where}: id must be 1-24 of a-z, 0-9, '-' (got {tip_id!r})")
        where = f"{name} tip {tip_id!r}"
        topic = item.get("topic")
        if topic not in TOPICS:
            raise ContentError(f"{where}: unknown topic {topic!r}")
        text = _localized({k: item.get(k) for k in SUPPORTED}, where, "text")
        for loc, value in text.items():
            if len(value) > MAX_CHARS:
                raise ContentError(f"{where}: {loc} text is {len(value)} > {MAX_CHARS} chars")
        source = _localized(item.get("source"), where, "source")
        out.append(Tip(tip_id, topic, text, source))
    return out


def load_catalog(directory: Path) -> TipCatalog:
    """Load and validate every `*.yaml` file in `directory` (name order); ContentError if
    anything is wrong, so a bad edit stops the bot at start-up rather than mid-send."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ContentError(f"no tip files in {directory}")
    tips: list[Tip] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except yaml.YAMLError as exc:
            raise ContentError(f"{path.name}: not valid YAML: {exc}") from exc
        for tip in parse_tips(data, path.name):
            if tip.id in seen:
                raise ContentError(f"{path.name}: id {tip.id!r} already used in {seen[tip.id]}")
            seen[tip.id] = path.name
            tips.append(tip)
    return build_catalog(tips)


def choose_next(
    catalog: TipCatalog, topics: frozenset[str], counts: Mapping[str, int]
) -> Tip | None:
    """The next tip for a resident: the first, in sending order, of the least-sent tips of
    their topics. So no tip comes twice before every tip of those topics has come once."""
    best: Tip | None = None
    best_count = 0
    for tip in catalog.eligible(topics):
        c = counts.get(tip.id, 0)
        if c == 0:
            return tip  # nothing can beat an unsent tip earlier in the order
        if best is None or c < best_count:
            best, best_count = tip, c
    return best


def matches(sub: Subscription, day: date) -> bool:
    return sub.frequency == "daily" or day.weekday() == sub.weekday


def dedupe_key(resident_id: int, day: date) -> str:
    """One tip per resident per local day, whatever planned it."""
    return f"{KIND}:{resident_id}:{day.isoformat()}"


def default_subscription(resident_id: int, catalog: TipCatalog, today: date) -> Subscription:
    return Subscription(
        resident_id=resident_id,
        active=False,
        topics=frozenset(catalog.topics_present()),
        weekday=today.weekday(),
    )


@dataclass(frozen=True, slots=True)
class PlanResult:
    day: date
    subscribers: int
    rows: int


class TipService:
    """Subscriptions and planning."""

    def __init__(
        self,
        store: TipStore,
        outbox: OutboxStore,
        settings: Settings,
        clock: Clock,
        *,
        sandbox: bool = False,
        send_times: SendTimes | None = None,
    ) -> None:
        self.send_times = send_times
        self._store = store
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self.sandbox = sandbox
        self._catalog: TipCatalog | None = None

    @property
    def catalog(self) -> TipCatalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.settings.content_dir / "tips")
        return self._catalog

    @property
    def store(self) -> TipStore:
        return self._store

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.settings.tz)

    def due_at(self, day: date, slot: str) -> datetime:
        return datetime.combine(day, SLOT_TIMES[slot], tzinfo=self.settings.tz)

    def planned(self, sub: Subscription, tip: Tip, day: date, due: datetime) -> Planned:
        return Planned(
            resident_id=sub.resident_id,
            kind=KIND,
            key=tip.id,
            due_at=due,
            dedupe_key=dedupe_key(sub.resident_id, day),
            expires_at=due + TIP_LIFETIME,
        )

    # -- subscriptions --------------------------------------------------------------------
    async def subscription(self, resident_id: int) -> Subscription:
        """The stored settings, or the defaults (off, every topic, mornings, daily)."""
        found = await self.store.get(resident_id)
        return found or default_subscription(resident_id, self.catalog, self.local_now().date())

    async def update(
        self, sub: Subscription, **changes: Any
    ) -> tuple[Subscription, datetime | None]:
        """Save changed settings and move the resident's next tip to match them.

        Returns the new settings and when the next tip goes out (None when tips are off):
        read back from the planned row, after the resident's quiet hours, so what the screen
        promises is what delivery will do.
        """
        new = replace(sub, **changes)
        if not new.topics:
            raise ValueError("a subscription needs at least one topic")
        await self.store.save(new, self.clock())
        due = await self.reschedule(new, first=new.active and not sub.active)
        if due is None or self.send_times is None:
            return new, due
        key = dedupe_key(new.resident_id, due.astimezone(self.settings.tz).date())
        return new, await self.send_times.of(key)

    async def reschedule(self, sub: Subscription, first: bool = False) -> datetime | None:
        """Cancel the resident's pending tip rows and plan the next one for the settings.

        A tip already chosen (and counted) for a cancelled row is reused, so changing the
        time does not skip a tip; turning tips off gives the tip back to the history.
        """
        now = self.clock()
        outbox = self.outbox
        pending = [
            r for r in await outbox.for_resident(sub.resident_id, KIND) if r.status == PENDING
        ]
        if pending:
            await outbox.cancel([r.dedupe_key for r in pending], now)
        if not sub.active:
            if pending:
                await self.store.uncount(sub.resident_id, [r.key for r in pending])
            return None
        reuse = next(
            (
                tip
                for r in pending
                if (tip := self.catalog.get(r.key)) is not None and tip.topic in sub.topics
            ),
            None,
        )
        give_back = [r.key for r in pending]
        if reuse is not None:
            give_back.remove(reuse.id)  # stays counted: it is planned again below
        if give_back:
            await self.store.uncount(sub.resident_id, give_back)
        candidates = list(self._next_slots(sub, now, first))
        taken = await outbox.taken_keys([dedupe_key(sub.resident_id, day) for day, _ in candidates])
        for day, due in candidates:
            if dedupe_key(sub.resident_id, day) in taken:
                continue
            tip = reuse or choose_next(
                self.catalog, sub.topics, await self.store.counts(sub.resident_id)
            )
            if tip is None:
                return None
            added = await self.store.plan(
                [PlannedTip(self.planned(sub, tip, day, due), count=reuse is None)], now
            )
            if added:
                log.info("planned tip for resident %s due %s", sub.resident_id, due.isoformat())
                return due
        return None

    def _next_slots(
        self, sub: Subscription, now: datetime, first: bool = False
    ) -> Iterator[tuple[date, datetime]]:
        """Candidate (local day, due time) pairs, soonest first. In the sandbox, when tips are
        just turned on (`first`), the first one is "now", so a tester who subscribes gets a
        tip at once (quiet hours still apply); a changed time or weekday is always obeyed."""
        local = now.astimezone(self.settings.tz)
        if self.sandbox and first:
            yield local.date(), now
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            due = self.due_at(day, sub.slot)
            if due > now and matches(sub, day):
                yield day, due

    # -- interactive ----------------------------------------------------------------------
    async def feedback(self, resident_id: int, tip_id: str, verdict: str) -> None:
        """Record "helpful" / "fewer like this" on a tip (the latest verdict counts)."""
        await self.store.feedback(resident_id, tip_id, verdict, self.clock())

    async def another(self, resident_id: int, topics: frozenset[str]) -> Tip | None:
        """A tip to show now ("Another tip"), counted so it is not sent again soon."""
        tip = choose_next(self.catalog, topics, await self.store.counts(resident_id))
        if tip is not None:
            await self.store.count(resident_id, tip.id, self.clock())
        return tip

    # -- the nightly planner --------------------------------------------------------------
    async def plan_day(self, day: date, page_size: int = 2000) -> PlanResult:
        """Write `day`'s tip rows for every active subscriber whose frequency includes it.

        Subscribers are streamed in pages (keyset pagination on resident id) and each page's
        history is read with one range scan, so memory stays flat however many subscribers
        there are. The next page is read (on the reader connection) while this one is written
        (on the writer). Residents who already have the day's row are skipped in SQL, so a
        re-run writes nothing and costs one scan.
        """
        catalog = self.catalog
        now = self.clock()
        dues = {slot: self.due_at(day, slot) for slot in SLOT_TIMES}
        prefix, suffix = f"{KIND}:", f":{day.isoformat()}"

        async def read(after: int) -> tuple[list[Subscription], dict[int, dict[str, int]]]:
            page = await self.store.due_page(after, page_size, day.weekday(), prefix, suffix)
            if not page:
                return page, {}
            return page, await self.store.counts_between(page[0].resident_id, page[-1].resident_id)

        subscribers = rows = 0
        # Three stages overlap: reading page n+1 (reader thread), choosing tips for page n
        # (this task) and writing page n-1 (writer thread). Writes stay in page order.
        reading = asyncio.ensure_future(read(0))
        writing: asyncio.Future[int] | None = None
        try:
            while True:
                page, counts = await reading
                if not page:
                    break
                reading = asyncio.ensure_future(read(page[-1].resident_id))
                items: list[PlannedTip] = []
                for sub in page:
                    if not matches(sub, day):
                        continue
                    subscribers += 1
                    tip = choose_next(catalog, sub.topics, counts.get(sub.resident_id, {}))
                    if tip is not None:
                        items.append(PlannedTip(self.planned(sub, tip, day, dues[sub.slot])))
                if writing is not None:
                    rows += await writing
                writing = asyncio.ensure_future(self.store.plan(items, now))
            if writing is not None:
                rows += await writing
                writing = None
        finally:
            for task in (reading, writing):
                if task is not None and not task.done():
                    task.cancel()
        log.info("planned %d tips for %s (%d subscribers due)", rows, day, subscribers)
        return PlanResult(day, subscribers, rows)

    async def plan_today(self) -> PlanResult:
        return await self.plan_day(self.local_now().date())


async def plan_tips(rt: Runtime) -> None:
    """The nightly job: plan today's tips (it runs just after midnight, deployment time)."""
    await rt.services.tips.plan_today()
