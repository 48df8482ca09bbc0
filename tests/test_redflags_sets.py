"""The emergency-sign list against both labelled sets of bench/redflags.py: the tuning set and
the independent held-out set (written without reading the patterns). The bench reports the
figures; these tests keep a pattern edit from silently losing an emergency."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain.clinical import Person
from bot.services.clinical_rules import load_content
from bot.services.redflags import glucose_judge, load_signs, match

ROOT = Path(__file__).resolve().parent.parent
SIGNS = load_signs(ROOT / "content")
# Typed sugar values are judged by the clinical rules, as bench/redflags.py does: for a person
# without diabetes (the labelled sets say nothing about who typed them).
JUDGE = glucose_judge(load_content(ROOT / "content" / "clinical"), Person())
SETS = ("redflags.yaml", "redflags_heldout.yaml")


def labelled(name: str) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(
        (ROOT / "bench" / "data" / name).read_text(encoding="utf-8")
    )
    return data


# Held-out phrases that were missed while a bare low value was left to the FAQ fallback: a
# typed value the rules call low is now answered at once with the rules' own reply (treat it
# first), as a logged reading of that value is; not with the ambulance.
TREAT_FIRST = {"血糖只有2.5了": "gl.low.treat", "测了血糖2点8浑身没劲": "gl.low.mild"}


@pytest.mark.parametrize("name", SETS)
def test_every_emergency_phrase_raises_a_sign(name: str) -> None:
    emergency = labelled(name)["emergency"]
    assert isinstance(emergency, dict)
    missed = {t for texts in emergency.values() for t in texts if match(SIGNS, t, JUDGE) is None}
    assert missed == set()


@pytest.mark.parametrize(("text", "advice"), TREAT_FIRST.items())
def test_a_typed_low_sugar_gets_the_rules_reply_not_the_ambulance(text: str, advice: str) -> None:
    found = match(SIGNS, text, JUDGE)
    assert found is not None and found.ids == ("low_sugar",) and not found.ambulance
    assert any(advice in d.advice for _, d in found.treat_first)


@pytest.mark.parametrize("name", SETS)
def test_false_alarms_stay_at_most_five_percent(name: str) -> None:
    benign = labelled(name)["benign"]
    assert isinstance(benign, list) and len(benign) >= 100
    alarms = [t for t in benign if match(SIGNS, t, JUDGE) is not None]
    assert len(alarms) / len(benign) <= 0.05, alarms


def test_the_held_out_set_is_big_enough_for_every_sign() -> None:
    emergency = labelled("redflags_heldout.yaml")["emergency"]
    assert isinstance(emergency, dict)
    assert sum(len(v) for v in emergency.values()) >= 200
    assert set(emergency) == {s.id for s in SIGNS.signs}


@pytest.mark.parametrize(
    "text",
    ["食物中毒怎么预防", "food poisoning prevention", "i fainted once years ago", "看得我想死"],
)
def test_prevention_questions_long_past_events_and_idioms_are_not_emergencies(text: str) -> None:
    assert match(SIGNS, text) is None


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("预防中风的药吃了，现在突然嘴歪了", "stroke"),
        ("i fainted years ago and now i have collapsed again, help", "unconscious"),
        ("我爸叫不新了", "unconscious"),
        ("凶口疼得厉害", "chest_pain"),
        ("my baby is breathing really hard and ribs sucking in", "breathing"),
    ],
)
def test_a_prevention_or_past_word_does_not_hide_what_is_happening_now(
    text: str, sign: str
) -> None:
    found = match(SIGNS, text)
    assert found is not None and sign in found.ids
