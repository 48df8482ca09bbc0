"""Records of issue 16's checks: WeChat nonces, web chat sessions, the web desk's step-up."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class NonceSeen(StrEnum):
    """What a WeChat request's (timestamp, nonce) was before."""

    NEW = "new"  # first time this (timestamp, nonce)
    SAME_BODY = "same_body"  # a retry of the same request
    OTHER_BODY = "other_body"  # a replayed URL with another body: refuse


@dataclass(frozen=True, slots=True)
class WebSession:
    """A web chat visitor's session; `token` is set when the browser must get a new one."""

    visitor: str
    token: str | None = None


@dataclass(frozen=True, slots=True)
class StepUp:
    """A web account's step-up to a doctor's desk: the code sent, then the grant."""

    doctor_id: str
    code_hash: str
    expires_at: int
    granted_until: int
