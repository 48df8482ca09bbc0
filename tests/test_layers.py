"""Import directions, read from the source with `ast`: an arrow that runs the wrong way fails.

    handlers ─► bot.services ─► bot.storage ─► bot.domain (standard library only)
        │             │
        └─────────────┴─► bot.delivery (the Sender contract, dispatcher, limiter, jobs)

Imports under `if TYPE_CHECKING:` count too: a type is a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# (importer, imported) prefixes that must never meet, with why.
FORBIDDEN = [
    ("handlers", "bot.storage", "handlers reach data through services (ctx.services)"),
    ("bot.services", "bot.channels", "feature logic knows no chat channel"),
    ("bot.services", "handlers", "services do not know the screens above them"),
    ("bot.storage", "bot.services", "storage is below the services"),
    ("bot.storage", "handlers", "storage is below the handlers"),
    ("bot.storage", "bot.channels", "storage is below the channels"),
    ("bot.storage", "bot.delivery", "storage is below delivery"),
    ("bot.storage", "bot.app", "storage is below the composition root"),
    ("bot.storage", "bot.runtime", "storage is below the runtime"),
    ("bot.delivery", "handlers", "delivery renders through the registry, not by importing"),
    ("bot.delivery", "bot.channels", "channels implement the Sender contract, not the reverse"),
]

# Where `telegram` (python-telegram-bot) may be imported: the channel, the composition root,
# the CLI commands that run it, and the web app that hosts its webhook route.
TELEGRAM_ALLOWED = ("bot/channels/telegram", "bot/app.py", "bot/commands/", "bot/web/app.py")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _sources() -> list[Path]:
    return sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])


def imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, relative imports resolved against its
    package (found from the path inside the repository unless given)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        module = _module(path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from bot import storage` imports the subpackage bot.storage.
            found.extend((node.lineno, f"{name}.{alias.name}") for alias in node.names)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """The parser finds plain, `from`, relative and TYPE_CHECKING imports alike."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "import bot.storage.db\n"
        "from bot import storage\n"
        "from ..storage import outbox\n"
        "if TYPE_CHECKING:\n"
        "    from bot.storage.residents import ResidentStore\n"
    )
    names = [name for _, name in imports(probe, package="bot.services")]
    assert "bot.storage.db" in names and "bot.storage" in names
    assert "bot.storage.outbox" in names and "bot.storage.residents" in names


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN)
def test_no_arrow_runs_the_wrong_way(importer: str, imported: str, why: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources()
        if _under(_module(path), importer)
        for line, name in imports(path)
        if _under(name, imported)
    ]
    assert not wrong, f"{why}:\n" + "\n".join(wrong)


def test_domain_imports_only_the_standard_library() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in (ROOT / "bot" / "domain").rglob("*.py")
        for line, name in imports(path)
        if name.split(".")[0] not in STDLIB and not _under(name, "bot.domain")
    ]
    assert not wrong, "bot.domain is the bottom floor:\n" + "\n".join(wrong)


def test_telegram_is_imported_only_by_its_channel() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources()
        if not str(path.relative_to(ROOT)).startswith(TELEGRAM_ALLOWED)
        for line, name in imports(path)
        if _under(name, "telegram")
    ]
    assert not wrong, "only bot/channels/telegram*.py speaks Telegram:\n" + "\n".join(wrong)
