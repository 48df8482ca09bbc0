"""The emergency-sign matcher (pure) and the sign list's content, at their boundaries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain.clinical import Person
from bot.services.clinical_rules import load_content
from bot.services.redflags import (
    SignFileError,
    glucose_judge,
    glucose_setting,
    glucose_values,
    load_signs,
    match,
    parse_signs,
)

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
    "low_sugar": ["低血糖了", "血糖太低了", "my sugar is very low", "having a hypo"],
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


CLINICAL = load_content(ROOT / "content" / "clinical")
DIABETIC = glucose_judge(CLINICAL, Person(diabetes=True))
NOT_DIABETIC = glucose_judge(CLINICAL, Person())


def test_typed_glucose_values_are_read_in_mmol() -> None:
    assert glucose_values("血糖3.9") == (Decimal("3.9"),)
    assert glucose_values("my sugar is 2.9") == (Decimal("2.9"),)
    assert glucose_values("sugar 60 mg/dl") == (Decimal("3.3"),)
    assert glucose_values("血压150/95") == ()


def test_a_bare_typed_glucose_value_is_judged_by_the_clinical_rules() -> None:
    # The same value entered as a reading: normal without diabetes, low with it (gl-low-dm).
    normal = NOT_DIABETIC(Decimal("3.9"))
    assert normal is not None and normal.on_target
    low = DIABETIC(Decimal("3.9"))
    assert low is not None and low.rule_ids[0] == "gl-low-dm"
    assert match(SIGNS, "血糖3.9", NOT_DIABETIC) is None
    # An urgent low value is answered at once with the rules' own reply (treat it first), not
    # the ambulance: the sign is raised with `treat_first`, so the reply is not "call 120".
    for judge, text in ((DIABETIC, "血糖3.9"), (NOT_DIABETIC, "my sugar is 2.5")):
        found = match(SIGNS, text, judge)
        assert found is not None and found.ids == ("low_sugar",) and not found.ambulance
        [(_, decision)] = found.treat_first
        assert "gl.low.treat" in decision.advice and decision.action.value == "come_today"
    assert match(SIGNS, "血糖3.9") is None  # no resident to judge for: words only


def test_a_typed_value_without_its_timing_is_never_assumed_fasting() -> None:
    """Issue 17 audit: 6.5 is impaired fasting glucose but normal after a meal (no diabetes):
    no verdict without the timing; with it in the words, that setting's rule."""
    assert NOT_DIABETIC(Decimal("6.5")) is None
    fasting = NOT_DIABETIC(Decimal("6.5"), glucose_setting("空腹血糖6.5"))
    after = NOT_DIABETIC(Decimal("6.5"), glucose_setting("my sugar after dinner was 6.5"))
    assert fasting is not None and fasting.rule_ids == ("gl-fast-nodm-ifg",)
    assert after is not None and after.rule_ids == ("gl-meal-nodm-ok",)
    assert glucose_setting("血糖6.5") is None and glucose_setting("空腹6.5，餐后9") is None
    # The same verdict either way: the advice of both bands, never "normal fasting" alone.
    both = NOT_DIABETIC(Decimal("5.5"))
    assert both is not None and both.on_target
    assert set(both.advice) == {"gl.ok.fasting.normal", "gl.ok.meal.normal"}


def test_a_low_value_with_symptoms_of_low_sugar_is_treated_first() -> None:
    """Issue 17 audit: "2.5 + shaking" is a conscious low sugar: the rules' reply (15-20 g of
    fast sugar, recheck in 15 minutes), not 120; 120 only with the rules' conditions for it
    (drowsy, confused, cannot swallow)."""
    for text in ("血糖2.5手抖", "血糖3.9，手抖出汗", "my sugar is 2.6 and im shaking"):
        found = match(SIGNS, text, DIABETIC)
        assert found is not None and found.ids == ("low_sugar",) and not found.ambulance, text
    for text in ("血糖2.5，人糊涂了", "血糖2.5叫不醒", "sugar 2.5 and she is confused"):
        found = match(SIGNS, text, DIABETIC)
        assert found is not None and found.ambulance and "low_sugar" in found.ids, text
    assert match(SIGNS, "血糖2.5，没有糊涂，手抖", DIABETIC).ambulance is False  # type: ignore[union-attr]
    # For a person without diabetes 3.9 is not low (gl-fast-nodm-ok): the symptom alone is not
    # the sign; 3.5 is low for them (gl-lowish-nodm), and with the symptom it is answered.
    assert match(SIGNS, "血糖3.9，手抖出汗", NOT_DIABETIC) is None
    found = match(SIGNS, "my sugar is 3.5 and i am shaking", NOT_DIABETIC)
    assert found is not None and found.ids == ("low_sugar",) and not found.ambulance
    assert match(SIGNS, "血糖4.0，手抖", DIABETIC) is None  # 4.0 is not low for them either
    # A value above the entry range is not a low sugar (it was answered as one).
    assert match(SIGNS, "血糖40", DIABETIC) is None


