"""The app's named scheduled jobs, run by APScheduler 3.11's AsyncIOScheduler.

Features register jobs with `Registry.job(job_id, fn, trigger, **fields)`; here each becomes
one APScheduler job with its explicit id and `replace_existing=True`, so a restart replaces
rather than duplicates it. APScheduler's default misfire grace (1 s) silently skips a run that
starts late (a busy event loop, a suspended laptop), so every job gets an explicit grace and
`coalesce=True` (several missed runs become one). Jobs live in memory: what is due is always
a pure function of the database and the time, never of a job store.

Individual notifications are never jobs: they are outbox rows sent by the dispatcher.

Several workers (issue 14) each schedule every job, but each run happens once per cluster:
before running, a worker claims the run by its job id and planned fire time
(`ClusterStore.claim_job_run`, a row with that primary key); the others find it taken and
skip. Interval jobs are anchored to a fixed epoch, so every worker plans the same fire times,
and the fire time is derived from the trigger, not from when this worker woke up: two
workers started at the same instant (or one catching up late) agree on which run it is.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.storage.cluster import ClusterStore

if TYPE_CHECKING:
    from bot.router import JobSpec
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_MISFIRE_GRACE = 3600  # seconds: a nightly job that starts an hour late still runs
# Interval jobs count their runs from here on every worker, so their fire times agree.
INTERVAL_ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
_STEP = timedelta(microseconds=1)


class Jobs:
    def __init__(self, rt: Runtime, cluster: ClusterStore | None = None) -> None:
        self.rt = rt
        self.cluster = cluster
        self.scheduler: AsyncIOScheduler | None = None
        self.skipped: list[tuple[str, int]] = []  # runs another worker had (tests, logs)

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
            if spec.trigger == "interval":
                fields.setdefault("start_date", INTERVAL_ANCHOR)
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

    def fire_time(self, job_id: str, now: datetime) -> datetime:
        """The planned time of the run of `job_id` due at `now`: its trigger's latest fire
        time at or before `now`, within the job's misfire grace."""
        assert self.scheduler is not None
        job = self.scheduler.get_job(job_id)
        grace = job.misfire_grace_time or DEFAULT_MISFIRE_GRACE
        trigger = job.trigger
        t = trigger.get_next_fire_time(None, now - timedelta(seconds=grace))
        last: datetime | None = None
        while t is not None and t <= now:
            last = t
            t = trigger.get_next_fire_time(t, t + _STEP)
        return last if last is not None else now.replace(microsecond=0)

    async def _run(self, spec: JobSpec) -> None:
        try:
            if self.cluster is not None and self.cluster.shared and self.scheduler is not None:
                now = datetime.now(UTC)  # APScheduler fires by the wall clock, so do we
                fire = int(self.fire_time(spec.job_id, now).timestamp())
                if not await self.cluster.claim_job_run(spec.job_id, fire, int(now.timestamp())):
                    self.skipped.append((spec.job_id, fire))
                    log.info("job %s at %d runs on another worker", spec.job_id, fire)
                    return
            await spec.fn(self.rt)
        except Exception:
            log.exception("scheduled job %s failed", spec.job_id)
