"""Callback data: short, versioned, re-validated on arrival.

Format: ``v1:<feature>:<part>:<part>...``, at most 64 bytes (Telegram's limit). A button from
an older version of the bot (another prefix) is answered as stale rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import MAX_CALLBACK_BYTES

VERSION = "v1"


class StaleButton(Exception):
    """The button's data is malformed, from an old version, or no longer valid."""


@dataclass(frozen=True, slots=True)
class Callback:
    feature: str
    parts: tuple[str, ...]

    def expect(self, *counts: int) -> None:
        """StaleButton unless the data has one of these numbers of parts."""
        if len(self.parts) not in counts:
            raise StaleButton(f"expected {counts} parts, got {len(self.parts)}")

    def part(self, index: int) -> str:
        """The part at `index`, or StaleButton if the data is too short."""
        try:
            return self.parts[index]
        except IndexError:
            raise StaleButton(f"missing part {index}") from None

    def int_part(self, index: int) -> int:
        """The part at `index` as a non-negative int, or StaleButton."""
        value = self.part(index)
        if not value.isdigit() or len(value) > 18:
            raise StaleButton(f"part {index} is not a number")
        return int(value)

    def choice(self, index: int, allowed: tuple[str, ...] | frozenset[str]) -> str:
        value = self.part(index)
        if value not in allowed:
            raise StaleButton(f"part {index} not allowed")
        return value


def cb(feature: str, *parts: object) -> str:
    """Build callback data; raises ValueError if it would not fit or is ambiguous."""
    items = [feature, *map(str, parts)]
    data = ":".join([VERSION, *items])
    # Every screen builds several of these: one pass over the joined string instead of one
    # per part. A colon inside a part shows as one colon too many.
    if data.count(":") != len(items) or "" in items:
        raise ValueError(f"callback parts must be non-empty and colon-free: {items}")
    if len(data) > MAX_CALLBACK_BYTES // 4 and len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> Callback:
    """Parse callback data from a button press; StaleButton if it is not ours or too old."""
    if not data or (
        len(data) > MAX_CALLBACK_BYTES // 4 and len(data.encode()) > MAX_CALLBACK_BYTES
    ):
        raise StaleButton("empty or oversized")
    version, _, rest = data.partition(":")
    if version != VERSION or not rest:
        raise StaleButton("unknown version")
    feature, *parts = rest.split(":")
    if not feature or any(not p for p in parts):
        raise StaleButton("malformed")
    return Callback(feature, tuple(parts))
