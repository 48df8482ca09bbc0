"""Every clinical statement the bot can make, with its source and review date, in one list:
the clinical rules and their advice texts, the vaccine schedules and adult vaccine settings,
the health tips and the doctors' broadcast templates. `doorstep content check` validates all
of it; `doorstep content report` prints it for a district doctor to sign off in one read."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po

from bot.config import ConfigError, Settings
from bot.domain.clinical import Citation
from bot.services.broadcasts import load_templates
from bot.services.clinical_advice import ADVICE
from bot.services.clinical_reply import URGENCY_TEXTS
from bot.services.clinical_rules import ClinicalContent, RulesError, load_content
from bot.services.clinical_thresholds import content_texts
from bot.services.clinical_thresholds import problems as threshold_problems
from bot.services.faq import FaqFileError, load_faq
from bot.services.redflags import SignFileError, load_signs
from bot.services.tips import ContentError, load_catalog
from bot.services.vaccines import ScheduleError, load_schedule_set, validate_files
from bot.services.vaccines.adults import ppv23_policy

LOCALES = ("zh_Hans", "en")


@dataclass(frozen=True, slots=True)
class Statement:
    section: str
    id: str
    says_zh: str
    says_en: str
    source: str
    quote: str
    reviewed: date | None
    note: str = ""


def _cite(c: Citation) -> tuple[str, str, str]:
    s = c.source
    edition = s.edition if s.edition == str(s.year) else f"{s.edition}，{s.year}"
    source = f"{s.title_zh}（{edition}）· {s.publisher} — {c.where}"
    quote = c.quote if c.verbatim else f"{c.quote} [non-verbatim: check against the source]"
    return source, quote, c.interpretation or ""


def _catalogs(settings: Settings) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for loc in LOCALES:
        path = settings.locales_dir / loc / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as f:
            cat = read_po(f)
        out[loc] = {
            m.id: str(m.string or "") for m in cat if m.id and isinstance(m.id, str) and not m.fuzzy
        }
    return out


def check(settings: Settings) -> tuple[list[str], list[str]]:
    """(what was read, problems): every content folder validated; problems empty if all good."""
    read: list[str] = []
    problems: list[str] = []
    content = settings.content_dir
    try:
        clinical = load_content(content / "clinical")
        rules = sum(len(m.rules) + len(m.specials) for m in clinical.measures.values())
        read.append(
            f"clinical: {len(clinical.measures)} measures, {rules} rules, "
            f"{len(clinical.advice)} advice texts, {len(clinical.sources)} sources"
        )
    except RulesError as exc:
        problems.extend(f"clinical: {p}" for p in exc.problems)
    catalogs = _catalogs(settings)
    for key, msgid in ADVICE.items():
        if not catalogs["zh_Hans"].get(msgid):
            problems.append(f"clinical: advice {key} has no zh_Hans translation")
        if msgid not in catalogs["en"]:
            problems.append(f"clinical: advice {key} is missing from the en catalog")
    try:
        tips = load_catalog(content / "tips")
        read.append(f"tips: {len(tips.tips)} tips")
    except (ContentError, yaml.YAMLError) as exc:
        problems.append(f"tips: {exc}")
    try:
        templates = load_templates(content / "broadcasts")
        read.append(f"broadcasts: {len(templates)} templates")
        for path in sorted((content / "broadcasts").glob("*.yaml")):
            raw = yaml.safe_load(path.read_text("utf-8"))
            if not isinstance(raw.get("source"), dict) or not raw.get("last_reviewed"):
                problems.append(f"broadcasts: {path.name} needs 'source' and 'last_reviewed'")
    except (ValueError, yaml.YAMLError) as exc:
        problems.append(f"broadcasts: {exc}")
    try:
        signs = load_signs(content)
        read.append(f"redflags: {len(signs.signs)} emergency signs")
    except (SignFileError, yaml.YAMLError, OSError) as exc:
        problems.append(f"redflags: {exc}")
    try:
        faq = load_faq(content)
        read.append(f"faq: {len(faq.entries)} questions")
    except (FaqFileError, yaml.YAMLError, OSError) as exc:
        problems.append(f"faq: {exc}")
    # Thresholds stated in FAQ answers and tips agree with the clinical rules.
    with suppress(RulesError, FaqFileError, ContentError, yaml.YAMLError, OSError):
        texts = content_texts(load_faq(content).entries, load_catalog(content / "tips").tips)
        problems.extend(
            f"thresholds: {p}"
            for p in threshold_problems(load_content(content / "clinical"), texts)
        )
    good, vproblems = validate_files(sorted((content / "vaccines").glob("*.yaml")))
    problems.extend(f"vaccines: {p}" for p in vproblems)
    read.append(f"vaccines: {len(good)} schedule editions")
    try:
        ppv23_policy(settings)
    except (ValueError, ConfigError) as exc:
        problems.append(f"settings: {exc}")
    return read, problems


def statements(settings: Settings) -> list[Statement]:
    """Every clinical statement, in report order. Raises if the content is invalid."""
    content = settings.content_dir
    clinical = load_content(content / "clinical")
    catalogs = _catalogs(settings)
    out: list[Statement] = []
    out.extend(_rules(clinical, catalogs))
    out.extend(_advice(clinical, catalogs))
    out.extend(_urgency(clinical, catalogs))
    out.extend(_vaccines(settings))
    out.extend(_tips(content / "tips"))
    out.extend(_broadcasts(content / "broadcasts"))
    out.extend(_redflags(content))
    out.extend(_faq(content))
    return out


def _redflags(content: Path) -> list[Statement]:
    """Every emergency advice line, zh and en side by side, with the sign's sources."""
    signs = load_signs(content)
    out = []
    for sign in signs.signs:
        source = "; ".join(signs.sources[c] for c in sign.cite)
        zh, en = sign.waiting["zh_Hans"], sign.waiting["en"]
        out.append(
            Statement(
                "redflags", sign.id, sign.title["zh_Hans"], sign.title["en"], source, "", None
            )
        )
        for i in range(max(len(zh), len(en))):
            out.append(
                Statement(
                    "redflags",
                    f"{sign.id}.{i + 1}",
                    zh[i] if i < len(zh) else "—",
                    en[i] if i < len(en) else "—",
                    source,
                    "",
                    None,
                )
            )
    return out


