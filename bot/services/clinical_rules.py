"""Load and validate the clinical rules (content/clinical/*.yaml) into bot.domain.clinical records.

Validation collects every problem (so an editor sees all mistakes at once) and refuses:
a rule or advice text without a source, a quote, a place in the source or a review date; an
unknown source, action, direction, setting, quantity or person attribute; a band off its
quantity's step or outside its range; and, for every quantity, setting and kind of person, any
gap or overlap between the bands that apply. `doorstep content check` runs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from bot.domain.clinical import (
    PERSON_ATTRIBUTES,
    Action,
    Citation,
    Direction,
    Measure,
    Quantity,
    Rule,
    Source,
    Special,
    every_person,
)
from bot.services.clinical_advice import ADVICE, FIRST_AID, SIGNS

SPECIAL_KINDS = ("display", "below", "above", "event")


# Words that state how urgent something is, where to go or when to recheck: in a reading's
# reply these come from the one decided action only (bot/services/clinical_reply.py), never
# from an advice text (issue 15 audit, findings 1 and 3).
def _words(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(w, re.IGNORECASE) for w in patterns)


URGENCY_WORDS = _words(
    r"\b120\b",
    r"\btoday\b",
    r"\bnow\b.*\bdoctor\b|\bdoctor\b.*\bnow\b",
    r"emergency department|急诊",
    r"\burgent",
)
RECHECK_WORDS = _words(
    r"another day|\blater\b|\bagain in\b|measure again", r"within \d+ (?:days|weeks)"
)
DISPLAYS = ("HI", "LO")
SOURCES_FILE = "sources.yaml"
ADVICE_FILE = "advice.yaml"


class RulesError(ValueError):
    """The clinical content is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class AdviceSource:
    id: str
    citation: Citation
    last_reviewed: date


@dataclass(frozen=True)
class ClinicalContent:
    """Every measure's rules, the sources they cite and where each advice text comes from."""

    measures: Mapping[str, Measure]
    sources: Mapping[str, Source]
    advice: Mapping[str, AdviceSource] = field(default_factory=dict)

    def measure(self, name: str) -> Measure:
        return self.measures[name]


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def _read(path: Path, p: _Problems) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        p.add(str(path), f"cannot read: {exc.strerror or exc}")
    except yaml.YAMLError as exc:
        p.add(str(path), f"not valid YAML: {exc}")
    return None


def _date(value: Any, where: str, p: _Problems) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        p.add(where, f"'last_reviewed' must be a date YYYY-MM-DD, got {value!r}")
        return None


def _decimal(value: Any, where: str, p: _Problems) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        p.add(where, f"must be a number, got {value!r}")
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        p.add(where, f"must be a number, got {value!r}")
        return None


def _sources(raw: Any, where: str, p: _Problems) -> dict[str, Source]:
    out: dict[str, Source] = {}
    items = raw.get("sources") if isinstance(raw, Mapping) else None
    if not isinstance(items, Mapping) or not items:
        p.add(where, "'sources' must map keys to documents")
        return out
    for key, s in items.items():
        if not isinstance(s, Mapping):
            p.add(f"{where}: {key}", "must be a mapping")
            continue
        missing = [
            k for k in ("title_zh", "title_en", "edition", "year", "publisher") if not s.get(k)
        ]
        if missing:
            p.add(f"{where}: {key}", f"missing {', '.join(missing)}")
            continue
        out[str(key)] = Source(
            str(key),
            str(s["title_zh"]),
            str(s["title_en"]),
            str(s["edition"]),
            int(s["year"]),
            str(s["publisher"]),
        )
    return out


