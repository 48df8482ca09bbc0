"""Blood-pressure and glucose thresholds stated in FAQ answers and tips agree with the clinical
rules (content/clinical): one source per fact (issue 15/17 audit, finding 6).

The numbers next to those measures are pulled out of every text (both languages) and compared
with the edges of the rules' bands: a blood pressure pair "a/b" must be a pair the rules use
(an on-target limit for some setting and person, or the danger line), and a pair said of home
readings (在家, 家里, "at home", "home readings") the home limit; a systolic or diastolic
number alone must be an edge of that quantity's bands; a glucose value in mmol/L an edge of
the glucose bands. `doorstep content check` runs `problems`; so does a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from bot.domain.clinical import Action, Person, every_person
from bot.domain.questions import FaqEntry
from bot.services.clinical_rules import ClinicalContent
from bot.services.tips import Tip

_SENTENCE = re.compile(r"[。；;！？!?\n]|(?<!\d)\.(?!\d)")
_CLAUSE = re.compile(r"[。；;，,（）()！？!?\n]|(?<!\d)\.(?!\d)")
_BP_WORDS = re.compile(r"血压|mmhg|blood pressure|\bbp\b", re.IGNORECASE)
_GLUCOSE_WORDS = re.compile(r"血糖|mmol|glucose|sugar", re.IGNORECASE)
_HOME = re.compile(
    r"在家|家里|家庭血压|家庭自测|自测|at home|home reading|home monitor", re.IGNORECASE
)
_CLINIC = re.compile(r"诊室|门诊|clinic", re.IGNORECASE)
_PAIR = re.compile(r"(?<!\d)(\d{2,3}) ?/ ?(\d{2,3})(?!\d)")
_SYSTOLIC = (
    re.compile(r"(?:收缩压|高压)\D{0,4}?(\d{2,3})"),
    re.compile(r"(\d{2,3}) (?:mmhg )?systolic", re.IGNORECASE),
    re.compile(r"systolic (?:of |above |below |under )?(\d{2,3})", re.IGNORECASE),
)
_DIASTOLIC = (
    re.compile(r"(?:舒张压|低压)\D{0,4}?(\d{2,3})"),
    re.compile(r"(\d{2,3}) (?:mmhg )?diastolic", re.IGNORECASE),
    re.compile(r"diastolic (?:of |above |below |under )?(\d{2,3})", re.IGNORECASE),
)
_MMOL = re.compile(r"(?<![\d.])(\d{1,2}\.\d)(?![\d])")


def _edges(content: ClinicalContent, measure: str, quantity: str) -> set[Decimal]:
    m = content.measure(measure)
    q = m.quantity(quantity)
    step = q.step if q else Decimal(1)
    out: set[Decimal] = set()
    for r in m.rules:
        if r.quantity == quantity:
            out |= {r.low, r.high + step}
    return out


def _ok_limit(content: ClinicalContent, setting: str, person: Person) -> tuple[int, int] | None:
    """The first value above the on-target band of systolic and diastolic ("135/85")."""
    m = content.measure("blood_pressure")
    limit: list[int] = []
    for quantity in ("systolic", "diastolic"):
        ok = [
            r
            for r in m.rules
            if r.quantity == quantity
            and r.action is Action.ON_TARGET
            and r.applies(person, setting)
        ]
        if not ok:
            return None
        limit.append(int(max(r.high for r in ok)) + 1)
    return limit[0], limit[1]


def bp_pairs(content: ClinicalContent) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(every pair the rules use, the pairs of home readings)."""
    every: set[tuple[int, int]] = set()
    home: set[tuple[int, int]] = set()
    for setting in content.measure("blood_pressure").settings:
        for person in every_person():
            pair = _ok_limit(content, setting, person)
            if pair is not None:
                every.add(pair)
                if setting == "home":
                    home.add(pair)
    danger = [
        r
        for r in content.measure("blood_pressure").rules
        if r.action is not Action.ON_TARGET and r.direction.value == "high"
    ]
    sys = min((r.low for r in danger if r.quantity == "systolic" and r.high >= 260), default=None)
    dia = min((r.low for r in danger if r.quantity == "diastolic" and r.high >= 160), default=None)
    if sys is not None and dia is not None:
        every.add((int(sys), int(dia)))
    return every, home


def _clauses(text: str) -> Iterator[str]:
    for part in _CLAUSE.split(text):
        if part.strip():
            yield part


def text_problems(content: ClinicalContent, where: str, text: str) -> list[str]:
    """What in one text disagrees with the rules."""
    problems: list[str] = []
    every, home = bp_pairs(content)
    sys_edges = _edges(content, "blood_pressure", "systolic")
    dia_edges = _edges(content, "blood_pressure", "diastolic")
    gl_edges = _edges(content, "glucose", "glucose")
    bp_text = bool(_BP_WORDS.search(text))
    prev = ""
    for clause in _clauses(text):
        # "在家自测的标准更低，要低于135/85": the home words may lead the clause before.
        lead = prev if not _PAIR.search(prev) else ""
        prev = clause
        if bp_text:
            for m in _PAIR.finditer(clause):
                pair = (int(m.group(1)), int(m.group(2)))
                said_home = bool(_HOME.search(clause) or _HOME.search(lead)) and not (
                    _CLINIC.search(clause)
                )
                allowed = home if said_home else every
                if pair not in allowed:
                    kind = "a home blood pressure" if said_home else "a blood pressure"
                    want = ", ".join(f"{a}/{b}" for a, b in sorted(allowed))
                    problems.append(f"{where}: {pair[0]}/{pair[1]} as {kind}: the rules use {want}")
            for patterns, edges, name in (
                (_SYSTOLIC, sys_edges, "systolic"),
                (_DIASTOLIC, dia_edges, "diastolic"),
            ):
                for p in patterns:
                    for m in p.finditer(clause):
                        if Decimal(m.group(1)) not in edges:
                            problems.append(
                                f"{where}: {name} {m.group(1)} is not a limit of the rules"
                            )
    for sentence in _SENTENCE.split(text):
        if not _GLUCOSE_WORDS.search(sentence):
            continue
        for m in _MMOL.finditer(sentence):
            if Decimal(m.group(1)) not in gl_edges:
                problems.append(f"{where}: glucose {m.group(1)} mmol/L is not a limit of the rules")
    return problems


def problems(content: ClinicalContent, texts: Iterable[tuple[str, str]]) -> list[str]:
    """Every disagreement in `texts` ((where, text) pairs) with the clinical rules."""
    out: list[str] = []
    for where, text in texts:
        out.extend(text_problems(content, where, text))
    return out


def content_texts(faq: Iterable[FaqEntry], tips: Iterable[Tip]) -> Iterator[tuple[str, str]]:
    """Every FAQ answer and tip text, in both languages, named for a problem report."""
    for e in faq:
        for loc, text in e.answer.items():
            yield f"content/faq {e.id} ({loc})", text
    for t in tips:
        for loc, text in t.text.items():
            yield f"content/tips {t.id} ({loc})", text
