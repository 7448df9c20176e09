"""The organisers' view of the scheduler: upcoming jobs and recent runs with their results.

Upcoming jobs are read from the database job store, so the page is the same whether the
scheduler runs in this process (``make run``), in ``flask scheduler`` elsewhere, or nowhere yet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from eventhub.core import audit, scheduler
from eventhub.core.permissions import require
from eventhub.core.scheduler_models import JobRun
from eventhub.core.timeutil import format_local, utcnow
from eventhub.extensions import db

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

RUN_STATUSES = ("running", "ok", "error")
PER_PAGE = 25


def status_labels() -> dict[str, str]:
    return {"running": _("执行中"), "ok": _("成功"), "error": _("失败")}


def describe_trigger(trigger: Any) -> str:
    """“每 15 分钟” / “一次性：2027-05-01 09:00” — for people, not APScheduler's repr."""
    if isinstance(trigger, IntervalTrigger):
        seconds = int(trigger.interval.total_seconds())
        for unit, label in ((86400, _("天")), (3600, _("小时")), (60, _("分钟"))):
            if seconds % unit == 0:
                return _("每 %(n)d %(unit)s", n=seconds // unit, unit=label)
        return _("每 %(n)d 秒", n=seconds)
    if isinstance(trigger, DateTrigger):
        return _("一次性：%(when)s", when=format_local(trigger.run_date))
    return str(trigger) if trigger is not None else "—"


def _duration(run: JobRun) -> str:
    if run.finished_at is None:
        return ""
    seconds = (run.finished_at - run.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 60 else str(timedelta(seconds=int(seconds)))


@bp.get("/")
@require("scheduler.view")
def index() -> str:
    """Upcoming jobs from the store, recent runs from ``job_runs`` (filter by job and status)."""
    jobs = scheduler.stored_jobs(db.engine)
    now = utcnow()
    late_after = timedelta(seconds=max(60.0, 3 * float(current_app.config.get("SCHEDULER_WAKEUP_SECONDS", 10))))
    job_id = request.args.get("job", "").strip()
    status = request.args.get("status", "").strip()
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    if status in RUN_STATUSES:
        query = query.where(JobRun.status == status)
    pagination = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    known_ids = sorted({spec.id for spec in scheduler.JOBS} | set(db.session.scalars(select(JobRun.job_id).distinct())))
    last_runs = {run.job_id: run for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(select(func.max(JobRun.id)).group_by(JobRun.job_id))))}
    return render_template(
        "jobs/index.html",
        jobs=jobs,
        specs=scheduler.JOBS,
        stored_ids={job.id for job in jobs or []},
        describe_trigger=describe_trigger,
        is_overdue=lambda at: at is not None and now - at > late_after,
        pagination=pagination,
        filters={"job": job_id, "status": status},
        known_ids=known_ids,
        status_labels=status_labels(),
        last_runs=last_runs,
        duration=_duration,
        in_process=scheduler.APP_EXTENSION in current_app.extensions,
        now=now,
    )


@bp.post("/<job_id>/run")
@require("scheduler.view")
def run_now(job_id: str) -> Any:
    """Run a registered job in this request; recorded as a run and audited."""
    if scheduler.registered(job_id) is None:
        abort(404)
    actor = current_user._get_current_object()
    run = scheduler.execute_job(job_id, runner=f"manual {scheduler.runner_id()}")
    audit.record("job.run_now", run, after={"job_id": job_id, "status": run.status, "summary": run.summary}, actor=actor)
    db.session.commit()
    if run.status == "ok":
        flash(_("已执行“%(job)s”：%(summary)s", job=job_id, summary=run.summary or "—"), "success")
    else:
        flash(_("“%(job)s”执行失败：%(summary)s", job=job_id, summary=run.summary), "danger")
    return redirect(url_for("jobs.index", job=job_id))
