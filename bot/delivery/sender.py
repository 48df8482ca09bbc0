"""What the delivery pipeline needs from a channel: send replies to one recipient."""

from __future__ import annotations

from typing import Protocol

from bot.core import Reply
from bot.domain.outbox import OutboxRow


class DeliveryError(Exception):
    """Base of the outcomes a channel reports for a failed send."""


class Blocked(DeliveryError):
    """The recipient blocked the bot or no longer exists: never retry."""


class RetryLater(DeliveryError):
    """Flood control: try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Transient(DeliveryError):
    """A network error or server error: retry with backoff."""


class Permanent(DeliveryError):
    """The request itself is bad (e.g. chat not found); retrying will not help."""


class Sender(Protocol):
    """The one contract every channel (and the sandbox's demo and test senders) implements."""

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        """Send the replies to the channel user; raise a DeliveryError subclass on failure.

        `notification` is the outbox row being delivered, when there is one: a channel that
        needs a template outside its messaging window (WeChat) picks it by the row's kind.
        """
        ...


class Deferred(DeliveryError):
    """The channel cannot deliver now but may later (e.g. WeChat's 48-hour customer-service
    window is closed): keep the row pending until `retry_at` (unix seconds) or the user
    writes again; `reason` is recorded on the row."""

    def __init__(self, reason: str, retry_at: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at
