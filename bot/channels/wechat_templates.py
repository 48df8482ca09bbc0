"""Subscription messages ("订阅通知"): which template each notification kind uses, and its
field values cut to the platform's limits. Configured by WECHAT_TEMPLATES."""

from __future__ import annotations

import json
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import ConfigError

# Limits of subscription-message field types (by the field name's prefix, e.g. thing1).
FIELD_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "time": 20,
    "date": 20,
    "amount": 11,
    "phone_number": 17,
    "car_number": 8,
    "name": 10,
    "phrase": 5,
}
_FIELD_TYPE = re.compile(r"^([a-z_]+?)\d*$")


@dataclass(frozen=True, slots=True)
class Template:
    """A subscription-message template for one notification kind. `fields` maps template
    field names (thing1, time2...) to format strings over the notification's params and
    `{text}`, the rendered message."""

    template_id: str
    fields: dict[str, str]
    page: str | None = None


def load_templates(raw: str) -> dict[str, Template]:
    """WECHAT_TEMPLATES: JSON, or a path to a .json or .toml file, as
    {kind: {template_id, fields: {name: format}, page?}}."""
    raw = raw.strip()
    if not raw:
        return {}
    try:
        if raw.startswith("{"):
            data = json.loads(raw)
        else:
            path = Path(raw)
            text = path.read_text("utf-8")
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return {
            kind: Template(
                str(spec["template_id"]),
                {str(k): str(v) for k, v in spec["fields"].items()},
                spec.get("page"),
            )
            for kind, spec in data.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"WECHAT_TEMPLATES is not valid: {exc}") from exc


def cut_field(name: str, value: str) -> str:
    """Cut a subscription-message value to its field type's limit (thing.*: 20 characters)."""
    m = _FIELD_TYPE.match(name)
    limit = FIELD_LIMITS.get(m.group(1) if m else "", 20)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return ""


def template_values(tpl: Template, params: dict[str, Any], text: str) -> dict[str, str]:
    values = _Blank({k: str(v) for k, v in params.items()})
    values["text"] = text
    fmt = string.Formatter()
    return {
        name: cut_field(name, fmt.vformat(spec, (), values)) for name, spec in tpl.fields.items()
    }
