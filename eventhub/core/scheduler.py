"""The scheduler: APScheduler 3 with its job store in the application database.

Reminders, outbox delivery and (later) event reminders and survey dispatch run here. Rules:

* **One registry.** ``JOBS`` lists the periodic jobs; adding one is one ``periodic(...)`` line. A
  job function takes no arguments, runs inside an app context, commits its own work and returns
  a short summary string.
* **One persisted callable.** Every job in the store points at :func:`run_job` with the job id
  as argument, so renaming a job function never leaves unloadable pickles in the table, and
  every run is recorded as a :class:`JobRun` (started, finished, result, error, runner).
* **One process runs jobs.** ``flask scheduler`` (a BlockingScheduler) takes a non-blocking
  ``flock`` on ``instance/scheduler.lock``; ``make run`` starts a BackgroundScheduler inside the
  serving process only (never in the reloader parent, never in other CLI commands). Two
  schedulers on different machines sharing one PostgreSQL database are still correct: every
  message a job sends carries an idempotency key, so a job that runs twice sends once.
* **Missed runs are caught up once.** ``coalesce=True`` with a long ``misfire_grace_time``; at
  start, registered jobs are added only when missing or when their trigger changed, so a job
  whose ``next_run_time`` passed during downtime keeps it and runs once on start.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import pickle
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import click
from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from eventhub.core.i18n import N_
from eventhub.core.scheduler_models import JobRun
from eventhub.core.timeutil import SHANGHAI, as_utc, utcnow
from eventhub.extensions import db

log = logging.getLogger("eventhub.scheduler")

JOB_TABLE = "apscheduler_jobs"  # excluded from Alembic autogenerate in migrations/env.py
RUN_JOB_REF = "eventhub.core.scheduler:run_job"
WAKE_UP_ID = "wake-up"
LOCK_NAME = "scheduler.lock"
APP_EXTENSION = "eventhub_scheduler"


# ---- the registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """A periodic job: its id (also the APScheduler job id), what it runs, how often."""

    id: str
    func_ref: str  # "package.module:function", no arguments, returns a summary
    interval: dict[str, int] = field(default_factory=dict)  # IntervalTrigger arguments
    title: str = ""  # Chinese label for the jobs page (N_-marked, translated when shown)


def periodic(job_id: str, func_ref: str, *, title: str = "", **interval: int) -> JobSpec:
    """Register a job that runs every ``interval`` (``seconds=30``, ``minutes=15``, ``days=1``)."""
    if not interval:
        raise ValueError("periodic() needs an interval, e.g. minutes=15")
    return JobSpec(job_id, func_ref, dict(interval), title)


JOBS: list[JobSpec] = [
    periodic("outbox-delivery", "eventhub.core.mail:deliver_pending", seconds=30, title=N_("邮件投递")),
    periodic("plan-reminders", "eventhub.plans.reminders:send_plan_reminders", minutes=15, title=N_("初步计划截止提醒")),
    periodic("detail-plan-reminders", "eventhub.events.reminders:send_detail_plan_reminders", minutes=15, title=N_("活动方案提交提醒")),
    periodic("survey-invitations", "eventhub.assessment.jobs:survey_invitations", minutes=30, title=N_("发送满意度调查")),
    periodic("survey-reminders", "eventhub.assessment.jobs:survey_reminders", hours=1, title=N_("满意度调查提醒")),
    periodic("mechanism-followups", "eventhub.assessment.jobs:mechanism_followups", hours=1, title=N_("合作机制回访")),
    periodic("job-runs-cleanup", "eventhub.core.scheduler:prune_job_runs", days=1, title=N_("清理旧的执行记录")),
]


def registered(job_id: str) -> JobSpec | None:
    return next((spec for spec in JOBS if spec.id == job_id), None)


def interval_for(app: Flask, spec: JobSpec) -> dict[str, int]:
    """The spec's interval, or the deployment's override from ``SCHEDULER_INTERVALS``."""
    override = (app.config.get("SCHEDULER_INTERVALS") or {}).get(spec.id)
    return dict(override) if override else dict(spec.interval)


def resolve(func_ref: str) -> Callable[..., Any]:
    module_name, _, attr = func_ref.partition(":")
    if not attr:
        raise ValueError(f"not a 'module:function' reference: {func_ref!r}")
    target: Any = import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


# ---- running one job --------------------------------------------------------------------

_app: Flask | None = None  # set by build_scheduler: the app whose context run_job pushes


def runner_id() -> str:
    """``host:pid`` of this process, recorded on each run (which scheduler did it)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def run_job(job_id: str, func_ref: str | None = None, params: dict[str, Any] | None = None) -> str | None:
    """The one callable APScheduler persists. Never raises: a failing job must not stop the scheduler.

    Periodic jobs are looked up in ``JOBS`` by id; one-off jobs carry their ``func_ref`` (and
    keyword ``params``) in the stored job.
    """
    app = _app
    if app is None:
        log.error("job %s: no app (build_scheduler was not called in this process)", job_id)
        return None
    try:
        with app.app_context():
            run = execute_job(job_id, func_ref, params)
            return run.summary
    except Exception:  # noqa: BLE001 - the database itself failed; log it and keep the scheduler alive
        log.exception("job %s could not be run or recorded", job_id)
        return None


