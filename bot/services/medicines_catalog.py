"""The medicine list (content/medicines/*.yaml): loaded and checked at start-up, searched by
name in Chinese or English, or by pinyin initials.

Pinyin initials are computed from the Chinese names with pypinyin when the content is loaded
(a few milliseconds for the list), not kept in the file: the name is the one source, so an
edited or added name can never disagree with its initials. pypinyin reads words with its
phrase dictionary, which gets most polyphonic characters right in drug names (单硝酸 → d);
an entry may still give `pinyin:` where it does not.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pypinyin import Style, lazy_pinyin

from bot.domain.medicines import MAX_NAME, Medicine

UNITS = ("tablet", "capsule", "sachet", "iu", "puff", "ml")
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class MedicineContentError(ValueError):
    """The medicine list is broken; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    zh: str
    en: str


@dataclass(frozen=True)
class MedicineCatalog:
    medicines: tuple[Medicine, ...]
    groups: tuple[Group, ...]
    source_zh: str
    source_en: str

    def get(self, med_id: str) -> Medicine | None:
        return next((m for m in self.medicines if m.id == med_id), None)

    def in_group(self, group: str) -> list[Medicine]:
        return [m for m in self.medicines if m.group == group]

    def search(self, text: str, limit: int = 8) -> list[Medicine]:
        """Medicines whose Chinese or English name or ingredient contains `text`, or whose
        pinyin initials (of the name or of the ingredient) contain it; name starts first."""
        q = normalize_query(text)
        if not q:
            return []
        scored: list[tuple[int, int, Medicine]] = []
        for i, m in enumerate(self.medicines):
            fields = (
                m.name_zh,
                m.ingredient_zh,
                m.name_en.lower(),
                m.ingredient_en.lower(),
                m.initials,
                m.ingredient_initials,
            )
            if any(f.startswith(q) for f in fields):
                scored.append((0, i, m))
            elif any(q in f for f in fields):
                scored.append((1, i, m))
        scored.sort(key=lambda s: (s[0], s[1]))
        return [m for _, _, m in scored[:limit]]

    def by_name(self, name: str) -> Medicine | None:
        """The medicine a typed name is exactly (either language, name or ingredient)."""
        q = normalize_query(name)
        for m in self.medicines:
            if q in (m.name_zh, m.ingredient_zh, m.name_en.lower(), m.ingredient_en.lower()):
                return m
        return None


def normalize_query(text: str) -> str:
    """Full-width letters to half-width, lower case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def initials(name: str) -> str:
    """Pinyin initials of the Chinese characters in `name`; other characters kept, lower case."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MedicineContentError(f"{where}: '{key}' is required")
    return value.strip()


def load_catalog(directory: Path) -> MedicineCatalog:
    """Read every `*.yaml` in `directory`; MedicineContentError names what is wrong."""
    medicines: list[Medicine] = []
    groups: dict[str, Group] = {}
    sources: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise MedicineContentError(f"{path.name}: not valid YAML ({exc})") from None
        src = data.get("source") or {}
        if not isinstance(src, dict) or not src.get("zh_Hans") or not src.get("en"):
            raise MedicineContentError(f"{path.name}: a source in zh_Hans and en is required")
        sources.append((str(src["zh_Hans"]), str(src["en"])))
        for g in data.get("groups") or []:
            gid = _text(g, "id", f"{path.name} group")
            groups[gid] = Group(gid, _text(g, "zh_Hans", gid), _text(g, "en", gid))
        for i, entry in enumerate(data.get("medicines") or []):
            where = f"{path.name} medicine #{i + 1}"
            mid = _text(entry, "id", where)
            where = f"{path.name} medicine {mid!r}"
            if not set(mid) <= _ID_CHARS or len(mid) > 24:
                raise MedicineContentError(f"{where}: id must be a-z, 0-9, '-', 24 at most")
            if any(m.id == mid for m in medicines):
                raise MedicineContentError(f"{where}: id used twice")
            group = _text(entry, "group", where)
            if group not in groups:
                raise MedicineContentError(f"{where}: unknown group {group!r}")
            unit = _text(entry, "unit", where)
            if unit not in UNITS:
                raise MedicineContentError(f"{where}: unit must be one of {', '.join(UNITS)}")
            strengths = entry.get("strengths") or []
            if not isinstance(strengths, list) or not all(isinstance(s, str) for s in strengths):
                raise MedicineContentError(f"{where}: strengths must be a list of texts")
            name_zh = _text(entry, "name_zh", where)
            if len(name_zh) > MAX_NAME:
                raise MedicineContentError(f"{where}: name_zh longer than {MAX_NAME}")
            ingredient_zh = _text(entry, "ingredient_zh", where)
            medicines.append(
                Medicine(
                    id=mid,
                    group=group,
                    name_zh=name_zh,
                    name_en=_text(entry, "name_en", where),
                    ingredient_zh=ingredient_zh,
                    ingredient_en=_text(entry, "ingredient_en", where).lower(),
                    unit=unit,
                    strengths=tuple(s.strip() for s in strengths),
                    initials=str(entry.get("pinyin") or initials(name_zh)),
                    ingredient_initials=initials(ingredient_zh),
                )
            )
    if not medicines:
        raise MedicineContentError(f"{directory}: no medicines found")
    return MedicineCatalog(
        tuple(medicines),
        tuple(groups.values()),
        "; ".join(s[0] for s in sources),
        "; ".join(s[1] for s in sources),
    )
