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
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.domain.clinical import Action, Decision, Direction, Person
from bot.domain.questions import RedFlag, Sign, SignList
from bot.services import clinical_engine as engine
from bot.services.clinical_rules import ClinicalContent

# The clinical rules' decision on a typed glucose value (mmol/L) for the person typing.
Judge = Callable[[Decimal], Decision | None]

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


def glucose_judge(content: ClinicalContent, person: Person) -> Judge:
    """The clinical rules' decision on a typed glucose value for `person`, from the same engine
    a logged reading goes through. Free text does not say fasting or after a meal, so a value
    is judged only where both settings agree (every low value: the low bands span both)."""

    def judge(value: Decimal) -> Decision | None:
        values = {"glucose": value}
        beyond = engine.outside(content, "glucose", values)
        if beyond is not None:
            return beyond
        fasting, after_meal = (
            engine.decide(content, "glucose", values, setting, person)
            for setting in ("fasting", "after_meal")
        )
        same = (fasting.action, fasting.direction) == (after_meal.action, after_meal.direction)
        return fasting if same else None

    return judge


def _glucose_emergency(sign: Sign, zh: str, en: str, text: str, judge: Judge | None) -> bool:
    """A typed value the clinical rules call an emergency (call 120) for this person, or one
    they call low together with a symptom of low sugar (sweating, shaking, confusion...)."""
    if not sign.glucose_value or judge is None:
        return False
    symptoms = any(p.search(zh) for p in sign.symptoms_zh) or any(
        p.search(en) for p in sign.symptoms_en
    )
    for value in glucose_values(text):
        decision = judge(value)
        if decision is None:
            continue
        if decision.action is Action.CALL_120:
            return True
        if symptoms and decision.direction is Direction.LOW:
            return True
    return False


def about_self(signs: SignList, text: str) -> bool:
    """The words describe the writer: no other person is named (我爸, 他, my father, she)."""
    zh, en = zh_form(text), " ".join(_EN_TOKEN.findall(_APOSTROPHES.sub("", _base(text))))
    return not (
        any(p.search(zh) for p in signs.others_zh) or any(p.search(en) for p in signs.others_en)
    )


def match(signs: SignList, text: str, judge: Judge | None = None) -> RedFlag | None:
    """The emergency signs in `text`, most urgent first, or None. `judge` gives the clinical
    rules' decision on a typed glucose value for the person typing (None: values are not
    judged, only words count)."""
    if not text or not text.strip():
        return None
    zh = _strip(zh_form(text), signs.exclude_zh, "|")
    en = _strip(en_form(text, signs.vocabulary), signs.exclude_en, " | ")
    found = [
        s
        for s in signs.signs
        if _zh_hit(s, zh) or _en_hit(s, en) or _glucose_emergency(s, zh, en, text, judge)
    ]
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
    return RedFlag(tuple(found), about_self(signs, text))
