"""Coordination of several workers over one PostgreSQL (issue 14): who is alive, who runs a
scheduled job, how many messages the bot may send this instant, wake-ups, the paid budget.

Every worker (`doorstep run` / `doorstep serve`) is one `PgCluster`: a small psycopg pool of
its own (the dispatcher's claims and the limiter's reservations must not queue behind the
app's reads and writes), one connection holding the worker's session advisory lock for its
whole life (its heartbeat: a row claimed by a worker whose lock is free belongs to a dead
worker and goes back to pending), and one connection LISTENing for new due rows.

SQLite deployments are one process per file and need none of this: `ClusterStore` without a
`PgCluster` answers locally (every job run is ours, the budget is counted in the process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Imported when a PgCluster opens: a SQLite deployment never loads the driver.
    import psycopg
    from psycopg_pool import AsyncConnectionPool

    from bot.storage.db import Database

log = logging.getLogger(__name__)

# Advisory lock namespaces (the two-int form: namespace, key), so ours never collide with
# another application's locks on the same server.
NS_WORKER = 74011  # a worker's heartbeat, keyed by its id
NS_RESIDENT = 74012  # a claim of one resident's rows, held for the claim's transaction
NS_USER = 74013  # one user's update being handled
NS_SCHEMA = 74014  # creating the coordination tables
NS_POLLER = 74015  # the one worker that long-polls Telegram (getUpdates allows one poller)
NOTIFY_CHANNEL = "doorstep_outbox"
RECONNECT_S = 0.5

# Coordination state, not app data: PostgreSQL only, created idempotently by the first worker.
SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_claims (
    row_id  BIGINT PRIMARY KEY,
    worker  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cluster_claims_worker ON cluster_claims (worker);
CREATE TABLE IF NOT EXISTS cluster_job_runs (
    job_id     TEXT    NOT NULL,
    fire_at    BIGINT  NOT NULL,
    worker     INTEGER NOT NULL,
    started_at BIGINT  NOT NULL,
    PRIMARY KEY (job_id, fire_at)
);
CREATE TABLE IF NOT EXISTS cluster_rate (
    lane    TEXT PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_paid_spend (
    day      TEXT   PRIMARY KEY,
    messages BIGINT NOT NULL DEFAULT 0
);
"""


async def _connect(url: str) -> psycopg.AsyncConnection[Any]:
    """A connection of its own (heartbeat, poller lock, LISTEN), outside the pool."""
    import psycopg

    return await psycopg.AsyncConnection.connect(url, autocommit=True)


def _worker_id() -> int:
    """A random positive int4: the worker's key in advisory locks and claim rows."""
    return random.SystemRandom().randint(1, 2**31 - 1)


