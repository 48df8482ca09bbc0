"""Feature handlers, grouped by who uses them: `resident/`, `doctor/`, and the shared screens
here (start, menu, privacy, settings). Each feature module has `register(registry)`.

Modules are discovered, so adding a feature does not touch a central list. Registration
order does not matter: each command, button prefix, menu key and state belongs to one module.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.router import Registry


def build_registry() -> Registry:
    registry = Registry()
    found = pkgutil.walk_packages(__path__, prefix=f"{__name__}.")
    for name in sorted(info.name for info in found if not info.ispkg):
        module = importlib.import_module(name)
        register = getattr(module, "register", None)
        if register is not None:
            register(registry)
    return registry