def _citation(raw: Any, where: str, sources: Mapping[str, Source], p: _Problems) -> Citation | None:
    if not isinstance(raw, Mapping):
        p.add(where, "has no source: 'cite' with source, where, quote is required")
        return None
    key = raw.get("source")
    if not key:
        p.add(where, "has no source ('cite: source:')")
        return None
    if key not in sources:
        p.add(where, f"unknown source {key!r} (not in {SOURCES_FILE})")
        return None
    quote, at = raw.get("quote"), raw.get("where")
    if not isinstance(quote, str) or not quote.strip():
        p.add(where, "the source's rule must be quoted ('cite: quote:')")
        return None
    if not isinstance(at, str) or not at.strip():
        p.add(where, "say where in the source the rule is ('cite: where:')")
        return None
    verbatim = raw.get("verbatim")
    if not isinstance(verbatim, bool):
        p.add(where, "'cite: verbatim:' must be true or false")
        return None
    interp = raw.get("interpretation")
    if interp is not None and (not isinstance(interp, str) or not interp.strip()):
        p.add(where, "'interpretation' must be text")
        interp = None
    return Citation(sources[key], quote.strip(), at.strip(), verbatim, interp)


def _advice_ids(raw: Any, where: str, p: _Problems) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        p.add(where, "'advice' must be a list of text ids")
        return ()
    for a in raw:
        if a not in ADVICE:
            p.add(where, f"unknown advice text id {a!r} (not in bot/services/clinical_advice.py)")
    return tuple(raw)


def _choice(raw: Any, allowed: Iterable[str], what: str, where: str, p: _Problems) -> str | None:
    allowed = tuple(allowed)
    if raw not in allowed:
        p.add(where, f"unknown {what} {raw!r} (one of {', '.join(allowed)})")
        return None
    return str(raw)


def _who(raw: Any, where: str, p: _Problems) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        p.add(where, "'who' must map person attributes to values")
        return ()
    out = []
    for attr, value in raw.items():
        if attr not in PERSON_ATTRIBUTES:
            p.add(where, f"unknown person attribute {attr!r} ({', '.join(PERSON_ATTRIBUTES)})")
            continue
        values = value if isinstance(value, list) else [value]
        norm = tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
        bad = [v for v in norm if v not in PERSON_ATTRIBUTES[attr]]
        if bad or not norm:
            p.add(where, f"{attr}: unknown value(s) {bad} ({', '.join(PERSON_ATTRIBUTES[attr])})")
            continue
        out.append((str(attr), norm))
    return tuple(out)


def _on_grid(value: Decimal, q: Quantity) -> bool:
    return ((value - q.low) % q.step) == 0


