"""What a POST to `/wechat` must prove before anything in it is believed (issue 16).

WeChat's query `signature` covers only token + timestamp + nonce, not the body, and reverse
proxies log those URLs. So, besides the signature (compared in constant time):
- the timestamp must be inside a short window around our clock (`WECHAT_MAX_SKEW`, ±300 s);
- a (timestamp, nonce) pair is accepted with one body only, remembered in SQLite (shared by
  every worker) for as long as its timestamp is acceptable; a retry with the same body goes
  on to the MsgId claim, which answers it with the first answer;
- with an AES key configured, only encrypted messages are accepted, and their
  `msg_signature` (which covers the encrypted body) must hold;
- the message must name its sender, and carry a well-formed MsgType, MsgId and location.

Refusals are logged as one line with a fixed reason, never the values sent.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from typing import Any

import xmltodict  # type: ignore[import-untyped]

from bot.domain.security import NonceSeen
from bot.storage.channels import ChannelStore

MAX_SKEW = 300  # seconds either side of our clock
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{40}$")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MSG_TYPE = re.compile(r"^[a-z_]{1,32}$")
_MSG_ID = re.compile(r"^[0-9]{1,20}$")


@dataclass(frozen=True, slots=True)
class Refused(Exception):
    """A request refused: the HTTP status and a fixed reason (safe to log and to answer)."""

    status: int
    reason: str


def signature(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class QueryProof:
    timestamp: int
    nonce: str


def check_query(token: str, query: dict[str, str], now: int, max_skew: int) -> QueryProof:
    """The URL's own proof: well-formed, signed, and recent. Raises Refused."""
    ts, nonce, sig = query.get("timestamp", ""), query.get("nonce", ""), query.get("signature", "")
    if not (_DIGITS.match(ts) and _NONCE.match(nonce) and _SIGNATURE.match(sig)):
        raise Refused(400, "malformed query")
    if not hmac.compare_digest(signature(token, ts, nonce), sig):
        raise Refused(403, "invalid signature")
    if abs(now - int(ts)) > max_skew:
        raise Refused(403, "timestamp outside the accepted window")
    return QueryProof(int(ts), nonce)


async def remember_nonce(
    store: ChannelStore, proof: QueryProof, body: bytes, max_skew: int
) -> None:
    """Accept this (timestamp, nonce) with this body only. Raises Refused on a replay."""
    seen = await store.remember_nonce(
        f"{proof.timestamp}:{proof.nonce}",
        hashlib.sha256(body).hexdigest(),
        proof.timestamp + max_skew,
    )
    if seen is NonceSeen.OTHER_BODY:
        raise Refused(403, "nonce already used")


def check_encrypted(token: str, query: dict[str, str], body: bytes) -> None:
    """Safe mode: the body's own signature (msg_signature over token, timestamp, nonce and
    the encrypted text) must hold before anything is decrypted."""
    if query.get("encrypt_type") != "aes":
        raise Refused(403, "only encrypted messages are accepted")
    given = query.get("msg_signature", "")
    if not _SIGNATURE.match(given):
        raise Refused(403, "invalid signature")
    outer = _parse(body)
    encrypt = outer.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise Refused(400, "malformed message")
    expected = signature(token, query["timestamp"], query["nonce"], encrypt)
    if not hmac.compare_digest(expected, given):
        raise Refused(403, "invalid signature")


def _parse(xml: bytes | str) -> dict[str, Any]:
    try:
        # xmltodict refuses entity declarations (disable_entities): no XXE, no expansion.
        doc = xmltodict.parse(xml, disable_entities=True)
    except Exception:
        raise Refused(400, "malformed message") from None
    inner = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(inner, dict):
        raise Refused(400, "malformed message")
    return inner


def _finite(value: Any, low: float, high: float) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and low <= number <= high


def check_message(xml: str) -> None:
    """The decrypted (or plaintext) message names its sender and is well-formed."""
    msg = _parse(xml)
    sender = msg.get("FromUserName")
    if not isinstance(sender, str) or not _OPENID.match(sender):
        raise Refused(400, "missing or malformed FromUserName")
    msg_type = msg.get("MsgType")
    if not isinstance(msg_type, str) or not _MSG_TYPE.match(msg_type.lower()):
        raise Refused(400, "missing or malformed MsgType")
    msg_id = msg.get("MsgId")
    if msg_id is not None and not (isinstance(msg_id, str) and _MSG_ID.match(msg_id)):
        raise Refused(400, "malformed MsgId")
    created = msg.get("CreateTime")
    if created is not None and not (isinstance(created, str) and _DIGITS.match(created)):
        raise Refused(400, "malformed CreateTime")
    if msg_type.lower() == "location" and not (
        _finite(msg.get("Location_X"), -90, 90) and _finite(msg.get("Location_Y"), -180, 180)
    ):
        raise Refused(400, "location out of range")
    event = msg.get("Event")
    if (
        msg_type.lower() == "event"
        and isinstance(event, str)
        and event.lower() == "location"
        and not (_finite(msg.get("Latitude"), -90, 90) and _finite(msg.get("Longitude"), -180, 180))
    ):
        raise Refused(400, "location out of range")
