"""Emergency signs in typed words: a pure matcher over content/redflags/signs.yaml.

No chat library and no I/O apart from `load_signs`. The router calls `match()` on every typed
text before any other handling (see handlers/emergency.py); a miss here is a resident with chest
pain told "please use the buttons", so the rules err on the side of answering "call 120":
- Chinese is matched on the text with spaces and punctuation removed (心 口 疼 = 心口疼);
- English words within one or two letters of a word the patterns use are read as that word
  ("chest pian", "siezure"), short words only for swapped letters, so "make" never becomes
  "wake";
- a match right after a negation (没有胸痛, "no chest pain") does not count, nor does a
  question about a sign ("低血糖怎么预防") unless it also says it is happening now.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.domain.clinical import Decision, Direction, Person
from bot.domain.questions import RedFlag, Sign, SignList
from bot.services import clinical_engine as engine
from bot.services.clinical_rules import ClinicalContent


class Judge(Protocol):
    """The clinical rules' decision on a typed glucose value (mmol/L) for the person typing:
    for `setting` (fasting / after_meal) when the words say which, else only a decision that
    holds whatever the timing (None: the timing changes the answer, so ask)."""

    def __call__(self, value: Decimal, setting: str | None = None) -> Decision | None: ...


SIGNS_FILE = "redflags/signs.yaml"
LOCALES = ("zh_Hans", "en")

# Spaces and punctuation (keeps CJK, a-z, 0-9, and the dot inside a number such as 2.5).
_ZH_DROP = re.compile(r"(?<!\d)\.|\.(?!\d)|[^\w.]|_")
_EN_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_APOSTROPHES = re.compile(r"['’`´]")
_WORD = re.compile(r"[a-z]{4,}")
_ZH_NEGATION = ("没有", "没", "无", "不是", "并非")
_EN_NEGATION = re.compile(r"\b(no|not|without|never|nor)\s+$")
# A typed glucose value: "血糖2.5", "血糖只有3", "sugar is 2.9", "glucose 2.2", "sugar 60 mg/dl".
_ZH_GLUCOSE = re.compile(r"血糖\D{0,6}?(\d{1,3}(?:\.\d+)?)(mg)?")
_ZH_DECIMAL_POINT = re.compile(r"(\d)点(\d)")
_EN_GLUCOSE = re.compile(r"\b(?:sugar|glucose)\b\D{0,16}?(\d{1,3}(?:\.\d+)?)\s*(mg)?")
MG_PER_MMOL = 18.0
# When a typed value was measured, if the words say so ("空腹血糖6.5", "after dinner 9.1").
_ZH_FASTING = re.compile(r"空腹|饭前|餐前|早饭前|早餐前|没吃饭|没吃早饭|晨起")
_ZH_AFTER_MEAL = re.compile(r"餐后|饭后|吃完饭|吃过饭|吃饭后|早饭后|早餐后|午饭后|晚饭后")
_EN_FASTING = re.compile(
    r"\bfasting\b|\bbefore (breakfast|eating|food|meals?|a meal)\b|empty stomach"
)
_EN_AFTER_MEAL = re.compile(
    r"\bafter (a |my |the )?(meal|meals|eating|food|breakfast|lunch|dinner|supper)\b|\bpost ?meal"
)


class SignFileError(ValueError):
    """The sign list is broken: the message names the sign and the problem."""


# -- loading --------------------------------------------------------------------------------------
def _compile(patterns: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(str(p)))
        except re.error as exc:
            raise SignFileError(f"{where}: bad pattern {p!r}: {exc}") from None
    return tuple(out)


def _texts(raw: dict[str, Any], loc: str, sign_id: str, key: str = "waiting") -> tuple[str, ...]:
    """The advice lines; anything but a plain string is refused, because an unquoted
    "Give nothing by mouth: no water" is a YAML mapping and would be shown as {'...': '...'}."""
    items = (raw.get(key) or {}).get(loc) or ()
    if not isinstance(items, list | tuple):
        raise SignFileError(f"{sign_id}: {key}.{loc} must be a list of texts")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise SignFileError(
                f"{sign_id}: {key}.{loc} item {i + 1} is not plain text ({item!r}); "
                "quote a line that contains ': '"
            )
    return tuple(items)


def _check_advice_nodes(root: yaml.Node, path: Path) -> None:
    """Refuse non-string advice items with the file and line (before parsing the data)."""
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if key.value != "signs" or not isinstance(value, yaml.SequenceNode):
            continue
        for sign in value.value:
            if not isinstance(sign, yaml.MappingNode):
                continue
            for skey, svalue in sign.value:
                if skey.value not in ("waiting", "waiting_self") or not isinstance(
                    svalue, yaml.MappingNode
                ):
                    continue
                for _loc, items in svalue.value:
                    if not isinstance(items, yaml.SequenceNode):
                        continue
                    for item in items.value:
                        plain = isinstance(item, yaml.ScalarNode) and (
                            item.tag == "tag:yaml.org,2002:str"
                        )
                        if not plain:
                            raise SignFileError(
                                f"{path}:{item.start_mark.line + 1}: advice must be plain text, "
                                "not a mapping or a number (quote a line that contains ': ')"
                            )


def parse_signs(data: dict[str, Any]) -> SignList:
    sources = {str(k): str(v) for k, v in (data.get("sources") or {}).items()}
    signs: list[Sign] = []
    vocabulary: set[str] = set()
    seen: set[str] = set()
    for raw in data.get("signs") or []:
        sign_id = str(raw.get("id", ""))
        if not re.fullmatch(r"[a-z_]{2,24}", sign_id) or sign_id in seen:
            raise SignFileError(f"sign id {sign_id!r} is missing, malformed or repeated")
        seen.add(sign_id)
        cite = tuple(str(c) for c in raw.get("cite") or ())
        if not cite or any(c not in sources for c in cite):
            raise SignFileError(f"{sign_id}: every sign cites known sources, got {cite}")
        title = {loc: str((raw.get("title") or {}).get(loc, "")) for loc in LOCALES}
        waiting = {loc: _texts(raw, loc, sign_id) for loc in LOCALES}
        waiting_self = {loc: _texts(raw, loc, sign_id, "waiting_self") for loc in LOCALES}
        if not all(title.values()) or not all(waiting.values()) or not all(waiting_self.values()):
            raise SignFileError(
                f"{sign_id}: a title and what to do while waiting (for a helper, `waiting`, "
                "and for the person with the sign, `waiting_self`), in zh_Hans and en"
            )
        symptoms = raw.get("symptoms") or {}
        danger = raw.get("danger") or {}
        zh = _compile(raw.get("zh") or (), sign_id)
        en = _compile(raw.get("en") or (), sign_id)
        if not zh or not en:
            raise SignFileError(f"{sign_id}: patterns in both zh and en")
        for p in en:
            vocabulary.update(pattern_words(p.pattern))
        signs.append(
            Sign(
                id=sign_id,
                level=int(raw.get("level", 2)),
                title=title,
                waiting=waiting,
                cite=cite,
                zh=zh,
                en=en,
                glucose_value=bool(raw.get("glucose_value", False)),
                waiting_self=waiting_self,
                symptoms_zh=_compile(symptoms.get("zh") or (), sign_id),
                symptoms_en=_compile(symptoms.get("en") or (), sign_id),
                danger_zh=_compile(danger.get("zh") or (), sign_id),
                danger_en=_compile(danger.get("en") or (), sign_id),
                crisis=bool(raw.get("crisis", False)),
            )
        )
    if not signs:
        raise SignFileError("no signs")
    exclude = data.get("exclude") or {}
    education = data.get("education") or {}
    now = data.get("now") or {}
    others = data.get("others") or {}
    return SignList(
        signs=tuple(signs),
        sources=sources,
        exclude_zh=_compile((re.escape(str(x)) for x in exclude.get("zh") or ()), "exclude"),
        exclude_en=_compile((re.escape(str(x)) for x in exclude.get("en") or ()), "exclude"),
        education_zh=_compile(education.get("zh") or (), "education"),
        education_en=_compile(education.get("en") or (), "education"),
        now_zh=tuple(str(x) for x in now.get("zh") or ()),
        now_en=tuple(str(x) for x in now.get("en") or ()),
        vocabulary=frozenset(vocabulary),
        others_zh=_compile(others.get("zh") or (), "others"),
        others_en=_compile(others.get("en") or (), "others"),
    )


def pattern_words(pattern: str) -> set[str]:
    """The words a pattern spells out: "seizures?" gives seizures and seizure."""
    source = re.sub(r"\\[a-zA-Z]", " ", pattern)
    words: set[str] = set()
    for m in re.finditer(r"[a-z]{4,}(\?)?", source):
        word = m.group(0).rstrip("?")
        words.add(word)
        if m.group(1):
            words.add(word[:-1])
    return words


def load_signs(content_dir: Path) -> SignList:
    path = content_dir / SIGNS_FILE
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        _check_advice_nodes(root, path)
    return parse_signs(yaml.safe_load(text) or {})


# -- normalising ---------------------------------------------------------------------------
def _base(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def zh_form(text: str) -> str:
    """Lower case, half-width, no spaces or punctuation (but the dot of a number kept)."""
    return _ZH_DROP.sub("", _base(text))


def _close(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein distance of a and b is at most `limit` (1 or 2)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= limit


def _swapped(a: str, b: str) -> bool:
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


@lru_cache(maxsize=50_000)
def _correct(token: str, vocabulary: frozenset[str]) -> str:
    if token in vocabulary or not token.isalpha() or len(token) < 4:
        return token
    if any(token.startswith(w) for w in vocabulary if len(w) >= 5):
        return token  # a longer form of a pattern word ("suicide" of "suicid(e|al)")
    for word in sorted(vocabulary):
        if len(token) == 4:
            if _swapped(token, word):
                return word
        elif _close(token, word, 2 if len(token) >= 8 else 1):
            return word
    return token


def en_form(text: str, vocabulary: frozenset[str]) -> str:
    """Lower-case words without apostrophes (can't → cant), typos read as pattern words."""
    words = _EN_TOKEN.findall(_APOSTROPHES.sub("", _base(text)))
    return " ".join(_correct(w, vocabulary) for w in words)


# -- matching ------------------------------------------------------------------------------
def _strip(text: str, patterns: tuple[re.Pattern[str], ...], sep: str) -> str:
    for p in patterns:
        text = p.sub(sep, text)
    return text


def _zh_hit(sign: Sign, text: str) -> bool:
    for p in sign.zh:
        for m in p.finditer(text):
            before = text[max(0, m.start() - 2) : m.start()]
            if not any(before.endswith(neg) for neg in _ZH_NEGATION):
                return True
    return False


def _en_hit(sign: Sign, text: str) -> bool:
    for p in sign.en:
        for m in p.finditer(text):
            if not _EN_NEGATION.search(text[: m.start()]):
                return True
    return False


def glucose_values(text: str) -> tuple[Decimal, ...]:
    """The blood-sugar values typed in `text`, in mmol/L to one decimal ("血糖3.9", "sugar is
    2.9", "sugar 60 mg/dl" is 3.3). Free text says nothing about who typed it: the values are
    judged by the clinical rules for the resident (`match(judge=...)`), as a reading is."""
    zh, en = zh_form(text), " ".join(_EN_TOKEN.findall(_APOSTROPHES.sub("", _base(text))))
    zh = _ZH_DECIMAL_POINT.sub(r"\1.\2", zh)  # spoken "2点8" is 2.8
    out: list[Decimal] = []
    for m in [*_ZH_GLUCOSE.finditer(zh), *_EN_GLUCOSE.finditer(en)]:
        value = Decimal(m.group(1))
        if m.group(2):  # mg/dL
            value = value / Decimal(str(MG_PER_MMOL))
        value = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if value > 0 and value not in out:
            out.append(value)
    return tuple(out)


def glucose_setting(text: str) -> str | None:
    """fasting / after_meal when the words say when the sugar was measured, else None (both
    said, or neither: never assumed)."""
    zh, en = zh_form(text), " ".join(_EN_TOKEN.findall(_APOSTROPHES.sub("", _base(text))))
    fasting = bool(_ZH_FASTING.search(zh) or _EN_FASTING.search(en))
    after_meal = bool(_ZH_AFTER_MEAL.search(zh) or _EN_AFTER_MEAL.search(en))
    if fasting == after_meal:
        return None
    return "fasting" if fasting else "after_meal"


def glucose_judge(content: ClinicalContent, person: Person) -> Judge:
    """The clinical rules' decision on a typed glucose value for `person`, from the same engine
    a logged reading goes through. With its timing (`setting`) the decision for that setting;
    without, the decision only when fasting and after a meal give the same verdict (action and
    direction; every low band and the danger line span both settings), with the advice of
    both when their bands differ; else None: the timing changes the answer, so the resident
    is asked, never assumed fasting (issue 17 audit)."""

    def judge(value: Decimal, setting: str | None = None) -> Decision | None:
        values = {"glucose": value}
        beyond = engine.outside(content, "glucose", values)
        if beyond is not None:
            return beyond
        if setting is not None:
            return engine.decide(content, "glucose", values, setting, person)
        fasting, after_meal = (
            engine.decide(content, "glucose", values, s, person) for s in ("fasting", "after_meal")
        )
        if fasting == after_meal:
            return fasting
        if (fasting.action, fasting.direction) != (after_meal.action, after_meal.direction):
            return None
        # The same verdict either way, by different bands: the advice of both, each true
        # whichever it was ("a normal fasting value ...", "a normal value after a meal ...").
        return engine.combine(fasting, after_meal)

    return judge


def _unnegated(patterns: tuple[re.Pattern[str], ...], text: str, zh: bool) -> bool:
    for p in patterns:
        for m in p.finditer(text):
            if zh:
                before = text[max(0, m.start() - 2) : m.start()]
                if not any(before.endswith(neg) for neg in _ZH_NEGATION):
                    return True
            elif not _EN_NEGATION.search(text[: m.start()]):
                return True
    return False


def _glucose_hit(
    sign: Sign, zh: str, en: str, text: str, judge: Judge | None
) -> tuple[bool, tuple[tuple[Decimal, Decision], ...]]:
    """A typed value the clinical rules call low, for this person: (the sign itself, when one
    of the rules' conditions for 120 is typed with it: drowsy, confused, cannot swallow;
    else the values to answer with the rules' own reply at once: urgent ones, or any low one
    with a symptom of low sugar typed too)."""
    if not sign.glucose_value or judge is None:
        return False, ()
    setting = glucose_setting(text)
    lows = [
        (v, d)
        for v in glucose_values(text)
        if (d := judge(v, setting)) is not None and d.direction is Direction.LOW
    ]
    if not lows:
        return False, ()
    if _unnegated(sign.danger_zh, zh, True) or _unnegated(sign.danger_en, en, False):
        return True, ()
    symptoms = any(p.search(zh) for p in sign.symptoms_zh) or any(
        p.search(en) for p in sign.symptoms_en
    )
    return False, tuple((v, d) for v, d in lows if d.urgent or symptoms)


def about_self(signs: SignList, text: str) -> bool:
    """The words describe the writer: no other person is named (我爸, 他, my father, she)."""
    zh, en = zh_form(text), " ".join(_EN_TOKEN.findall(_APOSTROPHES.sub("", _base(text))))
    return not (
        any(p.search(zh) for p in signs.others_zh) or any(p.search(en) for p in signs.others_en)
    )


def match(signs: SignList, text: str, judge: Judge | None = None) -> RedFlag | None:
    """The emergency signs in `text`, most urgent first, or None. `judge` gives the clinical
    rules' decision on a typed glucose value for the person typing (None: values are not
    judged, only words count). A low value raises low_sugar with `treat_first` set (the
    rules' reply, not the ambulance) unless the rules' conditions for 120 are typed too."""
    if not text or not text.strip():
        return None
    zh = _strip(zh_form(text), signs.exclude_zh, "|")
    en = _strip(en_form(text, signs.vocabulary), signs.exclude_en, " | ")
    found: list[Sign] = []
    treat: tuple[tuple[Decimal, Decision], ...] = ()
    for s in signs.signs:
        if _zh_hit(s, zh) or _en_hit(s, en):
            found.append(s)
            continue
        ambulance, typed = _glucose_hit(s, zh, en, text, judge)
        if ambulance or typed:
            found.append(s)
            treat = treat or typed
    if not found:
        return None
    asks_about = any(p.search(zh) for p in signs.education_zh) or any(
        p.search(en) for p in signs.education_en
    )
    if asks_about:
        now = any(w in zh for w in signs.now_zh) or any(
            re.search(rf"\b{re.escape(w)}\b", en) for w in signs.now_en
        )
        if not now:
            return None
    return RedFlag(tuple(found), about_self(signs, text), treat)
