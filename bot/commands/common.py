"""What the operator commands share: the --db option, opening the runtime for one command,
dates on the command line, local times and plain-text tables. Not a command itself (no
`register`), so the CLI's discovery skips it."""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from bot.config import ConfigError, Settings, db_target, district_code
from bot.domain.districts import ALL_DISTRICTS
from bot.runtime import Runtime


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """--db, and --district: what the command reads and changes is that district's (issue
    14). Without it, $DOORSTEP_DISTRICT, else the default district (a single-district
    deployment never needs the flag)."""
    parser.add_argument(
        "--db",
        type=db_target,
        help="SQLite file or postgresql:// URL (default: $DOORSTEP_DB)",
    )
    parser.add_argument(
        "--district",
        metavar="CODE",
        help="the district (default: $DOORSTEP_DISTRICT, else 'default')",
    )


def with_db(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with the command's --db and --district, where it has them and they were
    given."""
    db = getattr(args, "db", None)
    if db is not None:
        settings = replace(settings, db_path=db)
    district = getattr(args, "district", None)
    if district is not None:
        settings = replace(settings, district=district_code(district, shared=True))
    return settings


@asynccontextmanager
async def open_runtime(args: argparse.Namespace, settings: Settings) -> AsyncIterator[Runtime]:
    """A started Runtime on the command's database, stopped when the block ends. A district
    that the database does not know is refused before anything is read or written."""
    rt = Runtime(with_db(args, settings))
    await rt.start()
    try:
        code = rt.settings.district
        if code != ALL_DISTRICTS and await rt.stores.districts.get(code) is None:
            raise ConfigError(
                f"unknown district {code!r}; add it with: doorstep district add {code} "
                "--name-zh NAME --name-en NAME"
            )
        yield rt
    finally:
        await rt.stop()


def iso_date(text: str) -> date:
    """An argparse type: a date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def local_time(ts: int, settings: Settings) -> datetime:
    """Unix seconds as a time in the deployment's time zone (what operators read)."""
    return datetime.fromtimestamp(ts, UTC).astimezone(settings.tz)


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its width, alignment and the spaces after it."""

    width: int
    right: bool = False
    gap: int = 1


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: Chinese characters (wide, full-width) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def table_row(columns: Sequence[Column], cells: Sequence[object]) -> str:
    """One line of a plain-text table: each cell padded to its column by display width (a
    team named 朱泾一团队 takes ten columns, not five), the last cell (after the columns) as
    it is. A cell wider than its column pushes the rest right rather than being cut."""
    parts = []
    for col, cell in zip(columns, cells, strict=False):
        text = str(cell)
        pad = " " * max(0, col.width - display_width(text))
        parts.append((pad + text if col.right else text + pad) + " " * col.gap)
    return "".join(parts) + "".join(str(c) for c in cells[len(columns) :])
