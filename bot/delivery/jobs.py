"""The app's named scheduled jobs, run by APScheduler 3.11's AsyncIOScheduler.

Features register jobs with `Registry.job(job_id, fn, trigger, **fields)`; here each becomes
one APScheduler job with its explicit id and `replace_existing=True`, so a restart replaces
rather than duplicates it. APScheduler's default misfire grace (1 s) silently skips a run that
starts late (a busy event loop, a suspended laptop), so every job gets an explicit grace and
`coalesce=True` (several missed runs become one). Jobs live in memory: what is due is always
a pure function of the database and the time, never of a job store.

Individual notifications are never jobs: they are outbox rows sent by the dispatcher.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.router import JobSpec
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_MISFIRE_GRACE = 3600  # seconds: a nightly job that starts an hour late still runs


class Jobs:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        """Schedule every registered job and start the scheduler (once per process)."""
        if self.scheduler is not None:
            return
        scheduler = AsyncIOScheduler(timezone=self.rt.settings.tz)
        for spec in self.rt.registry.jobs.values():
            fields: dict[str, Any] = dict(spec.args)
            fields.setdefault("misfire_grace_time", DEFAULT_MISFIRE_GRACE)
            fields.setdefault("coalesce", True)
            fields.setdefault("max_instances", 1)
            scheduler.add_job(
                self._run,
                spec.trigger,
                args=[spec],
                id=spec.job_id,
                name=spec.job_id,
                replace_existing=True,
                **fields,
            )
        scheduler.start()
        self.scheduler = scheduler
        self.rt.on_stop(self.stop)
        log.info("scheduled jobs: %s", ", ".join(sorted(self.rt.registry.jobs)) or "none")

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    async def run_now(self, job_id: str) -> None:
        """Run one registered job at once (operators, tests)."""
        await self._run(self.rt.registry.jobs[job_id])

    async def _run(self, spec: JobSpec) -> None:
        try:
            await spec.fn(self.rt)
        except Exception:
            log.exception("scheduled job %s failed", spec.job_id)
