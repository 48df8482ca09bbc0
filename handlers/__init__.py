"""Feature handlers: one module per feature, each with `register(registry)`.

Modules are discovered, so adding a feature does not touch a central list. Registration
order does not matter: each command, button prefix, menu key and state belongs to one module.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.router import Registry


def build_registry() -> Registry:
    registry = Registry()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(registry)
    return registry
