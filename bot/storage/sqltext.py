"""Store SQL is written with SQLite's `?` placeholders; psycopg wants `%s` (and a literal `%`
doubled). The translation happens here, once per distinct statement, and only outside string
literals, quoted identifiers and comments, so a `?` or `%` inside '...' is never touched."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    out: list[str] = []
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
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)
