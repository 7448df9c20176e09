"""The organisers' jobs page: permissions, upcoming jobs from the store, runs with filters, run now."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text

from eventhub.core import scheduler
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.scheduler_models import JobRun
from eventhub.core.timeutil import format_local, utcnow
from eventhub.extensions import db
from tests.factories import PASSWORD, make_user, user_and_login


def _drop_job_table(app: Flask) -> None:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {scheduler.JOB_TABLE}"))
    finally:
        engine.dispose()


@pytest.fixture
def fresh_app(app: Flask) -> Iterator[Flask]:
    """The app with no APScheduler table (as before any scheduler ever started), also on the shared PostgreSQL."""
    _drop_job_table(app)
    yield app
    _drop_job_table(app)


def test_only_organisers_see_the_jobs_page(fresh_app):
    client = fresh_app.test_client()
    response = client.get("/jobs/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for role in (Role.HOST, Role.REVIEWER, Role.ASSESSOR):
        other = fresh_app.test_client()
        user_and_login(fresh_app, other, role)
        assert other.get("/jobs/").status_code == 403
        assert other.post("/jobs/plan-reminders/run").status_code == 403
    user_and_login(fresh_app, client, Role.ORGANISER)
    page = client.get("/jobs/").get_data(as_text=True)
    assert "定时任务" in page and 'href="/jobs/"' in page  # the nav link is shown to organisers


def test_page_says_the_scheduler_has_not_started_when_there_is_no_job_table(fresh_app):
    client = fresh_app.test_client()
    user_and_login(fresh_app, client)
    page = client.get("/jobs/").get_data(as_text=True)
    assert 'id="no-job-table"' in page and "调度器尚未启动" in page
    assert "尚未写入任务表" in page and "plan-reminders" in page  # the registry is still listed
    assert "还没有执行记录" in page


def test_page_lists_stored_jobs_with_next_run_in_beijing_time(fresh_app):
    scheduler.sync_jobs(fresh_app)
    with fresh_app.app_context():
        when = utcnow().replace(microsecond=0) + timedelta(days=3)
        scheduler.schedule_once("event-reminder:7", "eventhub.core.scheduler:prune_job_runs", when)
        stored = {job.id: job for job in scheduler.stored_jobs(db.engine)}
    client = fresh_app.test_client()
    user_and_login(fresh_app, client)
    page = client.get("/jobs/").get_data(as_text=True)
    assert 'id="no-job-table"' not in page
    for job_id in ("outbox-delivery", "plan-reminders", "detail-plan-reminders", "event-reminder:7"):
        assert f'data-job="{job_id}"' in page
    assert "每 15 分钟" in page and "每 30 秒" in page and "每 1 天" in page
    assert format_local(stored["plan-reminders"].next_run_time, "%Y-%m-%d %H:%M:%S") in page
    assert f"一次性：{format_local(when)}" in page and "一次性任务" in page
    assert "初步计划截止提醒" in page and "尚未写入任务表" not in page


def test_runs_are_filtered_paginated_and_errors_readable(app):
    with app.app_context():
        now = utcnow()
        for n in range(30):
            db.session.add(
                JobRun(job_id="plan-reminders", started_at=now - timedelta(minutes=15 * n), finished_at=now, status="ok", summary=f"run {n}", runner="vm:1")
            )
        db.session.add(
            JobRun(
                job_id="outbox-delivery",
                started_at=now,
                finished_at=now,
                status="error",
                summary="RuntimeError: SMTP down",
                error='Traceback (most recent call last):\n  File "x.py"\nRuntimeError: <script>alert(1)</script>',
                runner="vm:2",
            )
        )
        db.session.commit()
    client = app.test_client()
    user_and_login(app, client)

    page = client.get("/jobs/").get_data(as_text=True)
    assert page.count('data-run="') == 25 and "共 31 条" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "错误详情" in page and "Traceback" in page

    errors = client.get("/jobs/?status=error").get_data(as_text=True)
    assert errors.count('data-run="') == 1 and "SMTP down" in errors
    plan = client.get("/jobs/?job=plan-reminders&page=2").get_data(as_text=True)
    assert plan.count('data-run="') == 5 and 'data-status="error"' not in plan
    assert "run 29" in plan and "run 0<" not in plan


def test_run_now_records_a_run_and_an_audit_entry(app):
    client = app.test_client()
    uid = user_and_login(app, client)
    response = client.post("/jobs/job-runs-cleanup/run")
    assert response.status_code == 302 and "job=job-runs-cleanup" in response.headers["Location"]
    with app.app_context():
        run = db.session.scalar(select(JobRun).where(JobRun.job_id == "job-runs-cleanup"))
        assert run.status == "ok" and run.runner.startswith("manual ") and "deleted 0" in run.summary
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "job.run_now"))
        assert entry.actor_id == uid and entry.object_id == str(run.id) and entry.after["status"] == "ok"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已执行" in page and 'data-status="ok"' in page
    assert client.post("/jobs/not-a-job/run").status_code == 404


def test_run_now_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        email = make_user(Role.ORGANISER).email
        db.session.commit()
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/jobs/job-runs-cleanup/run").status_code == 400
    page = client.get("/jobs/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/jobs/job-runs-cleanup/run", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(JobRun.status).where(JobRun.job_id == "job-runs-cleanup")) == "ok"