def _measure(raw: Any, origin: str, sources: Mapping[str, Source], p: _Problems) -> Measure | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("measure"), str):
        p.add(origin, "must be a mapping with 'measure:'")
        return None
    name = raw["measure"]
    if Path(origin).stem != name:
        p.add(origin, f"file name must be the measure's name ({name}.yaml)")
    settings = raw.get("settings") or []
    if not isinstance(settings, list) or not all(isinstance(s, str) for s in settings):
        p.add(origin, "'settings' must be a list")
        settings = []
    quantities: list[Quantity] = []
    for qname, q in (raw.get("quantities") or {}).items():
        where = f"{origin}: quantity {qname}"
        if not isinstance(q, Mapping):
            p.add(where, "must be a mapping")
            continue
        low, high, step = (_decimal(q.get(k), f"{where}: {k}", p) for k in ("low", "high", "step"))
        if low is None or high is None or step is None or step <= 0 or low >= high:
            p.add(where, "needs low < high and a positive step")
            continue
        quantities.append(Quantity(str(qname), low, high, step, str(q.get("unit", ""))))
    by_q = {q.name: q for q in quantities}
    rules: list[Rule] = []
    for i, r in enumerate(raw.get("rules") or []):
        rid = r.get("id") if isinstance(r, Mapping) else None
        where = f"{origin}: rule {rid or f'#{i + 1}'}"
        if not isinstance(r, Mapping) or not isinstance(rid, str):
            p.add(where, "needs an 'id'")
            continue
        cite = _citation(r.get("cite"), where, sources, p)
        reviewed = _date(r.get("last_reviewed"), where, p) if "last_reviewed" in r else None
        if reviewed is None and "last_reviewed" not in r:
            p.add(where, "has no 'last_reviewed' date")
        action = _choice(r.get("action"), (a.value for a in Action), "action", where, p)
        direction = _choice(r.get("direction"), (d.value for d in Direction), "direction", where, p)
        q = by_q.get(str(r.get("quantity")))
        if q is None:
            p.add(where, f"unknown quantity {r.get('quantity')!r}")
        rng = r.get("range")
        bounds: tuple[Decimal | None, Decimal | None] = (None, None)
        if not isinstance(rng, list) or len(rng) != 2:
            p.add(where, "'range' must be [low, high] (both inclusive)")
        else:
            bounds = (_decimal(rng[0], where, p), _decimal(rng[1], where, p))
        rsettings = r.get("settings") or []
        for s in rsettings:
            if s not in settings:
                p.add(where, f"unknown setting {s!r} (the measure's: {', '.join(settings)})")
        if not rsettings:
            p.add(where, "'settings' must list at least one setting")
        who = _who(r.get("who"), where, p)
        advice = _advice_ids(r.get("advice"), where, p)
        lo, hi = bounds
        if q is not None and lo is not None and hi is not None:
            if lo > hi:
                p.add(where, f"range [{lo}, {hi}] is upside down")
            if lo < q.low or hi > q.high:
                p.add(where, f"range [{lo}, {hi}] leaves the entry range [{q.low}, {q.high}]")
            if not (_on_grid(lo, q) and _on_grid(hi, q)):
                p.add(where, f"range [{lo}, {hi}] is not on the step {q.step}")
        if action == Action.ON_TARGET and direction != Direction.IN_RANGE:
            p.add(where, "an on_target rule must have direction in_range")
        if direction == Direction.IN_RANGE and action != Action.ON_TARGET:
            p.add(where, "a band in range must be on_target")
        if None in (cite, reviewed, action, direction, q, lo, hi):
            continue
        assert (
            cite and reviewed and action and direction and q and lo is not None and hi is not None
        )
        rules.append(
            Rule(
                rid,
                name,
                q.name,
                lo,
                hi,
                tuple(rsettings),
                who,
                Direction(direction),
                Action(action),
                advice,
                cite,
                reviewed,
            )
        )
    specials: list[Special] = []
    for i, s in enumerate(raw.get("specials") or []):
        sid = s.get("id") if isinstance(s, Mapping) else None
        where = f"{origin}: special {sid or f'#{i + 1}'}"
        if not isinstance(s, Mapping) or not isinstance(sid, str):
            p.add(where, "needs an 'id'")
            continue
        kind = _choice(s.get("kind"), SPECIAL_KINDS, "kind", where, p)
        key = s.get("key")
        if kind == "display" and key not in DISPLAYS:
            p.add(where, f"a display must be one of {', '.join(DISPLAYS)}")
        if kind in ("below", "above") and key not in by_q:
            p.add(where, f"unknown quantity {key!r}")
        cite = _citation(s.get("cite"), where, sources, p)
        reviewed = _date(s.get("last_reviewed"), where, p) if "last_reviewed" in s else None
        if "last_reviewed" not in s:
            p.add(where, "has no 'last_reviewed' date")
        action = _choice(s.get("action"), (a.value for a in Action), "action", where, p)
        direction = _choice(s.get("direction"), (d.value for d in Direction), "direction", where, p)
        advice = _advice_ids(s.get("advice"), where, p)
        if None in (kind, cite, reviewed, action, direction) or not isinstance(key, str):
            continue
        assert kind and cite and reviewed and action and direction
        specials.append(
            Special(
                sid, name, kind, key, Direction(direction), Action(action), advice, cite, reviewed
            )
        )
    measure = Measure(name, tuple(settings), tuple(quantities), tuple(rules), tuple(specials))
    _coverage(measure, origin, p)
    return measure


