"""Catalog upkeep: `python scripts/i18n.py update` extracts msgids, updates both catalogs,
fills English (the msgids are English), and checks both catalogs parse. `check` lists
untranslated msgids.
`fill FILE.json` merges {msgid: zh translation} into the zh_Hans catalog.

It only chains the pybabel steps documented in the README, under a file lock so that two
people (or agents) updating at once do not overwrite each other's work.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"


@contextmanager
def locked():
    with open("/tmp/doorstep-i18n.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def pybabel(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *args],
        check=True,
        cwd=ROOT,
    )


def po_path(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / "messages.po"


def _rewrite(locale: str, fn) -> None:
    path = po_path(locale)
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    fn(catalog)
    with path.open("wb") as fh:
        write_po(
            fh,
            catalog,
            width=100,
            omit_header=False,
            ignore_obsolete=True,
            include_previous=False,
            sort_output=True,
            no_location=True,
        )


def _fill_english(catalog) -> None:
    for msg in catalog:
        if not msg.id:
            continue
        msg.string = msg.id
        msg.flags.discard("fuzzy")


def update() -> None:
    pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "N_",
        "-k",
        "ngettext:1,2",
        "--no-location",
        "--sort-output",
        "--project=doorstep",
        "-o",
        str(POT.relative_to(ROOT)),
        ".",
    )
    for locale in ("zh_Hans", "en"):
        if po_path(locale).exists():
            pybabel(
                "update",
                "-i",
                str(POT.relative_to(ROOT)),
                "-d",
                "locales",
                "-l",
                locale,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            )
        else:
            pybabel("init", "-i", str(POT.relative_to(ROOT)), "-d", "locales", "-l", locale)
    _rewrite("en", _fill_english)
    compile_()


def compile_() -> None:
    """Check that both catalogs compile. Nothing is written: the bot compiles the .po files in
    memory when it loads them, so there is no .mo file to keep current."""
    for locale in ("zh_Hans", "en"):
        with po_path(locale).open("rb") as fh:
            read_po(fh, locale=locale)


def missing(locale: str = "zh_Hans") -> list[str]:
    with po_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return [
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id
        and (
            not m.string
            or (isinstance(m.string, tuple) and not all(m.string))
            or "fuzzy" in m.flags
        )
    ]


def fill(path: str) -> None:
    table = json.loads(Path(path).read_text("utf-8"))

    def apply(catalog) -> None:
        for msg in catalog:
            key = msg.id if isinstance(msg.id, str) else msg.id[0]
            if key in table:
                value = table[key]
                msg.string = tuple(value) if isinstance(msg.id, tuple) else value
                msg.flags.discard("fuzzy")

    _rewrite("zh_Hans", apply)
    compile_()


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    with locked():
        if cmd == "update":
            update()
        elif cmd == "compile":
            compile_()
        elif cmd == "fill":
            fill(sys.argv[2])
        left = missing()
    if left:
        print(f"{len(left)} msgid(s) lack a zh_Hans translation:")
        for m in left:
            print("  " + json.dumps(m, ensure_ascii=False))
        sys.exit(1 if cmd == "check" else 0)
    print("zh_Hans is complete")