def execute_job(job_id: str, func_ref: str | None = None, params: dict[str, Any] | None = None, *, runner: str | None = None) -> JobRun:
    """Run a job in the current app context and record it as a :class:`JobRun` (committed).

    The run row is committed before the job starts, so a job that hangs or kills the process is
    visible as "running". The job's own uncommitted work is rolled back when it fails.
    """
    run = JobRun(job_id=job_id, started_at=utcnow(), status="running", runner=(runner or runner_id())[:100])
    db.session.add(run)
    db.session.commit()
    run_pk = run.id
    log.info("job %s started (run %s)", job_id, run_pk)
    error: str | None = None
    try:
        if func_ref is None:
            spec = registered(job_id)
            if spec is None:
                raise LookupError(f"job {job_id!r} is not registered in eventhub.core.scheduler.JOBS")
            func_ref = spec.func_ref
        result = resolve(func_ref)(**(params or {}))
        db.session.commit()
        status, summary = "ok", str(result if result is not None else "")
    except Exception as exc:  # noqa: BLE001 - recorded on the run row for the organisers
        db.session.rollback()
        status, summary, error = "error", f"{type(exc).__name__}: {exc}", traceback.format_exc()
        log.error("job %s failed: %s", job_id, summary)
    run = db.session.get(JobRun, run_pk)
    run.status = status
    run.summary = summary[:500]
    run.error = error[-20000:] if error else None
    run.finished_at = utcnow()
    db.session.commit()
    if status == "ok":
        log.info("job %s ok: %s", job_id, run.summary)
    return run


def prune_job_runs(now: datetime | None = None) -> str:
    """Delete runs older than ``JOB_RUNS_KEEP_DAYS`` (90): the table must not grow forever."""
    keep = int(current_app.config.get("JOB_RUNS_KEEP_DAYS", 90))
    cutoff = as_utc(now or utcnow()) - timedelta(days=keep)
    result = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    db.session.commit()
    return f"deleted {result.rowcount} runs older than {keep} days"


def mark_interrupted_runs() -> int:
    """Runs left "running" by a process of this host that no longer exists end as errors."""
    host = socket.gethostname()
    count = 0
    for run in db.session.scalars(select(JobRun).where(JobRun.status == "running")):
        name, _, pid = run.runner.removeprefix("manual ").rpartition(":")
        if name != host or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        run.status = "error"
        run.error = "进程在任务执行期间退出（run interrupted: the scheduler process ended）"
        run.summary = run.summary or "interrupted"
        count += 1
    db.session.commit()
    return count


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wake_up() -> None:
    """Runs every few seconds from memory so the scheduler re-reads the database job store."""


# ---- the job store and schedulers ---------------------------------------------------------------


class EventHubJobStore(SQLAlchemyJobStore):
    """SQLAlchemyJobStore on the app's engine, tolerant of a second scheduler on the same table.

    Another scheduler may already have removed a finished one-off job or updated a job: that is
    not an error here. The engine belongs to the app, so shutting the store down leaves it open.
    """

    def update_job(self, job: Job) -> None:
        try:
            super().update_job(job)
        except JobLookupError:
            log.info("job %s was removed by another scheduler", job.id)

    def remove_job(self, job_id: str) -> None:
        try:
            super().remove_job(job_id)
        except JobLookupError:
            log.debug("job %s already removed", job_id)

    def shutdown(self) -> None:  # the app owns the engine
        pass