def test_advice_is_said_to_the_person_with_the_sign_or_to_a_helper() -> None:
    me = match(SIGNS, "我胸口疼得厉害")
    dad = match(SIGNS, "我爸胸口疼得厉害")
    assert me is not None and me.about_self and dad is not None and not dad.about_self
    other_things = match(SIGNS, "我胸口疼，其他还好")  # 其他 ("otherwise") names nobody
    assert other_things is not None and other_things.about_self
    chest = SIGNS.by_id("chest_pain")
    assert chest is not None
    mine = " ".join(chest.advice("zh_Hans", True))
    assert "他" not in mine and "你" not in mine and "您" in mine
    assert "给对方" in " ".join(chest.advice("zh_Hans", False))
    en_me = match(SIGNS, "I can't breathe")
    en_her = match(SIGNS, "my mother can't breathe")
    assert en_me is not None and en_me.about_self
    assert en_her is not None and not en_her.about_self
    for sign in SIGNS.signs:
        for loc in ("zh_Hans", "en"):
            own = " ".join(sign.advice(loc, True))
            assert own != " ".join(sign.advice(loc, False)), (sign.id, loc)
            if loc == "zh_Hans":
                # 您 to the writer; a helper hears 对方 (the person may be a mother or a son).
                assert "他" not in own.replace("他们", "") and "你" not in own, sign.id
                other = " ".join(sign.advice(loc, False)).replace("他们", "")
                assert "他" not in other and "你" not in other, sign.id
            else:
                assert " them " not in f" {own} ".replace(",", " "), sign.id


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
        "waiting_self": {"zh_Hans": ["b"], "en": ["b"]},
        "zh": ["胸痛"],
        "en": ["chest"],
    }
    assert parse_signs({**good, "signs": [sign]}).signs[0].id == "chest"
    for broken, word in (
        ({**sign, "cite": ["nope"]}, "cites"),
        ({**sign, "zh": ["(unclosed"]}, "bad pattern"),
        ({**sign, "en": []}, "both zh and en"),
        ({**sign, "waiting": {"zh_Hans": ["a"]}}, "while waiting"),
        ({**sign, "waiting_self": {}}, "waiting_self"),
    ):
        with pytest.raises(SignFileError, match=word):
            parse_signs({**good, "signs": [broken]})


def test_every_advice_line_is_plain_text_in_both_languages() -> None:
    for sign in SIGNS.signs:
        for loc in ("zh_Hans", "en"):
            for step in (*sign.waiting[loc], *sign.waiting_self[loc]):
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
                        "waiting_self": {"zh_Hans": ["a"], "en": ["b"]},
                        "zh": ["胸痛"],
                        "en": ["chest"],
                    }
                ],
            }
        )


def test_an_invite_code_is_not_read_as_a_sugar_value() -> None:
    """Doctor invite codes are random letters and digits; "H7BM-UY2G" once raised the
    low-sugar alarm because "bm" (British slang for a finger-prick test) counted as "sugar"."""
    for code in ("/doctor H7BM-UY2G", "H7BM-UY2G", "BM2X-7K3Q"):
        assert glucose_values(code) == (), code
        assert match(SIGNS, code, NOT_DIABETIC) is None, code


def test_a_spoken_decimal_point_is_read() -> None:
    """Elderly residents type the spoken form: "血糖2点8" is 2.8 mmol/L, not 2."""
    assert glucose_values("测了血糖2点8浑身没劲") == (Decimal("2.8"),)
    assert glucose_values("血糖十点钟测的") == ()


def test_lost_speech_said_about_a_relative_is_a_stroke_sign() -> None:
    """Audit (session 4): "my father can't speak properly" got the FAQ's weak-match reply."""
    for text in (
        "my father can't speak properly",
        "my father can't speak",
        "my mother can't talk properly",
        "suddenly she cannot speak",
        "我妈说不出话了",
        "我爸突然说不了话",
    ):
        found = match(SIGNS, text)
        assert found is not None and "stroke" in [s.id for s in found.signs], text
    for text in (
        "I can't speak Chinese",
        "my mum can't speak English",
        "he can't talk right now, he's at work",
        "嗓子哑了说不出话",
    ):
        found = match(SIGNS, text)
        assert found is None or "stroke" not in [s.id for s in found.signs], text


def test_red_team_phrases_of_session_4_are_emergencies() -> None:
    """A fresh tester's own phrases that the list missed (chest pressure, spurting blood, a
    knife wound, a child who drank pesticide)."""
    for text, sign in (
        ("我妈胸口像被石头压着，出冷汗", "chest_pain"),
        ("被刀砍了，血一直往外喷", "bleeding"),
        ("blood is spurting from his leg", "bleeding"),
        ("my kid drank some pesticide", "poisoning"),
    ):
        found = match(SIGNS, text)
        assert found is not None and sign in [s.id for s in found.signs], text
    for text in ("献血后多久可以运动", "can I eat before a blood test", "我想买点农药杀虫"):
        assert match(SIGNS, text) is None, text
