"""Punctuation follows the locale: full-width ：，；？！（） in Chinese text, ASCII in English.

The catalogs are checked string by string (a placeholder counts as Chinese in zh_Hans: it is
filled with Chinese text there), and the code that builds messages is scanned for separators
written outside gettext ("{who}: {reading}"), which would put an ASCII colon into Chinese text.
"""

from __future__ import annotations

import ast
import re

import pytest
from babel.messages.pofile import read_po

from bot.config import ROOT
from bot.i18n import Catalogs

LOCALES = ROOT / "locales"
ASCII_MARKS = re.compile(r"[:,;?!()]")
FULL_WIDTH = re.compile(r"[：，；？！（）]")


def _strings(locale: str) -> list[tuple[str, str]]:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    out = []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        out += [(ids[0], s) for s in strs if s]
    return out


def chinese_marks_problem(text: str) -> str | None:
    """An ASCII mark in a Chinese string, ignoring times (10:30), fractions and readings
    (150/95), decimals, URLs, /commands and placeholders' own syntax."""
    t = re.sub(r"https?://\S+", "", text)
    t = re.sub(r"\{[^}]*\}", "中", t)
    t = re.sub(r"\d[:.,/]\d", "", t)
    t = re.sub(r"/[a-z]+", "", t)
    t = re.sub(r"\([A-Za-z0-9\- ]+\)", "", t)  # a code kept in Latin letters: (HepB-1)
    hit = ASCII_MARKS.search(t)
    return None if hit is None else hit.group()


def test_chinese_strings_use_full_width_marks() -> None:
    bad = [(msgid, s) for msgid, s in _strings("zh_Hans") if chinese_marks_problem(s)]
    assert bad == []


def test_english_strings_use_ascii_marks() -> None:
    # English msgstrs are the msgids; a Chinese name quoted on purpose is not punctuation.
    bad = [s for _, s in _strings("en") if FULL_WIDTH.search(re.sub(r"[\u3400-\u9fff]+", "", s))]
    assert bad == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [("血压: 150/95", ":"), ("姓名, 电话", ","), ("{label}: {value}", ":"), ("血压：150/95", None)],
)
def test_the_check_finds_ascii_marks(text: str, bad: str | None) -> None:
    assert chinese_marks_problem(text) == bad


def test_labelled_and_lists_follow_the_locale() -> None:
    zh, en = Catalogs().get("zh_Hans"), Catalogs().get("en")
    assert zh.labelled("血压", "150/95") == "血压：150/95"
    assert en.labelled("BP", "150/95") == "BP: 150/95"
    assert zh.list(["高血压", "糖尿病"]) == "高血压和糖尿病"
    assert en.list(["a", "b", "c"]) == "a, b, and c"


def _separator_fstrings(tree: ast.AST) -> list[int]:
    """f-strings that put ": ", ", " or "; " between filled-in values: text for people
    (handlers, channel renderers) must take these from gettext (`t.labelled`, `t.list`)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Raise, ast.Call)) and _is_log_or_error(node):
            for inner in ast.walk(node):
                inner._skip = True  # type: ignore[attr-defined]
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr) or getattr(node, "_skip", False):
            continue
        parts = node.values
        for i, v in enumerate(parts):
            if not (isinstance(v, ast.Constant) and isinstance(v.value, str)):
                continue
            if any(sep in v.value for sep in (": ", ", ", "; ")) and (
                (i > 0 and isinstance(parts[i - 1], ast.FormattedValue))
                or v.value.startswith((": ", ", ", "; "))
            ):
                found.append(node.lineno)
                break
    return found


def _is_log_or_error(node: ast.AST) -> bool:
    if isinstance(node, ast.Raise):
        return True
    assert isinstance(node, ast.Call)
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
    return (
        owner == "log"
        or name.endswith(("Error", "Exception"))
        or name
        in {
            "Deferred",
            "Permanent",
            "Transient",
            "StaleButton",
            "NotADoctor",
            "write",
        }
    )


def test_messages_take_separators_from_gettext() -> None:
    sources = [
        *sorted((ROOT / "handlers").rglob("*.py")),
        ROOT / "bot" / "channels" / "wechat_render.py",
    ]
    offenders = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in sources
        for line in _separator_fstrings(ast.parse(p.read_text("utf-8")))
    ]
    assert offenders == []
    assert _separator_fstrings(ast.parse('lines.append(f"{who}: {reading}")'))
    assert not _separator_fstrings(ast.parse('log.info(f"{who}: {reading}")'))
