"""The emergency-sign matcher (pure) and the sign list's content, at their boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.redflags import SignFileError, load_signs, match, parse_signs

ROOT = Path(__file__).resolve().parent.parent
SIGNS = load_signs(ROOT / "content")

# One report per sign in each language, colloquial, with typos and about another person.
CASES = {
    "chest_pain": ["心 口 疼", "我爸胸口压着疼", "chest pian", "my mum has crushing chest pain"],
    "breathing": ["喘不上气", "孩子嘴唇发紫", "cant breath", "my dad stopped breathing"],
    "stroke": ["我爸嘴歪了", "一边手突然抬不起来", "FACE DROOPING on one side", "slurred speech"],
    "unconscious": ["叫不醒", "奶奶晕倒了", "he won't wake up", "she collapsed"],
    "seizure": ["孩子抽风了", "口吐白沫", "siezure", "my son is having a fit"],
    "bleeding": ["血止不住", "大口吐血", "bleeding heavily", "coughing up blood"],
    "allergy": ["嘴唇舌头肿起来了", "过敏性休克", "my throat is closing up", "anaphylaxis"],
    "suicide": ["我不想活了", "想自杀", "i want to kill myself", "suicidal thoughts"],
    "low_sugar": ["低血糖了", "血糖2.8", "my sugar is 3.9", "blood sugar 50 mg/dl"],
    "poisoning": ["孩子误喝了农药", "煤气中毒", "she drank bleach", "i took an overdose"],
}


@pytest.mark.parametrize(("sign", "text"), [(s, t) for s, ts in CASES.items() for t in ts])
def test_each_sign_in_both_languages(sign: str, text: str) -> None:
    found = match(SIGNS, text)
    assert found is not None and sign in found.ids, (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "胸痛门诊几点开门",  # a clinic's name, not a symptom
        "what time does the chest clinic open",
        "我没有胸痛，就是想配药",  # a negation
        "no chest pain, just a refill please",
        "低血糖怎么预防",  # a question about a sign
        "how to prevent food poisoning",
        "血糖4.0正常吗",  # just above the danger line (3.9)
        "血糖6.1",
        "去年中风过，现在要复查吗",  # a past event
        "he had a heart attack two years ago",
        "孩子打完疫苗没反应正常吗",
        "can't make up my mind about the flu jab",  # "make" is never read as "wake"
        "",
        "   ",
    ],
)
def test_near_misses_are_not_emergencies(text: str) -> None:
    assert match(SIGNS, text) is None


def test_the_glucose_line_is_the_readings_danger_line() -> None:
    assert match(SIGNS, "血糖3.9") is not None
    assert match(SIGNS, "血糖3.95") is None


def test_a_question_about_a_sign_that_is_happening_now_still_counts() -> None:
    found = match(SIGNS, "低血糖了怎么办")
    assert found is not None and found.first.id == "low_sugar"


def test_several_signs_are_all_found_most_urgent_first() -> None:
    found = match(SIGNS, "吞了一瓶安眠药，不想活了")
    assert found is not None and found.ids[0] == "poisoning" and "suicide" in found.ids


def test_every_sign_has_sources_titles_and_steps_in_both_languages() -> None:
    assert {s.id for s in SIGNS.signs} == set(CASES)
    for sign in SIGNS.signs:
        assert sign.cite and all(c in SIGNS.sources for c in sign.cite)
        for loc in ("zh_Hans", "en"):
            assert sign.title[loc] and len(sign.waiting[loc]) >= 2
    # The citations the issue asks for are there.
    text = " ".join(SIGNS.sources.values())
    for needle in ("ETAT", "急诊预检分诊", "中风120", "120", "12356"):
        assert needle in text


def test_low_sugar_advice_says_15_g_only_when_able_to_swallow() -> None:
    steps = SIGNS.by_id("low_sugar").waiting  # type: ignore[union-attr]
    assert "15" in steps["en"][0] and "swallow" in steps["en"][0]
    assert "nothing by mouth" in steps["en"][1]
    assert "15克" in steps["zh_Hans"][0] and "不要喂" in steps["zh_Hans"][1]


def test_a_broken_sign_list_is_refused_with_the_sign_named() -> None:
    good = {"sources": {"x": "X"}}
    sign = {
        "id": "chest",
        "cite": ["x"],
        "title": {"zh_Hans": "胸", "en": "Chest"},
        "waiting": {"zh_Hans": ["a"], "en": ["a"]},
        "zh": ["胸痛"],
        "en": ["chest"],
    }
    assert parse_signs({**good, "signs": [sign]}).signs[0].id == "chest"
    for broken, word in (
        ({**sign, "cite": ["nope"]}, "cites"),
        ({**sign, "zh": ["(unclosed"]}, "bad pattern"),
        ({**sign, "en": []}, "both zh and en"),
        ({**sign, "waiting": {"zh_Hans": ["a"]}}, "while waiting"),
    ):
        with pytest.raises(SignFileError, match=word):
            parse_signs({**good, "signs": [broken]})


def test_every_advice_line_is_plain_text_in_both_languages() -> None:
    for sign in SIGNS.signs:
        for loc in ("zh_Hans", "en"):
            for step in sign.waiting[loc]:
                assert isinstance(step, str) and "{" not in step and "}" not in step, (
                    sign.id,
                    step,
                )


def test_an_unquoted_colon_in_advice_is_refused_with_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "redflags"
    folder.mkdir()
    text = (ROOT / "content" / "redflags" / "signs.yaml").read_text(encoding="utf-8")
    broken = text.replace(
        '"Give nothing by mouth: no water, no medicine, no food."',
        "Give nothing by mouth: no water, no medicine, no food.",
    )
    assert broken != text
    (folder / "signs.yaml").write_text(broken, encoding="utf-8")
    line = broken.splitlines().index(
        "        - Give nothing by mouth: no water, no medicine, no food."
    )
    with pytest.raises(SignFileError, match=rf"signs\.yaml:{line + 1}: advice must be plain"):
        load_signs(tmp_path)
    with pytest.raises(SignFileError, match="not plain text"):
        parse_signs(
            {
                "sources": {"x": "X"},
                "signs": [
                    {
                        "id": "chest",
                        "cite": ["x"],
                        "title": {"zh_Hans": "胸", "en": "Chest"},
                        "waiting": {"zh_Hans": ["a"], "en": [{"a": "b"}]},
                        "zh": ["胸痛"],
                        "en": ["chest"],
                    }
                ],
            }
        )
