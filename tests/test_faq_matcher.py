"""The FAQ matcher at its boundaries: when it answers directly and when it says it is not sure
(the three best questions as buttons plus Ask my team, in handlers/resident/questions.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.domain.questions import FaqEntry
from bot.services.faq import COVERAGE, KNOWN, FaqIndex, Synonyms, load_faq

ROOT = Path(__file__).resolve().parent.parent
CONTENT = load_faq(ROOT / "content")
INDEX = FaqIndex(CONTENT.entries, CONTENT.synonyms)


def entry(entry_id: str, zh: str, en: str, answer: str = "答") -> FaqEntry:
    return FaqEntry(
        id=entry_id,
        topic="hours",
        question={"zh_Hans": zh, "en": en},
        answer={"zh_Hans": answer, "en": "answer"},
        also=(),
        source={"zh_Hans": "源", "en": "src"},
        last_reviewed=date(2026, 12, 1),
    )


BED = entry("bed", "家庭病床", "home bed")
SMOKE = entry("smoke", "戒烟门诊", "stop smoking clinic")


def tiny(**settings: float) -> FaqIndex:
    return FaqIndex([BED, SMOKE], Synonyms({}), **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "超市几点关门",  # shares 几点关门 with the centre's hours, but is about a supermarket
        "what time does the supermarket close",
        "狗狗打疫苗去哪里",
        "整容多少钱",
        "🙂",
        "12345",
        "   ",
        "qwzx vbnm",
    ],
)
def test_out_of_scope_or_empty_text_is_never_answered_directly(text: str) -> None:
    assert not INDEX.search(text).confident


@pytest.mark.parametrize(
    ("text", "expected"),
    [("医保电子凭证怎么激活", "ins-ecert-activate"), ("家庭病床怎么申请", "hb-apply")],
)
def test_a_clear_question_is_answered_directly(text: str, expected: str) -> None:
    found = INDEX.search(text)
    assert found.confident and found.hits[0].entry.id == expected


def test_the_score_threshold_is_inclusive() -> None:
    score = tiny().search("家庭病床").hits[0].score
    assert tiny(confident=score).search("家庭病床").confident
    assert not tiny(confident=score + 1e-3).search("家庭病床").confident


def test_two_equally_good_entries_are_not_answered_directly() -> None:
    twin = entry("bed-2", "家庭病床", "home bed")
    index = FaqIndex([BED, twin], Synonyms({}))
    found = index.search("家庭病床")
    assert [h.entry.id for h in found.hits] == ["bed", "bed-2"] and not found.confident


def test_the_known_words_share_is_a_boundary() -> None:
    # 家庭病床猫: four of five characters are in the FAQ (猫 is not): known share 0.8.
    assert tiny().known_shares("家庭病床猫", 0) == (0.8, 0.8)
    low = dict(confident=0.0, margin=0.0, coverage=0.0)
    assert tiny(known=0.8, **low).search("家庭病床猫").confident
    assert not tiny(known=0.81, **low).search("家庭病床猫").confident


def test_the_coverage_of_the_best_entry_is_a_boundary() -> None:
    # 家庭病床戒: every character is in the FAQ, but 戒 belongs to the other entry.
    assert tiny().known_shares("家庭病床戒", 0) == (1.0, 0.8)
    low = dict(confident=0.0, margin=0.0, known=0.0)
    assert tiny(coverage=0.8, **low).search("家庭病床戒").confident
    assert not tiny(coverage=0.81, **low).search("家庭病床戒").confident


def test_the_shipped_thresholds_are_the_documented_ones() -> None:
    # README "Common questions" states these; changing them means re-measuring bench/faq.py.
    assert (KNOWN, COVERAGE) == (0.8, 0.7)


def test_synonyms_and_stop_words_apply_before_the_known_words_check() -> None:
    # 啥 is read as 什么 (synonyms.yaml) and "what/is/the" are stop words: all known.
    anywhere, _ = INDEX.known_shares("长处方是啥", 0)
    assert anywhere == 1.0
    anywhere, _ = INDEX.known_shares("what is the long prescription", 0)
    assert anywhere == 1.0