class _Guarded:
    """Two guards around APScheduler's loop.

    * A database hiccup while reading or updating the store must not end the loop.
    * Shutting down must not let a pass over due jobs run half-way: APScheduler would submit
      them to already stopped executors and still advance their ``next_run_time``, silently
      losing those runs. The state check and the pass happen under the job-store lock
      (re-entrant), and ``shutdown`` pauses under that lock first.
    """

    def _process_jobs(self) -> float | None:
        with self._jobstores_lock:  # type: ignore[attr-defined]
            if self.state != STATE_RUNNING:  # type: ignore[attr-defined]
                return None
            try:
                return super()._process_jobs()  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - retry later instead of dying
                log.exception("error while processing jobs; retrying")
                return float(self.jobstore_retry_interval)  # type: ignore[attr-defined]

    def shutdown(self, wait: bool = True) -> None:
        with self._jobstores_lock:  # type: ignore[attr-defined]
            if self.state == STATE_RUNNING:  # type: ignore[attr-defined]
                self.state = STATE_PAUSED
        super().shutdown(wait)  # type: ignore[misc]


class EventHubBlockingScheduler(_Guarded, BlockingScheduler):
    pass


class EventHubBackgroundScheduler(_Guarded, BackgroundScheduler):
    pass


class StoreWriter(BlockingScheduler):
    """A scheduler that only writes jobs to the store: no loop, no thread, never runs a job.

    APScheduler persists ``add_job`` only on a started scheduler; this one is started paused
    and never looks at due jobs, so writing a job from a web request cannot consume (or lose)
    a due run of the real scheduler.
    """

    def _main_loop(self) -> None:
        return None

    def _process_jobs(self) -> float | None:
        return None


def app_engine(app: Flask) -> Engine:
    with app.app_context():
        return db.engine


def ensure_job_table(engine: Engine) -> None:
    """Create APScheduler's table once; two schedulers starting together must not both fail."""
    store = EventHubJobStore(engine=engine, tablename=JOB_TABLE)
    try:
        store.jobs_t.create(engine, checkfirst=True)
    except SQLAlchemyError:
        if not inspect(engine).has_table(JOB_TABLE):
            raise  # not the race with another scheduler: a real error


def _job_defaults(app: Flask) -> dict[str, Any]:
    return {"coalesce": True, "max_instances": 1, "misfire_grace_time": int(app.config.get("SCHEDULER_MISFIRE_GRACE_SECONDS", 86400))}


@contextlib.contextmanager
def store_scheduler(app: Flask) -> Iterator[BaseScheduler]:
    """A :class:`StoreWriter` on the database store, for writing jobs without running any.

    The web process (``schedule_once`` from a request) writes jobs this way; the real scheduler
    picks them up at its next wake-up.
    """
    engine = app_engine(app)
    ensure_job_table(engine)
    scheduler = StoreWriter(jobstores={"default": EventHubJobStore(engine=engine, tablename=JOB_TABLE)}, job_defaults=_job_defaults(app), timezone=SHANGHAI)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


def _signature(job: Job) -> tuple[Any, ...]:
    return (job.func_ref, tuple(job.args), str(job.trigger))


def sync_jobs(app: Flask) -> dict[str, str]:
    """Make the store hold exactly the registered periodic jobs; returns ``{job_id: action}``.

    A job already stored with the same trigger is left alone (its ``next_run_time`` — possibly
    in the past after downtime — is what makes the missed run happen once on start). A changed
    trigger replaces the job; periodic jobs no longer registered are removed. One-off jobs are
    untouched.
    """
    actions: dict[str, str] = {}
    with store_scheduler(app) as scheduler:
        for spec in JOBS:
            trigger = IntervalTrigger(timezone=SHANGHAI, **interval_for(app, spec))
            existing = scheduler.get_job(spec.id, jobstore="default")
            if existing is not None and _signature(existing) == (RUN_JOB_REF, (spec.id,), str(trigger)):
                actions[spec.id] = "kept"
                continue
            try:
                scheduler.add_job(
                    RUN_JOB_REF, trigger=trigger, args=(spec.id,), id=spec.id, name=spec.id, jobstore="default", replace_existing=existing is not None
                )
                actions[spec.id] = "replaced" if existing is not None else "added"
            except ConflictingIdError:  # another scheduler added it a moment ago
                actions[spec.id] = "kept"
        known = {spec.id for spec in JOBS}
        for job in scheduler.get_jobs(jobstore="default"):
            if job.func_ref == RUN_JOB_REF and len(job.args) == 1 and job.id not in known:
                scheduler.remove_job(job.id, jobstore="default")
                actions[job.id] = "removed"
    return actions


