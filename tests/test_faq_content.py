"""The FAQ content: complete in both languages, sourced, reviewed, every topic covered, no
dosing advice, and a matcher that answers its own questions."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.services.faq import TOPICS, FaqFileError, FaqIndex, load_faq

ROOT = Path(__file__).resolve().parent.parent
CONTENT = load_faq(ROOT / "content")
DOSE = re.compile(r"\d+\s*(mg|毫克|片|粒|ml|毫升|iu|单位)", re.IGNORECASE)


def test_at_least_150_entries_covering_every_topic() -> None:
    assert len(CONTENT.entries) >= 150
    assert {e.topic for e in CONTENT.entries} == set(TOPICS)


@pytest.mark.parametrize("entry", CONTENT.entries, ids=lambda e: e.id)
def test_each_entry_is_complete_sourced_and_reviewed(entry: object) -> None:
    e = entry  # type: ignore[assignment]
    for loc in ("zh_Hans", "en"):
        assert e.question[loc] and e.answer[loc] and e.source[loc]  # type: ignore[attr-defined]
        assert not DOSE.search(e.answer[loc]), "no dosing advice in answers"  # type: ignore[attr-defined]
    assert date(2026, 1, 1) <= e.last_reviewed <= date.today()  # type: ignore[attr-defined]


def test_the_topics_the_issue_names_are_answered() -> None:
    ids = {e.id for e in CONTENT.entries}
    for needed in (
        "sign-benefits",
        "sign-bring",
        "sign-cost",
        "hours-centre",
        "rx-long-what",
        "rx-extended-what",
        "ref-how",
        "ref-expert",
        "ins-outpatient",
        "ins-ecert-activate",
        "old-check-free",
        "vx-bring",
        "cd-followup-times",
        "ss-what",
        "hb-what",
        "hv-what",
    ):
        assert needed in ids


def test_every_entry_is_found_by_its_own_question() -> None:
    index = FaqIndex(CONTENT.entries, CONTENT.synonyms)
    for e in CONTENT.entries:
        for loc in ("zh_Hans", "en"):
            hits = index.search(e.question[loc]).hits
            assert e.id in [h.entry.id for h in hits], (e.id, loc)


def test_a_broken_file_names_the_entry(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "sources.yaml").write_text("sources: {s: {zh_Hans: 源, en: src}}", "utf-8")
    entry = {
        "id": "x-1",
        "zh": {"q": "问", "a": "答"},
        "en": {"q": "Q", "a": "A"},
        "source": "nope",
        "last_reviewed": date(2026, 12, 1),
    }
    (faq / "01_x.yaml").write_text(yaml.safe_dump({"topic": "hours", "entries": [entry]}), "utf-8")
    with pytest.raises(FaqFileError, match="x-1: unknown source"):
        load_faq(tmp_path)
