"""One pair of words for the two blood-pressure numbers in Chinese resident text: 高压 / 低压,
with 收缩压 / 舒张压 only in brackets after them (finding: 上压/下压, 高压/低压 and
收缩压/舒张压 were mixed from one screen to the next)."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.runtime import Runtime
from tests.harness import ChatUser

PO = "locales/zh_Hans/LC_MESSAGES/messages.po"


def _zh() -> list[tuple[str, str]]:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / PO
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans")
    out = []
    for m in catalog:
        if not m.id:
            continue
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        out.extend((msgid, s) for s in strings if s)
    return out


def test_chinese_names_the_numbers_high_and_low_pressure() -> None:
    wrong = []
    for msgid, zh in _zh():
        if re.search("上压|下压", zh):
            wrong.append((msgid, zh))
        # 收缩压 / 舒张压 only as the bracketed gloss of 高压 / 低压.
        bare = re.sub("高压（收缩压）|低压（舒张压）", "", zh)
        if re.search("收缩压|舒张压", bare):
            wrong.append((msgid, zh))
        if re.search(r"\b(upper|lower)\b|systolic|diastolic", msgid, re.I) and re.search(
            r"mmHg|number|systolic|diastolic|\{step\}", msgid, re.I
        ):
            if not re.search("高压|低压", zh):
                wrong.append((msgid, zh))
    assert wrong == []


def test_resident_content_uses_the_same_words() -> None:
    """Common-question answers and tips (resident-facing Chinese content)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "content"
    wrong = []
    for folder in ("faq", "tips", "answers"):
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or path.suffix not in (".yaml", ".yml", ".md", ".txt"):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                bare = re.sub("高压（收缩压）|低压（舒张压）", "", line)
                if re.search("上压|下压|收缩压|舒张压", bare):
                    wrong.append(f"{path.name}:{n}")
    assert wrong == []


async def test_the_quick_keypad_says_high_and_low_pressure(rt: Runtime, make_user) -> None:
    u: ChatUser = make_user("5001", "zh")
    await u.onboard("中文")
    await u.text("❤️ 我的健康")
    shown = " ".join([u.texts(), *u.labels()])
    await u.press("血压")
    shown = " ".join([u.texts(), *u.labels()])
    assert "高压（收缩压）" in shown and "上" not in shown.replace("上方", "")
    await u.press("130")
    shown = " ".join([u.texts(), *u.labels()])
    assert "高压 130" in shown and "低压（舒张压）" in shown
    assert "上压" not in shown and "下压" not in shown
