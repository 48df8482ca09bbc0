"""What residents type in My medicines, checked: medicine names and amounts (doses as their
doctor told them, kept as typed). Pure functions, no chat."""

from __future__ import annotations

import re
import unicodedata

from bot.domain.medicines import MAX_AMOUNT, MAX_NAME

# A plain amount: 1, 0.5, 1/2, ½, 1½ (the medicine's own unit goes with it).
NUMBER = re.compile(r"^(\d{1,3}(\.\d{1,2})?|\d/\d|½|¼|¾|\d½)$")


def is_number(amount: str) -> bool:
    return NUMBER.match(amount) is not None


def clean_name(text: str) -> str | None:
    name = " ".join(unicodedata.normalize("NFKC", text).split())
    if not 1 <= len(name) <= MAX_NAME or name.startswith("/"):
        return None
    if not any(c.isalpha() for c in name):
        return None
    return name


def parse_amount(text: str) -> str | None:
    """What the resident typed as the amount: a number (½, 1/2, 0.5, 2) or a short text with
    a number in it ("2 puffs", "10单位"); None if it has no number or is out of range."""
    raw = " ".join(unicodedata.normalize("NFKC", text).split())
    if not raw or len(raw) > MAX_AMOUNT or raw.startswith("/"):
        return None
    # NFKC turns ½ into 1⁄2 (a fraction slash): keep the readable signs.
    raw = raw.replace("1⁄2", "½").replace("1⁄4", "¼").replace("3⁄4", "¾")
    if raw == "半":
        return "½"
    head = raw.split(" ")[0]
    if NUMBER.match(head):
        if "/" not in head and not any(c in head for c in "½¼¾"):
            value = float(head)
            if not 0 < value <= 100:
                return None
        return raw
    if any(c.isdigit() for c in raw) or any(c in raw for c in "½¼¾半一二三四五六七八九十"):
        digits = re.findall(r"\d+(?:\.\d+)?", raw)
        if digits and not all(0 < float(d) <= 1000 for d in digits):
            return None
        return raw
    return None