def _faq(content: Path) -> list[Statement]:
    out = []
    for e in load_faq(content).entries:
        out.append(
            Statement(
                f"faq/{e.topic}",
                e.id,
                f"{e.question['zh_Hans']} — {e.answer['zh_Hans']}",
                f"{e.question['en']} — {e.answer['en']}",
                e.source["zh_Hans"],
                e.source["en"],
                e.last_reviewed,
            )
        )
    return out


def _who(who: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    return ", ".join(f"{k}={'/'.join(v)}" for k, v in who) or "everyone"


def _rules(c: ClinicalContent, catalogs: dict[str, dict[str, str]]) -> list[Statement]:
    out = []
    for m in c.measures.values():
        units = {q.name: q.unit for q in m.quantities}
        for r in m.rules:
            source, quote, note = _cite(r.citation)
            says = (
                f"{r.quantity} {r.low}–{r.high} {units[r.quantity]}; {'/'.join(r.settings)}; "
                f"{_who(r.who)} → {r.action} ({r.direction}); advice: {', '.join(r.advice) or '—'}"
            )
            out.append(
                Statement(f"rules/{m.name}", r.id, says, says, source, quote, r.last_reviewed, note)
            )
        for s in m.specials:
            source, quote, note = _cite(s.citation)
            says = f"{s.kind} {s.key} → {s.action} ({s.direction}); advice: {', '.join(s.advice)}"
            out.append(
                Statement(f"rules/{m.name}", s.id, says, says, source, quote, s.last_reviewed, note)
            )
    return out


def _advice(c: ClinicalContent, catalogs: dict[str, dict[str, str]]) -> list[Statement]:
    out = []
    for key, msgid in ADVICE.items():
        a = c.advice.get(key)
        if a is None:
            continue
        source, quote, note = _cite(a.citation)
        out.append(
            Statement(
                "advice",
                key,
                catalogs["zh_Hans"].get(msgid, ""),
                msgid,
                source,
                quote,
                a.last_reviewed,
                note,
            )
        )
    return out


def _urgency(c: ClinicalContent, catalogs: dict[str, dict[str, str]]) -> list[Statement]:
    """The words each decided action becomes (bot/services/clinical_reply.py): one urgency
    per reply. The project's service rule, not a guideline's text: NOT YET reviewed."""
    rule = c.sources.get("doorstep")
    source = f"{rule.title_zh} — clinical_reply.py" if rule else "clinical_reply.py"
    return [
        Statement(
            "urgency",
            key,
            catalogs["zh_Hans"].get(msgid, ""),
            msgid,
            source,
            "一次回复只有一个紧急程度：由规则决定的行动（拨打120 / 今天就医 / 复查 / 达标）。",
            None,
        )
        for key, msgid in URGENCY_TEXTS.items()
    ]


def _vaccines(settings: Settings) -> list[Statement]:
    out: list[Statement] = []
    try:
        schedules = load_schedule_set(settings.content_dir / "vaccines")
    except ScheduleError:
        return out
    reviewed: dict[str, date | None] = {}
    for s in schedules.schedules:
        raw = yaml.safe_load(s.path.read_text("utf-8")) if s.path else {}
        on = raw.get("last_reviewed") if isinstance(raw, dict) else None
        reviewed[s.version] = on if isinstance(on, date) else None
    for s in schedules.schedules:
        for v in s.vaccines:
            for d in v.doses:
                parts = [f"from {d.age}"]
                cites = []
                for iv in d.intervals:
                    parts.append(f"≥ {iv.span} after {iv.after}")
                    cites.append(iv.cite)
                if d.complete_by:
                    parts.append(f"timely before {d.complete_by.age}")
                    cites.append(d.complete_by.cite)
                if d.no_longer_given:
                    parts.append(f"not given from {d.no_longer_given.age}")
                    cites.append(d.no_longer_given.cite)
                if d.catch_up:
                    parts.append(f"from {d.catch_up.age} if {d.catch_up.when_missed} was missed")
                    cites.append(d.catch_up.cite)
                if v.cohort:
                    parts.append(
                        f"only {v.cohort.sex or 'children'} born on or after {v.cohort.born_from}"
                    )
                    cites.append(v.cohort.cite)
                says = f"{d.code} {v.name_zh}: " + "; ".join(parts)
                out.append(
                    Statement(
                        f"vaccines/{s.version}",
                        d.code,
                        says,
                        f"{d.code} {v.name_en}: " + "; ".join(parts),
                        f"{s.source} (effective {s.effective})",
                        " | ".join(dict.fromkeys(cites)),
                        None,
                    )
                )
    policy = ppv23_policy(settings)
    out.append(
        Statement(
            "vaccines/adults",
            "ppv23-age",
            f"PPV23：{policy.age}岁及以上；65岁前接种或免疫功能低下者5年后复种1剂",
            f"PPV23: from age {policy.age}; one repeat dose after 5 years for people vaccinated "
            "before 65 or with weakened immunity",
            policy.source,
            policy.quote,
            policy.reviewed,
        )
    )
    out.append(
        Statement(
            "vaccines/adults",
            "flu-season",
            "流感疫苗：最好在10月底前接种，流行季内仍可接种（提醒9月至次年3月）",
            "Flu vaccine: best by the end of October, still worth it through the season "
            "(reminders September to March)",
            "中国疾病预防控制中心《中国流感疫苗预防接种技术指南（2023—2024）》",
            "建议最好在10月底前完成免疫接种；对10月底前未接种的对象，整个流行季节都可以提供免疫服务。"
            " [non-verbatim: check against the source]",
            date(2026, 12, 4),
        )
    )
    return out


def _tips(folder: Path) -> list[Statement]:
    out = []
    for path in sorted(folder.glob("*.yaml")):
        raw: Any = yaml.safe_load(path.read_text("utf-8"))
        for t in raw.get("tips", []):
            reviewed = t.get("last_reviewed")
            out.append(
                Statement(
                    f"tips/{path.stem}",
                    t["id"],
                    t["zh_Hans"],
                    t["en"],
                    t["source"]["zh_Hans"],
                    t["source"].get("en", ""),
                    reviewed if isinstance(reviewed, date) else None,
                )
            )
    return out


def _broadcasts(folder: Path) -> list[Statement]:
    out = []
    for path in sorted(folder.glob("*.yaml")):
        raw: Any = yaml.safe_load(path.read_text("utf-8"))
        src = raw.get("source") or {}
        reviewed = raw.get("last_reviewed")
        out.append(
            Statement(
                "broadcasts",
                raw["key"],
                raw["text"]["zh_Hans"],
                raw["text"]["en"],
                src.get("zh_Hans", "—"),
                src.get("en", ""),
                reviewed if isinstance(reviewed, date) else None,
            )
        )
    return out


def render(items: list[Statement], locale: str = "zh_Hans") -> str:
    """The report as plain text: one block per statement, a sign-off box at the end."""
    lines = [
        "Doorstep clinical content — review report / 家门口健康 临床内容审核报告",
        "Each statement: what the bot says or decides, its source, the quoted rule, the "
        "project's interpretation where it fills in the source, and its last review date.",
        "",
    ]
    section = None
    unreviewed = 0
    for s in items:
        if s.section != section:
            section = s.section
            lines += ["", f"== {section} =="]
        says = s.says_zh if locale == "zh_Hans" else s.says_en
        lines.append(f"[{s.id}] {says}")
        if locale == "zh_Hans" and s.says_en != s.says_zh:
            lines.append(f"    en: {s.says_en}")
        lines.append(f"    source: {s.source}")
        if s.quote:
            lines.append(f"    quote: {s.quote}")
        if s.note:
            lines.append(f"    interpretation: {s.note}")
        if s.reviewed is None:
            unreviewed += 1
        lines.append(f"    last reviewed: {s.reviewed.isoformat() if s.reviewed else 'NOT YET'}")
    lines += [
        "",
        f"{len(items)} statements; {unreviewed} without a review date.",
        "",
        "Sign-off / 审核签字: I have read every statement above against its source.",
        "District / 区: ____________  Doctor / 医生: ____________  Date / 日期: ____________",
        "Corrections / 修改意见: ______________________________________________",
    ]
    return "\n".join(lines) + "\n"