def build_scheduler(app: Flask, *, blocking: bool) -> BaseScheduler:
    """A scheduler (not started) on the app database, with the registered jobs synchronised.

    ``blocking=True`` for ``flask scheduler``; ``False`` inside the serving process. A
    memory-store wake-up job every ``SCHEDULER_WAKEUP_SECONDS`` makes the scheduler notice jobs
    other processes add (an idle scheduler otherwise sleeps until its next known job).
    """
    global _app
    _app = app
    engine = app_engine(app)
    ensure_job_table(engine)
    with app.app_context():
        interrupted = mark_interrupted_runs()
    if interrupted:
        log.warning("%d run(s) of an earlier process on this host were interrupted", interrupted)
    actions = sync_jobs(app)
    log.info("registered jobs: %s", ", ".join(f"{k} ({v})" for k, v in actions.items()))
    cls = EventHubBlockingScheduler if blocking else EventHubBackgroundScheduler
    scheduler = cls(
        jobstores={"default": EventHubJobStore(engine=engine, tablename=JOB_TABLE), "memory": MemoryJobStore()},
        job_defaults=_job_defaults(app),
        timezone=SHANGHAI,
    )
    wake = float(app.config.get("SCHEDULER_WAKEUP_SECONDS", 10))
    scheduler.add_job(_wake_up, "interval", seconds=wake, id=WAKE_UP_ID, name=WAKE_UP_ID, jobstore="memory", misfire_grace_time=None)
    return scheduler


# ---- one-off jobs ------------------------------------------------------------------------------


def schedule_once(job_id: str, func_ref: str, run_at: datetime, *, app: Flask | None = None, **params: Any) -> None:
    """Run ``func_ref(**params)`` once at ``run_at`` (aware); the same ``job_id`` replaces the earlier one.

    For event reminders and survey dispatch: give a deterministic id (``event-reminder:12``) so
    rescheduling an event moves its job. A run time in the past (or missed during downtime,
    however long) runs once as soon as a scheduler sees it; the job function decides what is
    still worth sending, and its idempotency keys make a second scheduler harmless. ``params``
    must be picklable plain values (ids, strings).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    resolve(func_ref)  # fail now, in the caller, not later in the scheduler
    with store_scheduler(app) as scheduler:
        scheduler.add_job(
            RUN_JOB_REF,
            trigger=DateTrigger(run_date=as_utc(run_at), timezone=SHANGHAI),
            args=(job_id, func_ref, params),
            id=job_id,
            name=job_id,
            jobstore="default",
            replace_existing=True,
            misfire_grace_time=None,
        )


def unschedule(job_id: str, *, app: Flask | None = None) -> bool:
    """Remove a stored job (e.g. a withdrawn event's reminder); False when there was none."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with store_scheduler(app) as scheduler:
        if scheduler.get_job(job_id, jobstore="default") is None:
            return False
        scheduler.remove_job(job_id, jobstore="default")
        return True


# ---- reading the store (jobs page) ------------------------------------------------------------------


@dataclass
class StoredJob:
    """A job as the jobs page shows it, read from the table without a running scheduler."""

    id: str
    next_run_time: datetime | None  # aware UTC; None = paused
    trigger: Any = None
    func_ref: str = ""
    args: tuple[Any, ...] = ()
    error: str | None = None  # the row could not be read

    @property
    def spec(self) -> JobSpec | None:
        return registered(self.id) if self.func_ref == RUN_JOB_REF and len(self.args) == 1 else None

    @property
    def one_off(self) -> bool:
        return isinstance(self.trigger, DateTrigger)

    @property
    def target(self) -> str:
        """What the job finally runs (the registry's function, or a one-off's own)."""
        if self.spec is not None:
            return self.spec.func_ref
        if self.func_ref == RUN_JOB_REF and len(self.args) >= 2:
            return str(self.args[1])
        return self.func_ref


def stored_jobs(engine: Engine) -> list[StoredJob] | None:
    """Jobs in the database store, soonest first; ``None`` when the table does not exist yet.

    Read directly rather than through the job store, which would delete rows it cannot load.
    """
    if not inspect(engine).has_table(JOB_TABLE):
        return None
    table = EventHubJobStore(engine=engine, tablename=JOB_TABLE).jobs_t
    out: list[StoredJob] = []
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.next_run_time, table.c.job_state).order_by(table.c.next_run_time)).all()
    for row in rows:
        next_run = datetime.fromtimestamp(row.next_run_time, tz=SHANGHAI) if row.next_run_time is not None else None
        try:
            state = pickle.loads(row.job_state)  # noqa: S301 - our own table, written by APScheduler
        except Exception as exc:  # noqa: BLE001 - show the row with the reason instead of failing the page
            out.append(StoredJob(id=row.id, next_run_time=as_utc(next_run) if next_run else None, error=f"{type(exc).__name__}: {exc}"))
            continue
        out.append(
            StoredJob(
                id=row.id,
                next_run_time=as_utc(next_run) if next_run else None,
                trigger=state.get("trigger"),
                func_ref=str(state.get("func", "")),
                args=tuple(state.get("args", ())),
            )
        )
    out.sort(key=lambda job: (job.next_run_time is None, job.next_run_time or datetime.max.replace(tzinfo=SHANGHAI)))
    return out


