"""What the WeChat and web channels keep: access tokens, inbound claims, messaging windows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: str | None
    expires_at: int
    refreshing_until: int


class Claim(StrEnum):
    NEW = "new"  # the first request carrying the key
    RETAKEN = "retaken"  # a retry; the first claim's lease ran out before it was answered


@dataclass(frozen=True, slots=True)
class InboundRecord:
    status: str  # 'running' or 'done'
    reply: str | None


@dataclass(frozen=True, slots=True)
class Window:
    last_inbound_at: int
    cs_budget: int


@dataclass(frozen=True, slots=True)
class PendingWeb:
    id: int
    payload: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ChannelTraits:
    """What a channel can really put in front of a resident. Messages that mention a file, a
    picture, a link or a button are composed from these, never assumed (WeChat gets no file:
    /mydata must not promise one there)."""

    can_send_files: bool = True  # a document arrives as a file to keep
    can_send_images: bool = True  # a picture (a chart, the medicine card) is shown
    has_links: bool = True  # a URL button opens a page
    has_buttons: bool = True  # options are tapped (False: typed as numbers)


# The console sandbox prints a line naming each file and picture, as a stand-in.
TRAITS: dict[str, ChannelTraits] = {
    "telegram": ChannelTraits(),
    "web": ChannelTraits(),
    "wechat": ChannelTraits(can_send_files=False, can_send_images=False, has_buttons=False),
    "console": ChannelTraits(has_buttons=False),
}


def traits(channel: str) -> ChannelTraits:
    """The traits of `channel` (an unknown one, as in tests, can do everything)."""
    return TRAITS.get(channel, ChannelTraits())
