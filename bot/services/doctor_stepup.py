"""A doctor's desk on the web needs more than the browser's session token (issue 16).

The web chat's identity is only a token in a browser, which a shared phone or a kiosk hands to
the next person. So a web account is never linked as a doctor. Instead, on the web a doctor
asks for their desk by doctor id; a 6-digit code goes to the Telegram or WeChat account
linked to that doctor (an outbox row, delivered like any message), and typing it opens the
desk for this web account for STEPUP_HOURS. Log-out and /delete end it at once. Requests and
wrong codes count against the guessing limits (per account, address, overall).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from bot.domain.clock import Clock
from bot.domain.guessing import CodeKind
from bot.domain.outbox import Planned
from bot.domain.residents import Resident
from bot.services.guess_throttle import GuessThrottle
from bot.storage.doctor_stepups import DoctorStepUpStore
from bot.storage.outbox import OutboxStore

KIND = "doctor_stepup"
CODE_TTL = timedelta(minutes=10)
STEPUP_HOURS = 8  # a working day
CODE_DIGITS = 6


def _hash(resident_id: int, code: str) -> str:
    return hashlib.sha256(f"{resident_id}:{code}".encode()).hexdigest()


class DoctorStepUp:
    def __init__(
        self,
        store: DoctorStepUpStore,
        throttle: GuessThrottle,
        outbox: OutboxStore,
        clock: Clock,
    ) -> None:
        self.store = store
        self.throttle = throttle
        self.outbox = outbox
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock().timestamp())

    async def desk_doctor_id(self, resident_id: int) -> str | None:
        """The doctor whose desk this web account has open now, if any."""
        step = await self.store.get(resident_id)
        if step is None or step.granted_until <= self._now():
            return None
        return step.doctor_id

    async def request(self, resident: Resident, doctor_id: str, address: str | None) -> str:
        """Send a code to the doctor's own chat: 'sent', 'nobody' (no such doctor with a
        linked Telegram/WeChat account: the visitor is told the same as for 'sent') or
        'limited'."""
        if await self.throttle.refused(CodeKind.STEPUP, resident.id, address) is not None:
            return "limited"
        # Every request counts: codes must not be sent to a doctor's phone at will.
        await self.throttle.failed(CodeKind.STEPUP, resident.id, address)
        account = await self.store.linked_account(doctor_id)
        if account is None:
            return "nobody"
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self.clock()
        await self.store.put(
            resident.id,
            doctor_id,
            _hash(resident.id, code),
            int((now + CODE_TTL).timestamp()),
        )
        await self.outbox.plan(
            [
                Planned(
                    resident_id=account,
                    kind=KIND,
                    key="code",
                    due_at=now,
                    dedupe_key=f"stepup:{resident.id}:{int(now.timestamp())}",
                    params={"code": code},
                    expires_at=now + CODE_TTL,
                    urgent=True,
                )
            ],
            now,
        )
        return "sent"

    async def verify(self, resident: Resident, code: str, address: str | None) -> str:
        """'ok' (the desk is open), 'wrong', 'expired' or 'limited'."""
        if await self.throttle.refused(CodeKind.STEPUP, resident.id, address) is not None:
            return "limited"
        step = await self.store.get(resident.id)
        now = self._now()
        if step is None or not step.code_hash:
            await self.throttle.failed(CodeKind.STEPUP, resident.id, address)
            return "wrong"
        if not hmac.compare_digest(step.code_hash, _hash(resident.id, code.strip())):
            await self.throttle.failed(CodeKind.STEPUP, resident.id, address)
            return "wrong"
        if step.expires_at <= now:
            return "expired"
        await self.store.grant(resident.id, now + STEPUP_HOURS * 3600)
        return "ok"

    async def end(self, resident_id: int) -> None:
        await self.store.end(resident_id)
