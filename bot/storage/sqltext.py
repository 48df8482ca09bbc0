"""Store SQL is written with SQLite's `?` placeholders; psycopg wants `%s` (and a literal `%`
doubled). The translation happens here, once per distinct statement, and only outside string
literals, quoted identifiers and comments, so a `?` or `%` inside '...' is never touched.

SQLite's numbered `?NNN` (one value used twice) becomes psycopg's named `%(pNNN)s`; a
statement that has one numbers all its placeholders as SQLite does (a plain `?` is one more
than the largest number before it), and `bind` turns its values into the matching mapping."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


def to_pyformat(sql: str) -> str:
    """`sql` for psycopg; a statement with ?NNN placeholders needs `translate` and `bind`."""
    query, numbered = translate(sql)
    if numbered:
        raise ValueError("numbered placeholders: use translate() and bind()")
    return query


def bind(params: Sequence[Any], numbered: bool) -> Sequence[Any] | dict[str, Any]:
    if not numbered:
        return params
    return {f"p{i}": v for i, v in enumerate(params, 1)}


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, bool]:
    """(the statement for psycopg, whether its placeholders are numbered)."""
    plain = _scan(sql, numbered=False)
    if plain is not None:
        return plain, False
    numbered = _scan(sql, numbered=True)
    assert numbered is not None
    return numbered, True


def _scan(sql: str, numbered: bool) -> str | None:
    """The translation; None if `numbered` is False and a ?NNN was found."""
    out: list[str] = []
    highest = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            # A quoted literal or identifier; a doubled quote inside is an escaped quote.
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            if end >= n:
                raise ValueError("unterminated quote in SQL")
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated comment in SQL")
            out.append(sql[i : end + 2].replace("%", "%%"))
            i = end + 2
        elif ch == "?":
            end = i + 1
            while end < n and sql[end].isdigit():
                end += 1
            if end > i + 1 and not numbered:
                return None
            if numbered:
                number = int(sql[i + 1 : end]) if end > i + 1 else highest + 1
                highest = max(highest, number)
                out.append(f"%(p{number})s")
            else:
                out.append("%s")
            i = end
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)