class PgCluster:
    """One worker's PostgreSQL connections for coordination (see the module docstring)."""

    def __init__(self, url: str, *, pool_size: int = 6) -> None:
        self.url = url
        self.worker = _worker_id()
        self.pool_size = pool_size
        self._pool: AsyncConnectionPool[Any] | None = None
        self._locks: AsyncConnectionPool[Any] | None = None
        self._heart: psycopg.AsyncConnection[Any] | None = None
        self._poller: psycopg.AsyncConnection[Any] | None = None
        self._listeners: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    @property
    def lock_pool(self) -> AsyncConnectionPool[Any]:
        if self._locks is None:
            raise RuntimeError("cluster connections are not open")
        return self._locks

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError("cluster connections are not open")
        return self._pool

    async def open(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        from bot.storage.postgres import pg_configure, pg_row_factory

        def make(name: str, size: int) -> AsyncConnectionPool[Any]:
            return AsyncConnectionPool(
                self.url,
                min_size=1,
                max_size=size,
                open=False,
                kwargs={"autocommit": True, "row_factory": pg_row_factory},
                configure=pg_configure,
                check=AsyncConnectionPool.check_connection,
                name=name,
            )

        pool = make("doorstep-cluster", self.pool_size)
        # Users' update locks hold a connection while an update is handled: a pool of their
        # own, so a burst of updates never starves delivery's claims and slots.
        locks = make("doorstep-user-locks", self.pool_size)
        await pool.open(wait=True, timeout=30)
        await locks.open(wait=True, timeout=30)
        self._pool, self._locks = pool, locks
        async with pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (NS_SCHEMA,))
                await conn.execute(SCHEMA)
        await self._beat()
        self._tasks = [
            asyncio.create_task(self._keep_heart(), name="cluster-heartbeat"),
            asyncio.create_task(self._listen(), name="cluster-listen"),
        ]
        log.info("cluster worker %d on PostgreSQL", self.worker)

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.release_poller_lock()
        if self._heart is not None and not self._heart.closed:
            await self._heart.close()
        for pool in (self._pool, self._locks):
            if pool is not None:
                await pool.close()
        self._pool = self._locks = None

    # -- heartbeat ------------------------------------------------------------------------
    async def _beat(self) -> None:
        conn = await _connect(self.url)
        # Session lock: held while this connection lives, released by the server the moment
        # the process dies (kill -9 closes the socket) or the server restarts.
        await conn.execute("SELECT pg_advisory_lock(%s, %s)", (NS_WORKER, self.worker))
        self._heart = conn

    async def _keep_heart(self) -> None:
        while not self._closing:
            await asyncio.sleep(RECONNECT_S)
            heart = self._heart
            try:
                if heart is None or heart.closed:
                    raise ConnectionError("heartbeat connection closed")
                await heart.execute("SELECT 1")
            except Exception:
                log.warning("lost the PostgreSQL heartbeat; reconnecting")
                if heart is not None:
                    await heart.close()
                try:
                    await self._beat()
                    log.info("PostgreSQL heartbeat back")
                except Exception as exc:
                    log.warning("PostgreSQL not reachable yet: %s", type(exc).__name__)

    async def is_alive(self, worker: int) -> bool:
        """Whether `worker` still holds its heartbeat lock (ours always counts as alive)."""
        if worker == self.worker:
            return True
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (NS_WORKER, worker))
            row = await cur.fetchone()
            got = bool(row and row[0])
            if got:
                await conn.execute("SELECT pg_advisory_unlock(%s, %s)", (NS_WORKER, worker))
            return not got

    async def try_poller_lock(self) -> bool:
        """Become the cluster's one Telegram poller if no live worker is; held on a connection
        of its own until `release_poller_lock` or this process ends."""
        if self._poller is not None and not self._poller.closed:
            return True
        conn = await _connect(self.url)
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s, 0)", (NS_POLLER,))
        row = await cur.fetchone()
        if row and row[0]:
            self._poller = conn
            return True
        await conn.close()
        return False

    async def release_poller_lock(self) -> None:
        if self._poller is not None:
            await self._poller.close()
            self._poller = None

    # -- wake-ups -------------------------------------------------------------------------
    def on_notify(self, fn: Callable[[], None]) -> None:
        """Call `fn` when any worker announces new due rows."""
        self._listeners.append(fn)

    async def notify(self) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")

    def _fire(self) -> None:
        for fn in self._listeners:
            fn()

    async def _listen(self) -> None:
        while not self._closing:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                conn = await _connect(self.url)
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self._fire()  # rows planned while we were not listening
                async for _note in conn.notifies():
                    self._fire()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("LISTEN connection lost (%s); polling meanwhile", type(exc).__name__)
                await asyncio.sleep(RECONNECT_S)
            finally:
                if conn is not None and not conn.closed:
                    await conn.close()

    # -- shared rate ----------------------------------------------------------------------
    async def reserve(self, lane: str, count: int, pace: float, now: float) -> float:
        """Take `count` consecutive send slots `pace` seconds apart in `lane` for the whole
        cluster, none before `now`; return the first slot, in epoch seconds.

        The slots are on the workers' own wall clock (`now`, NTP-synchronised across
        machines), not the server's: the server's clock would reach a worker one round trip
        late, and by a different amount each time."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO cluster_rate AS c (lane, next_at) "
                "VALUES (%(lane)s, %(now)s + %(span)s) ON CONFLICT (lane) DO UPDATE "
                "SET next_at = GREATEST(c.next_at, %(now)s) + %(span)s "
                "RETURNING next_at - %(span)s",
                {"lane": lane, "span": count * pace, "now": now},
            )
            row = await cur.fetchone()
        assert row is not None
        return float(row[0])


class ClusterStore:
    """Cluster coordination, by backend: PostgreSQL through `PgCluster`, SQLite locally."""

    def __init__(self, db: Database, pg: PgCluster | None = None) -> None:
        self.db = db
        self.pg = pg
        self._paid_local: dict[str, int] = {}

    @property
    def shared(self) -> bool:
        return self.pg is not None

    @property
    def worker(self) -> int:
        return self.pg.worker if self.pg is not None else os.getpid()

    async def notify(self) -> None:
        """Wake every worker's dispatcher (new rows due soon)."""
        if self.pg is not None:
            await self.pg.notify()

    async def claim_poller(self) -> bool:
        """Whether this worker may long-poll Telegram: on PostgreSQL only one worker of the
        cluster at a time (the others deliver); a lone SQLite process always may."""
        if self.pg is None:
            return True
        return await self.pg.try_poller_lock()

    async def release_poller(self) -> None:
        if self.pg is not None:
            await self.pg.release_poller_lock()

    async def claim_job_run(self, job_id: str, fire_at: int, now: int) -> bool:
        """True if this worker runs `job_id`'s run planned for `fire_at` (unix seconds): the
        first worker to ask wins, every other worker skips that run."""
        if self.pg is None:
            return True
        async with self.pg.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO cluster_job_runs (job_id, fire_at, worker, started_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (job_id, fire_at, self.pg.worker, now),
            )
            got = await cur.fetchone()
            # The table only needs recent runs: a job's grace is at most a day here.
            await conn.execute(
                "DELETE FROM cluster_job_runs WHERE fire_at < %s", (now - 3 * 86400,)
            )
        return got is not None

    async def spend_paid(self, day: str, n: int, budget: int) -> bool:
        """Count `n` paid messages against `day`'s budget; False (nothing counted) when the
        budget would be exceeded."""
        if n <= 0:
            return True
        if self.pg is None:
            spent = self._paid_local.get(day, 0)
            if spent + n > budget:
                return False
            self._paid_local[day] = spent + n
            return True
        async with self.pg.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO cluster_paid_spend AS s (day, messages) "
                "SELECT %(day)s, %(n)s WHERE %(n)s <= %(budget)s "
                "ON CONFLICT (day) DO UPDATE SET messages = s.messages + %(n)s "
                "WHERE s.messages + %(n)s <= %(budget)s RETURNING messages",
                {"day": day, "n": n, "budget": budget},
            )
            got = await cur.fetchone()
        return got is not None

    async def paid_spent(self, day: str) -> int:
        """Paid messages counted against `day`'s budget so far."""
        if self.pg is None:
            return self._paid_local.get(day, 0)
        async with self.pg.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT messages FROM cluster_paid_spend WHERE day = %s", (day,)
            )
            got = await cur.fetchone()
        return int(got[0]) if got else 0

    async def user_lock(self, key: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Run `fn` holding the cluster-wide lock of one user (an update at a time per user,
        whichever worker received it). Locally the router's own per-user lock suffices."""
        if self.pg is None:
            return await fn()
        lock_key = _stable_hash(key)
        async with self.pg.lock_pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_USER, lock_key))
                return await fn()


def _stable_hash(text: str) -> int:
    """A process-independent int4 of `text` (Python's hash() differs per process)."""
    h = 2166136261
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h
