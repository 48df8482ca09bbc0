"""Common questions: the FAQ files (content/faq/*.yaml) and an offline matcher over them.

Matching is TF-IDF over character n-grams (scikit-learn), so Chinese needs no word
segmentation, English typos still share most n-grams, and nothing is downloaded at run time.
Every way of asking an entry (its zh and en question and its `also` list) is its own row; an
entry scores as its best row. A match is answered directly only when it is strong, clearly
ahead of the next, and most of the typed words are known to the FAQ and to that entry; anything
less is "not sure" (three suggestions and Ask my team). bench/faq.py measures it against
difflib on development and held-out paraphrases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

from bot.domain.questions import FaqAnswer, FaqEntry, FaqHit

FAQ_DIR = "faq"
LOCALES = ("zh_Hans", "en")
TOPICS = (
    "signing",
    "hours",
    "prescriptions",
    "referral",
    "insurance",
    "elderly_check",
    "vaccines",
    "chronic",
    "smart_stations",
    "home_care",
    "doorstep",
)
MAX_ANSWER = 1000
# Chosen on the development sets of bench/faq.py (never on the held-out set): character 1- to
# 3-grams within word boundaries, sublinear term frequency. An entry's score is its best way of
# asking plus ENTRY_WEIGHT times the similarity to the whole entry (all its questions and both
# answers), which breaks ties between neighbours such as "what is" and "how long" of one topic
# (1.0 rather than 0.6: development top-1 0.842 -> 0.851). Words from a Chinese segmenter
# (jieba-rs) added to the characters gained 0.01 top-1 on the development sets: not worth a
# dependency.
# A best score of at least CONFIDENT with a lead of MARGIN over the next entry is answered
# directly; anything less gets the three best questions as buttons.
NGRAMS = (1, 3)
ENTRY_WEIGHT = 1.0
CONFIDENT = 0.5
MARGIN = 0.05
# Answered directly only when most of what was typed is known: KNOWN is the least share of the
# typed words (Chinese characters, English words; stop words and synonyms applied) found
# anywhere in the FAQ, COVERAGE the least share found in the best entry itself. Without these
# "超市几点关门" (when does the supermarket close) was answered with the centre's hours. Both
# chosen on the development sets, faq_dev_none.yaml included: wrong confident answers 9.6 % ->
# 4.2 % of all development questions, answered directly 78 % -> 65 % (the rest get the three
# best questions as buttons and Ask my team).
KNOWN = 0.8
COVERAGE = 0.7
_DROP = re.compile(r"[^\w\s+]|_")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[a-z]+")


class FaqFileError(ValueError):
    """A broken FAQ file: the message names the file, the entry and the problem."""


@dataclass(frozen=True, slots=True)
class FaqContent:
    entries: tuple[FaqEntry, ...]
    sources: dict[str, dict[str, str]]  # id -> locale -> citation
    synonyms: Synonyms

    def entry(self, entry_id: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def by_topic(self, topic: str) -> list[FaqEntry]:
        return [e for e in self.entries if e.topic == topic]


# English function words carry no topic: without this, "what is this" matched "what is ..."
# questions confidently.
STOP_WORDS = frozenset(
    "a an the is are am was were be been do does did can could should would will i me my "
    "mine you your we our us it its this that these those to of for in on at by with and or "
    "what how when where who which why there here please help want need get have has had "
    "any some about just so if not".split()
)


def normalise(text: str) -> str:
    words = _DROP.sub(" ", unicodedata.normalize("NFKC", text).lower()).split()
    return " ".join(w for w in words if w not in STOP_WORDS)


class Synonyms:
    """Reads every listed variant as its group's word (content/faq/synonyms.yaml).

    Chinese variants are replaced anywhere in the text, English ones as whole words; longer
    variants first, so 小孩儿 is not read as 小孩 + 儿."""

    def __init__(self, groups: dict[str, Sequence[str]]) -> None:
        pairs = sorted(
            ((str(v).lower(), str(k).lower()) for k, vs in groups.items() for v in vs),
            key=lambda p: -len(p[0]),
        )
        self.mapping = dict(pairs)
        if not pairs:
            self.pattern: re.Pattern[str] | None = None
            return
        parts = [re.escape(v) if not v.isascii() else rf"\b{re.escape(v)}\b" for v, _ in pairs]
        self.pattern = re.compile("|".join(parts))

    def apply(self, text: str) -> str:
        text = normalise(text)
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.mapping[m.group(0)], text)


def load_synonyms(content_dir: Path) -> Synonyms:
    path = content_dir / FAQ_DIR / "synonyms.yaml"
    if not path.exists():
        return Synonyms({})
    with path.open(encoding="utf-8") as f:
        return Synonyms((yaml.safe_load(f) or {}).get("synonyms") or {})


# -- loading ----------------------------------------------------------------------------------
def _also(raw: dict[str, Any], where: str, entry_id: str) -> tuple[str, ...]:
    items = raw.get("also") or ()
    if any(not isinstance(x, str) for x in items):
        raise FaqFileError(f"{where} {entry_id}: every 'also' item must be plain text")
    return tuple(items)


def _entry(raw: dict[str, Any], topic: str, sources: dict[str, Any], where: str) -> FaqEntry:
    entry_id = str(raw.get("id", ""))
    if not re.fullmatch(r"[a-z0-9-]{2,32}", entry_id):
        raise FaqFileError(f"{where}: bad id {entry_id!r}")
    question, answer = {}, {}
    for loc, key in (("zh_Hans", "zh"), ("en", "en")):
        block = raw.get(key) or {}
        for part in ("q", "a"):
            if not isinstance(block.get(part, ""), str):
                raise FaqFileError(
                    f"{where} {entry_id}: {key}.{part} must be plain text "
                    "(quote a text that contains ': ')"
                )
        question[loc] = str(block.get("q", "")).strip()
        answer[loc] = str(block.get("a", "")).strip()
        if not question[loc] or not answer[loc]:
            raise FaqFileError(f"{where} {entry_id}: a question and an answer in {key}")
        if len(answer[loc]) > MAX_ANSWER:
            raise FaqFileError(f"{where} {entry_id}: answer over {MAX_ANSWER} characters")
    source = str(raw.get("source", ""))
    if source not in sources:
        raise FaqFileError(f"{where} {entry_id}: unknown source {source!r}")
    reviewed = raw.get("last_reviewed")
    if not isinstance(reviewed, date):
        raise FaqFileError(f"{where} {entry_id}: last_reviewed must be a date (YYYY-MM-DD)")
    return FaqEntry(
        id=entry_id,
        topic=topic,
        question=question,
        answer=answer,
        also=_also(raw, where, entry_id),
        source={loc: str(sources[source].get(loc, "")) for loc in LOCALES},
        last_reviewed=reviewed,
    )


def load_faq(content_dir: Path) -> FaqContent:
    folder = content_dir / FAQ_DIR
    with (folder / "sources.yaml").open(encoding="utf-8") as f:
        sources = (yaml.safe_load(f) or {}).get("sources") or {}
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("[0-9]*.yaml")):
        with path.open(encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        topic = str(data.get("topic", ""))
        if topic not in TOPICS:
            raise FaqFileError(f"{path.name}: unknown topic {topic!r}")
        for raw in data.get("entries") or []:
            entry = _entry(raw, topic, sources, path.name)
            if entry.id in seen:
                raise FaqFileError(f"{path.name}: id {entry.id} is used twice")
            seen.add(entry.id)
            entries.append(entry)
    if not entries:
        raise FaqFileError(f"no FAQ entries in {folder}")
    sources_out = {k: dict(v) for k, v in sources.items()}
    return FaqContent(tuple(entries), sources_out, load_synonyms(content_dir))


# -- matching ---------------------------------------------------------------------------------
def ways_to_ask(entry: FaqEntry) -> list[str]:
    return [entry.question["zh_Hans"], entry.question["en"], *entry.also]


class FaqIndex:
    """The matcher: built once from the entries, then `search` per typed question."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        synonyms: Synonyms | None = None,
        ngrams: tuple[int, int] = NGRAMS,
        entry_weight: float = ENTRY_WEIGHT,
        confident: float = CONFIDENT,
        margin: float = MARGIN,
        known: float = KNOWN,
        coverage: float = COVERAGE,
    ) -> None:
        self.entries = tuple(entries)
        self.confident = confident
        self.margin = margin
        self.known = known
        self.coverage = coverage
        self.synonyms = synonyms or Synonyms({})
        norm = self.synonyms.apply
        rows: list[str] = []
        owner: list[int] = []
        for i, entry in enumerate(self.entries):
            for text in ways_to_ask(entry):
                rows.append(norm(text))
                owner.append(i)
        self.vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=ngrams, sublinear_tf=True, dtype=np.float32
        )
        docs = [
            norm(" ".join([*ways_to_ask(e), e.answer["zh_Hans"], e.answer["en"]]))
            for e in self.entries
        ]
        self.vectorizer.fit(rows + docs)
        self.matrix = self.vectorizer.transform(rows)
        self.docs = self.vectorizer.transform(docs)
        self.entry_weight = entry_weight
        self.owner = np.asarray(owner)
        self.words = [frozenset(_TOKEN.findall(d)) for d in docs]
        self.vocabulary = frozenset().union(*self.words)

    def scores(self, text: str) -> np.ndarray:
        """Each entry's score for `text` (see ENTRY_WEIGHT)."""
        query = self.vectorizer.transform([self.synonyms.apply(text)])
        row_scores = (self.matrix @ query.T).toarray().ravel()
        best = np.zeros(len(self.entries), dtype=np.float32)
        np.maximum.at(best, self.owner, row_scores)
        whole: np.ndarray = (self.docs @ query.T).toarray().ravel()
        return best + self.entry_weight * whole

    def known_shares(self, text: str, entry_index: int) -> tuple[float, float]:
        """The share of the typed words found anywhere in the FAQ, and in one entry."""
        words = _TOKEN.findall(self.synonyms.apply(text))
        if not words:
            return 0.0, 0.0
        anywhere = sum(w in self.vocabulary for w in words) / len(words)
        in_entry = sum(w in self.words[entry_index] for w in words) / len(words)
        return anywhere, in_entry

    def search(self, text: str, k: int = 3) -> FaqAnswer:
        best = self.scores(text)
        order = np.argsort(-best, kind="stable")[:k]
        hits = tuple(FaqHit(self.entries[i], float(best[i])) for i in order if best[i] > 0)
        if not hits:
            return FaqAnswer((), False)
        lead = hits[0].score - (hits[1].score if len(hits) > 1 else 0.0)
        strong = hits[0].score >= self.confident and lead >= self.margin
        if not strong:
            return FaqAnswer(hits, False)
        anywhere, in_entry = self.known_shares(text, int(order[0]))
        return FaqAnswer(hits, anywhere >= self.known and in_entry >= self.coverage)


class FaqService:
    """The deployment's FAQ and its index, built once per process (on first use, so CLI
    tools that never match a question do not pay for it)."""

    def __init__(self, content_dir: Path) -> None:
        self.content_dir = content_dir
        self._content: FaqContent | None = None
        self._index: FaqIndex | None = None

    @property
    def content(self) -> FaqContent:
        if self._content is None:
            self._content = load_faq(self.content_dir)
        return self._content

    @property
    def index(self) -> FaqIndex:
        if self._index is None:
            self._index = FaqIndex(self.content.entries, self.content.synonyms)
        return self._index


def top_ids(index: FaqIndex, texts: Iterable[str], k: int = 3) -> list[list[str]]:
    return [[h.entry.id for h in index.search(t, k).hits] for t in texts]
