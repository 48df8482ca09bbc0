"""One throttle for every code a person types (children's sharing codes, doctors' invite
codes, the web desk's step-up code): failed attempts are limited per account, per address
(where the channel has one: the web chat) and overall, so that neither one account, nor many
fresh accounts from one place, nor many places together can guess their way in.

The limit is checked before the code is, so a locked-out guesser learns nothing, not even
from the right code. Refused attempts are audited (ids only). A burst (half the overall
limit, and the limit itself) is logged as an operator alert, with counts only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from bot.domain.clock import Clock
from bot.domain.doctors import NewAudit
from bot.domain.guessing import CodeKind, GuessLimits
from bot.storage.channels import ChannelStore
from bot.storage.code_attempts import CodeAttemptStore
from bot.storage.doctors import DoctorStore

log = logging.getLogger(__name__)

LIMITS: dict[CodeKind, GuessLimits] = {
    CodeKind.CHILD: GuessLimits(account=5, address=20, overall=200),
    CodeKind.DOCTOR: GuessLimits(account=5, address=20, overall=100),
    CodeKind.STEPUP: GuessLimits(account=5, address=20, overall=100),
}
_ADDRESS_KEY = "address_hash"
# Doctors' codes already have their own audit entries (link_failed, link_limited).
_AUDITED_ELSEWHERE = frozenset({CodeKind.DOCTOR})


class GuessThrottle:
    def __init__(
        self, store: CodeAttemptStore, audit: DoctorStore, channels: ChannelStore, clock: Clock
    ) -> None:
        self.store = store
        self.audit = audit
        self.channels = channels
        self.clock = clock
        self._key: bytes | None = None

    async def _address(self, address: str | None) -> str | None:
        """A keyed hash of the address: counted, never stored or logged as such."""
        if not address:
            return None
        if self._key is None:
            self._key = (await self.channels.secret(_ADDRESS_KEY)).encode()
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]

    def _now(self) -> int:
        return int(self.clock().timestamp())

    async def refused(self, kind: CodeKind, resident_id: int, address: str | None) -> str | None:
        """Which limit this attempt hits ('account', 'address', 'overall'), or None. A refused
        attempt is audited."""
        limits = LIMITS[kind]
        now = self._now()
        mine, here, everyone = await self.store.counts(
            kind, resident_id, await self._address(address), now - limits.window
        )
        hit = (
            "account"
            if mine >= limits.account
            else "address"
            if address and here >= limits.address
            else "overall"
            if everyone >= limits.overall
            else None
        )
        if hit is not None and kind not in _AUDITED_ELSEWHERE:
            await self.audit.audit(
                [NewAudit(None, f"{kind}_code_limited", details=f"account={resident_id} {hit}")],
                now,
            )
        return hit

    async def failed(self, kind: CodeKind, resident_id: int, address: str | None) -> None:
        """Count a wrong code; audit it; alert the operator on a burst."""
        limits = LIMITS[kind]
        now = self._now()
        everyone = await self.store.add(
            kind, resident_id, await self._address(address), now, now - limits.window
        )
        if kind not in _AUDITED_ELSEWHERE:
            await self.audit.audit(
                [NewAudit(None, f"{kind}_code_failed", details=f"account={resident_id}")], now
            )
        if everyone in (limits.alert_at, limits.overall):
            log.warning(
                "OPERATOR ALERT: %d wrong %s codes in the last %d minutes (overall limit %d)",
                everyone,
                kind,
                limits.window // 60,
                limits.overall,
            )