# ---- exactly one process ------------------------------------------------------------------------


def lock_path(app: Flask) -> Path:
    return Path(app.instance_path) / LOCK_NAME


def acquire_lock(app: Flask) -> int | None:
    """A non-blocking exclusive ``flock`` on ``instance/scheduler.lock``; the fd, or None when taken.

    The lock lives as long as the fd (the process): a crashed scheduler never leaves a stale lock.
    The holder's ``host:pid`` is written into the file for the refusal message.
    """
    path = lock_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{runner_id()}\n".encode())
    return fd


def lock_holder(app: Flask) -> str:
    try:
        return lock_path(app).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def release_lock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the last fd releases the flock


# ---- in the serving process (make run) --------------------------------------------------------------


def is_serving_process() -> bool:
    """True in a process that serves requests: ``flask run`` (the reloader's child) or a WSGI server.

    False for other CLI commands (``flask db upgrade``, ``flask scheduler``…) and for the
    reloader parent of ``flask run --debug``, which only watches files.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True  # gunicorn / a WSGI server importing app.py
    if ctx.command.name != "run":
        return False
    from flask.helpers import get_debug_flag
    from werkzeug.serving import is_running_from_reloader

    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def start_in_process(app: Flask, *, requested_by_test: bool = False) -> BaseScheduler | None:
    """Start a BackgroundScheduler in this process when ``RUN_SCHEDULER`` is on and this is the one.

    Off in tests unless the test's own config asks for it (an ``EVENTHUB_RUN_SCHEDULER`` in the
    shell must not start schedulers in every test app). Never raises: the site serves even when
    the scheduler cannot start.
    """
    if not app.config.get("RUN_SCHEDULER"):
        return None
    if app.testing and not requested_by_test:
        return None
    if not is_serving_process():
        return None
    fd = acquire_lock(app)
    if fd is None:
        log.info("scheduler not started in pid %s: %s holds %s", os.getpid(), lock_holder(app) or "another process", lock_path(app))
        return None
    try:
        scheduler = build_scheduler(app, blocking=False)
        scheduler.start()
    except Exception:  # noqa: BLE001 - e.g. database not migrated yet: serve anyway, say why
        log.exception("in-process scheduler could not start")
        release_lock(fd)
        return None
    app.extensions[APP_EXTENSION] = {"scheduler": scheduler, "lock": fd}
    atexit.register(stop_in_process, app)
    log.warning("in-process scheduler started in pid %s", os.getpid())
    return scheduler


def stop_in_process(app: Flask) -> None:
    """Shut the in-process scheduler down and release the lock (idempotent)."""
    state = app.extensions.pop(APP_EXTENSION, None)
    if not state:
        return
    with contextlib.suppress(Exception):
        state["scheduler"].shutdown(wait=True)
    release_lock(state["lock"])


# ---- flask scheduler ----------------------------------------------------------------------------------


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduled jobs in the foreground (one per machine; stop with Ctrl-C or SIGTERM)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # the wake-up job would log every few seconds
    log.setLevel(logging.INFO)
    fd = acquire_lock(app)
    if fd is None:
        holder = lock_holder(app)
        raise click.ClickException(f"另一个调度器已在运行（{holder or '未知进程'}，锁文件 {lock_path(app)}）。每台机器只运行一个 flask scheduler。")
    try:
        scheduler = build_scheduler(app, blocking=True)
        stopping = threading.Event()

        stopper = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="scheduler-shutdown")

        def stop(signum: int, _frame: Any) -> None:
            # Not in the handler itself: it may have interrupted a pass over due jobs in this
            # thread; the shutdown thread waits for that pass, then for running jobs.
            if stopping.is_set():
                return
            stopping.set()
            log.info("signal %s: shutting down after running jobs finish", signal.Signals(signum).name)
            stopper.start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        url = app_engine(app).url.render_as_string(hide_password=True)
        log.info("scheduler started in %s (database %s, jobs: %s)", runner_id(), url, ", ".join(spec.id for spec in JOBS))
        scheduler.start()
        if stopper.is_alive():
            stopper.join()
        log.info("scheduler stopped")
    finally:
        release_lock(fd)


def init_app(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Register ``flask scheduler`` and start the in-process scheduler when configured."""
    app.cli.add_command(scheduler_command)
    start_in_process(app, requested_by_test=bool(test_config and test_config.get("RUN_SCHEDULER")))
