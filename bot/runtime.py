"""One process's runtime: settings, clock, database, catalogs, the handler registry, the
channels' senders and the long-lived tasks, with their lifecycle (start, stop).

What it holds is built in one place, `bot.app.build` (the composition root): `rt.stores`,
`rt.delivery` and `rt.services` are typed containers, not a locator.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.core import Incoming, Outcome
from bot.delivery.sender import Sender
from bot.i18n import Catalogs
from bot.router import Registry, Router
from bot.storage.cluster import PgCluster
from bot.storage.db import Database, open_database

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        registry: Registry | None = None,
        sandbox: bool = False,
    ) -> None:
        from bot.app import build, build_registry

        self.settings = settings
        self.clock = clock
        self.db: Database = open_database(settings.db_path)
        # Several workers on one PostgreSQL (issue 14): this worker's coordination connections.
        url = getattr(self.db, "url", None) if self.db.dialect == "postgres" else None
        self.pg: PgCluster | None = PgCluster(url) if isinstance(url, str) else None
        self.catalogs = Catalogs(settings.locales_dir, settings.tz)
        self.registry = registry or build_registry()
        self.senders: dict[str, Sender] = {}
        self._router: Router | None = None
        self.started = False
        self.sandbox = sandbox
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stoppers: list[Callable[[], Awaitable[None]]] = []
        self.stores, self.delivery, self.services = build(self)

    def now(self) -> datetime:
        """Aware UTC now (tests pass a fixed clock)."""
        return self.clock()

    @property
    def router(self) -> Router:
        if self._router is None:
            raise RuntimeError("runtime not started")
        return self._router

    async def start(self) -> None:
        """Open the database (migrating it) and run the features' start-up hooks."""
        await self.db.open()
        if self.pg is not None:
            await self.pg.open()
            self.pg.on_notify(self.delivery.dispatcher.wake)
        self._router = Router(self, self.registry)
        for hook in self.registry.hooks:
            await hook(self)
        self.started = True

    async def start_background(self) -> None:
        """Start delivery (catch up, then send), the scheduled jobs and the broadcast progress
        loop, then the features' background hooks: only in processes that send messages."""
        await self.delivery.dispatcher.start()
        await self.delivery.jobs.start()
        self.spawn(self.delivery.progress.run(), "broadcast-progress")
        for hook in self.registry.background:
            await hook(self)
        # Everything built so far (modules, catalogs, content, the application) lives as long
        # as the process: keep it out of the collector's full passes, which otherwise scan
        # ~150,000 start-up objects (about 40 ms, every resident in flight waiting) to find
        # garbage among what updates allocate.
        gc.collect()
        gc.freeze()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a long-lived task owned by the runtime; it is cancelled on stop()."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def on_stop(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._stoppers.append(fn)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s died", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        self.started = False
        for fn in reversed(self._stoppers):
            await fn()
        self._stoppers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.pg is not None:
            await self.pg.close()
        await self.db.close()

    async def handle(self, msg: Incoming) -> Outcome:
        return await self.router.handle(msg)