def _coverage(m: Measure, origin: str, p: _Problems) -> None:
    """For every quantity, setting and kind of person: the bands cover the range exactly."""
    for q in m.quantities:
        for setting in m.settings:
            for person in every_person():
                bands = sorted(
                    (r for r in m.rules if r.quantity == q.name and r.applies(person, setting)),
                    key=lambda r: (r.low, r.high),
                )
                who = f"{q.name}, {setting}, {_describe(person)}"
                if not bands:
                    p.add(origin, f"no rule for {who}")
                    continue
                expect = q.low
                for band in bands:
                    if band.low > expect:
                        p.add(
                            origin, f"gap {expect}–{band.low - q.step} for {who} (before {band.id})"
                        )
                    elif band.low < expect:
                        p.add(origin, f"overlap at {band.low} for {who} ({band.id})")
                    expect = max(expect, band.high + q.step)
                if expect <= q.high:
                    p.add(origin, f"gap {expect}–{q.high} for {who}")


def _describe(person: Any) -> str:
    return (
        f"diabetes={'yes' if person.diabetes else 'no'}, "
        f"65+={'yes' if person.age65 else 'no'}, pregnancy={person.pregnancy.value}"
    )


def load_content(directory: Path) -> ClinicalContent:
    """Read and validate every file of content/clinical; RulesError lists every problem."""
    p = _Problems()
    directory = Path(directory)
    sources = _sources(_read(directory / SOURCES_FILE, p), SOURCES_FILE, p)
    measures: dict[str, Measure] = {}
    files = sorted(f for f in directory.glob("*.yaml") if f.name not in (SOURCES_FILE, ADVICE_FILE))
    if not files:
        p.add(str(directory), "no measure files")
    for f in files:
        raw = _read(f, p)
        if raw is None:
            continue
        m = _measure(raw, f.name, sources, p)
        if m is not None:
            if m.name in measures:
                p.add(f.name, f"measure {m.name} appears twice")
            measures[m.name] = m
    every: list[Rule | Special] = []
    for m in measures.values():
        every.extend(m.rules)
        every.extend(m.specials)
    ids = [r.id for r in every]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        p.add("rules", f"id {dup} is used more than once")
    advice = _advice(_read(directory / ADVICE_FILE, p), sources, p)
    used = {a for r in every for a in r.advice}
    for a in sorted(used - set(advice)):
        p.add(ADVICE_FILE, f"advice text {a!r} has no source")
    for a in sorted(set(advice) - set(ADVICE)):
        p.add(ADVICE_FILE, f"{a!r} is not a known advice text")
    for r in every:
        if set(r.advice) & FIRST_AID and r.action not in (Action.COME_TODAY, Action.CALL_120):
            # First aid carries its own 15-minute recheck: never beside a "recheck" line.
            p.add("rules", f"{r.id}: first-aid advice belongs to an urgent action only")
    for a in sorted(set(ADVICE) - SIGNS):
        words = URGENCY_WORDS + (() if a in FIRST_AID else RECHECK_WORDS)
        said = [w for w in words if w.search(ADVICE[a])]
        if said:
            p.add(
                "bot/services/clinical_advice.py",
                f"{a!r} names an urgency ({said[0].pattern}): only the decided action may "
                "(bot/services/clinical_reply.py), or a sign list in SIGNS",
            )
    if p.items:
        raise RulesError(p.items)
    return ClinicalContent(measures, sources, advice)


def _advice(raw: Any, sources: Mapping[str, Source], p: _Problems) -> dict[str, AdviceSource]:
    out: dict[str, AdviceSource] = {}
    items = raw.get("advice") if isinstance(raw, Mapping) else None
    if not isinstance(items, Mapping):
        p.add(ADVICE_FILE, "'advice' must map text ids to their sources")
        return out
    for key, a in items.items():
        where = f"{ADVICE_FILE}: {key}"
        if not isinstance(a, Mapping):
            p.add(where, "must be a mapping with cite and last_reviewed")
            continue
        cite = _citation(a.get("cite"), where, sources, p)
        if "last_reviewed" not in a:
            p.add(where, "has no 'last_reviewed' date")
            continue
        reviewed = _date(a.get("last_reviewed"), where, p)
        if cite and reviewed:
            out[str(key)] = AdviceSource(str(key), cite, reviewed)
    return out
