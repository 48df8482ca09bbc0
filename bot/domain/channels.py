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
