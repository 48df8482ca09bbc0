"""What one web chat socket, visitor or address may cost (issue 16).

Token buckets, in this process's memory: a socket lives on one worker, and counting every
frame in SQLite would itself be the cost we are bounding. With several workers each allows
its share. Frames over the limit are not handled; the page is told, kindly, to slow down.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int


# A person taps or types at most about one thing a second; a burst covers quick taps.
PER_SOCKET = Rate(1.0, 10)
PER_VISITOR = Rate(2.0, 20)  # all of a visitor's open pages together
PER_ADDRESS = Rate(10.0, 60)  # a clinic's shared Wi-Fi is one address
NEW_VISITORS = Rate(30 / 3600, 30)  # new sessions per address: 30 an hour
SOCKETS_PER_VISITOR = 3
# A socket that goes on sending this many frames after being told to slow down is closed.
IGNORED_FRAMES = 100


class Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.at = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate.burst, self.tokens + (now - self.at) * self.rate.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Buckets:
    """One bucket per key; the least recently used are forgotten beyond `size` keys (a full
    bucket is what a forgotten key gets again, so forgetting only ever gives the allowance
    back to someone idle long enough to be evicted)."""

    def __init__(self, rate: Rate, size: int = 50_000, clock: object = time.monotonic) -> None:
        self.rate = rate
        self.size = size
        self._clock = clock
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str) -> bool:
        now = self._clock()  # type: ignore[operator]
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.rate, now)
            if len(self._buckets) > self.size:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take(now)


class Limits:
    """The web chat's limits, one instance per app."""

    def __init__(
        self,
        per_socket: Rate = PER_SOCKET,
        per_visitor: Rate = PER_VISITOR,
        per_address: Rate = PER_ADDRESS,
        new_visitors: Rate = NEW_VISITORS,
        sockets_per_visitor: int = SOCKETS_PER_VISITOR,
    ) -> None:
        self.per_socket = per_socket
        self.visitors = Buckets(per_visitor)
        self.addresses = Buckets(per_address)
        self.new_visitors = Buckets(new_visitors)
        self.sockets_per_visitor = sockets_per_visitor

    def socket(self) -> Bucket:
        return Bucket(self.per_socket, time.monotonic())

    def frame(self, socket: Bucket, visitor: str, address: str) -> bool:
        """May this frame be handled? It is charged to its socket first, and to the visitor
        and the address only if its socket allows it: one flooding page drains its own
        allowance before anyone else's."""
        if not socket.take(time.monotonic()):
            return False
        return self.visitors.take(visitor) and self.addresses.take(address)
