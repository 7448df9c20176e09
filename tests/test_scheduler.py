"""The scheduler on real databases, real threads and real processes (no mocks).

* a job persisted in the database survives a restart (same next run; a one-off added before
  the restart runs after it);
* a run missed during downtime is caught up exactly once (coalesced);
* two ``flask scheduler`` processes on one database (SQLite file, PostgreSQL) send each
  reminder once;
* the ``flock`` refuses a second scheduler on the same instance; SIGTERM stops cleanly;
* ``flask run --debug`` starts the scheduler in the serving child only, other commands never.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core import scheduler
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.scheduler_models import JobRun
from eventhub.core.timeutil import utcnow
from eventhub.extensions import db
from tests.event_helpers import host_of, make_event
from tests.factories import make_base, make_user

ROOT = Path(__file__).resolve().parent.parent
FAST = {"SCHEDULER_WAKEUP_SECONDS": 0.2}


# ---- job functions used by the tests (importable references, like real jobs) ----------------


def marker(note: str = "") -> str:
    return f"marker: {note}"


def explode() -> str:
    raise RuntimeError("boom: the job failed on purpose")


# ---- helpers ---------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def runs(app: Flask, job_id: str) -> list[JobRun]:
    with app.app_context():
        result = list(db.session.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))
        db.session.expunge_all()
        return result


def next_runs(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return {job.id: job.next_run_time for job in scheduler.stored_jobs(db.engine) or []}


@pytest.fixture
def drop_job_table(make_app) -> Iterator[None]:  # noqa: ANN001
    """APScheduler's table is not in the app metadata: drop it so the shared PostgreSQL starts clean."""
    yield
    app = make_app()
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {scheduler.JOB_TABLE}"))
    finally:
        engine.dispose()


def reminder_world(app: Flask, *, bases: int = 1) -> dict[str, Any]:
    """A campaign whose plan deadline is two days away, enterprise bases with two recipients each,
    and a theme day whose detailed plan is due in two days: each has a 3-day reminder due now."""
    with app.app_context():
        now = utcnow().replace(microsecond=0)
        campaign = Campaign(year=2090, title="2090 年“融通创新”主题日", plan_deadline=now + timedelta(days=2), status=CampaignStatus.PLANNING.value)
        db.session.add(campaign)
        base_ids = []
        for n in range(bases):
            base = make_base(f"测试企业基地{n}", short_name=f"企业{n}", contact_email=f"contact{n}@example.com")
            make_user(Role.HOST, base=base, email=f"host{n}@example.com")
            base_ids.append(base.id)
        event = make_event("国网", start=(now + timedelta(days=40)).date())
        event.detail_plan_due = now + timedelta(days=2)
        host_of(event)
        db.session.commit()
        return {"campaign_id": campaign.id, "base_ids": base_ids, "event_id": event.id, "event_base_id": event.host_base_id}


def outbox_keys(app: Flask, prefix: str) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted(
            (key, recipient) for key, recipient in db.session.execute(select(MailMessage.key, MailMessage.recipient).where(MailMessage.key.startswith(prefix)))
        )


# ---- registry, wrapper, housekeeping ---------------------------------------------------------------


def test_registry_lists_the_jobs_and_each_reference_imports():
    ids = [spec.id for spec in scheduler.JOBS]
    assert ids[:3] == ["outbox-delivery", "plan-reminders", "detail-plan-reminders"]
    assert len(set(ids)) == len(ids)
    for spec in scheduler.JOBS:
        assert callable(scheduler.resolve(spec.func_ref)), spec.func_ref
    spec = scheduler.periodic("survey-dispatch", "tests.test_scheduler:marker", minutes=5)
    assert (spec.id, spec.interval) == ("survey-dispatch", {"minutes": 5})
    with pytest.raises(ValueError, match="interval"):
        scheduler.periodic("no-interval", "tests.test_scheduler:marker")


def test_execute_job_records_success_and_error_with_traceback(app):
    with app.app_context():
        ok = scheduler.execute_job("test-ok", "tests.test_scheduler:marker", {"note": "hi"})
        bad = scheduler.execute_job("test-bad", "tests.test_scheduler:explode")
        unknown = scheduler.execute_job("not-registered")
        assert (ok.status, ok.summary, ok.error) == ("ok", "marker: hi", None)
        assert ok.finished_at is not None and ok.runner == scheduler.runner_id()
        assert bad.status == "error" and "boom" in bad.summary and "Traceback" in bad.error and "explode" in bad.error
        assert unknown.status == "error" and "not registered" in unknown.summary


def test_old_runs_are_pruned_and_interrupted_runs_closed(app):
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            [
                JobRun(job_id="old", started_at=now - timedelta(days=91), status="ok"),
                JobRun(job_id="recent", started_at=now - timedelta(days=89), status="ok"),
                JobRun(job_id="dead", started_at=now, status="running", runner=f"{socket.gethostname()}:999999999"),
                JobRun(job_id="alive", started_at=now, status="running", runner=scheduler.runner_id()),
                JobRun(job_id="elsewhere", started_at=now, status="running", runner="other-host:1"),
                JobRun(job_id="manual", started_at=now, status="running", runner=f"manual {socket.gethostname()}:999999999"),
            ]
        )
        db.session.commit()
        assert "deleted 1" in scheduler.prune_job_runs(now=now)
        assert scheduler.mark_interrupted_runs() == 2
        status = {job_id: value for job_id, value in db.session.execute(select(JobRun.job_id, JobRun.status))}
        assert status == {"recent": "ok", "dead": "error", "manual": "error", "alive": "running", "elsewhere": "running"}


def test_sync_keeps_unchanged_jobs_replaces_changed_removes_unregistered(make_app, drop_job_table):
    app = make_app()
    assert set(scheduler.sync_jobs(app).values()) == {"added"}
    before = next_runs(app)
    with app.app_context():
        scheduler.schedule_once("one-off", "tests.test_scheduler:marker", utcnow() + timedelta(days=3))
    with scheduler.store_scheduler(app) as s:  # a job a previous version registered
        s.add_job(scheduler.RUN_JOB_REF, "interval", minutes=5, args=("retired-job",), id="retired-job", jobstore="default")

    time.sleep(0.05)
    changed = make_app(SCHEDULER_INTERVALS={"plan-reminders": {"minutes": 5}})
    actions = scheduler.sync_jobs(changed)
    assert actions["plan-reminders"] == "replaced" and actions["retired-job"] == "removed"
    assert actions["outbox-delivery"] == actions["detail-plan-reminders"] == "kept"
    after = next_runs(changed)
    assert after["outbox-delivery"] == before["outbox-delivery"]  # not reset: a missed run would be lost
    assert after["plan-reminders"] != before["plan-reminders"]
    assert "one-off" in after and "retired-job" not in after


# ---- restart, downtime, failures --------------------------------------------------------------------


def test_persisted_jobs_survive_a_restart_and_a_one_off_runs_after_it(make_app, drop_job_table):
    first = make_app(**FAST)
    s1 = scheduler.build_scheduler(first, blocking=False)
    s1.start()
    try:
        with first.app_context():
            scheduler.schedule_once("test-once", "tests.test_scheduler:marker", utcnow() + timedelta(seconds=2), note="after the restart")
        before = next_runs(first)
    finally:
        s1.shutdown()
    assert {"outbox-delivery", "plan-reminders", "detail-plan-reminders", "test-once"} <= set(before)
    assert runs(first, "test-once") == []

    second = make_app(**FAST)  # a new process would build a new app on the same database
    s2 = scheduler.build_scheduler(second, blocking=False)
    s2.start()
    try:
        after = next_runs(second)
        assert {k: v for k, v in after.items() if k != "test-once"} == {k: v for k, v in before.items() if k != "test-once"}
        done = wait_for(lambda: [r for r in runs(second, "test-once") if r.status != "running"])
        assert [(r.status, r.summary) for r in done] == [("ok", "marker: after the restart")]
        wait_for(lambda: "test-once" not in next_runs(second), timeout=5)
    finally:
        s2.shutdown()


def test_a_run_missed_during_downtime_is_caught_up_once(make_app, drop_job_table):
    app = make_app(**FAST)
    world = reminder_world(app)
    scheduler.sync_jobs(app)
    missed = utcnow() - timedelta(hours=3)  # the scheduler was down: 12 runs of a 15-minute job missed
    with scheduler.store_scheduler(app) as s:
        s.modify_job("plan-reminders", jobstore="default", next_run_time=missed)
    assert next_runs(app)["plan-reminders"] <= missed + timedelta(seconds=1)

    s2 = scheduler.build_scheduler(app, blocking=False)
    s2.start()
    try:
        wait_for(lambda: [r for r in runs(app, "plan-reminders") if r.status == "ok"])
        time.sleep(1.0)  # time for any extra (uncoalesced) run to show up
    finally:
        s2.shutdown()
    done = runs(app, "plan-reminders")
    assert [r.status for r in done] == ["ok"], [(r.status, r.summary, r.error) for r in done]
    base_id = world["base_ids"][0]
    sent = outbox_keys(app, f"plan-reminder:{world['campaign_id']}:{base_id}:")
    assert [recipient for _, recipient in sent] == ["contact0@example.com", "host0@example.com"]
    assert all(key.split(":")[3] == "3" for key, _ in sent)
    assert next_runs(app)["plan-reminders"] > utcnow()


def test_a_failing_job_does_not_stop_the_scheduler(make_app, drop_job_table):
    app = make_app(**FAST)
    s = scheduler.build_scheduler(app, blocking=False)
    s.start()
    try:
        with app.app_context():
            soon = utcnow() + timedelta(milliseconds=300)
            scheduler.schedule_once("test-explode", "tests.test_scheduler:explode", soon)
            scheduler.schedule_once("test-after", "tests.test_scheduler:marker", soon + timedelta(milliseconds=500), note="still running")
        wait_for(lambda: [r for r in runs(app, "test-after") if r.status == "ok"])
        failed = runs(app, "test-explode")
        assert [r.status for r in failed] == ["error"] and "boom" in failed[0].error
        assert s.running
    finally:
        s.shutdown()


# ---- processes: two schedulers, the lock, make run ---------------------------------------------------


def write_app_module(folder: Path) -> None:
    """``flask --app schedapp`` with the instance folder from the environment (one per "machine")."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schedapp.py").write_text(
        "import os\nfrom eventhub import create_app\n\napp = create_app(instance_path=os.environ['TEST_INSTANCE'])\n", encoding="utf-8"
    )


def process_env(folder: Path, app: Flask, instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTHUB_", "FLASK_", "WERKZEUG_"))}
    env.update(
        PYTHONPATH=f"{folder}{os.pathsep}{ROOT}",
        TEST_INSTANCE=str(instance),
        EVENTHUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        EVENTHUB_SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        EVENTHUB_SCHEDULER_WAKEUP_SECONDS="0.3",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def start_flask(folder: Path, env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "schedapp", *args], cwd=folder, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(timeout=5)


def test_two_schedulers_on_one_database_send_each_reminder_once(make_app, tmp_path, drop_job_table):
    app = make_app()
    world = reminder_world(app, bases=3)
    folder = tmp_path / "procs"
    write_app_module(folder)
    intervals = '{"plan-reminders": {"seconds": 1}, "detail-plan-reminders": {"seconds": 1}, "outbox-delivery": {"hours": 1}}'
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [
        start_flask(folder, process_env(folder, app, tmp_path / f"machine-{n}", EVENTHUB_SCHEDULER_INTERVALS=intervals), "scheduler", log=logs[n])
        for n in range(2)
    ]
    try:
        wait_for(lambda: all("scheduler started" in log.read_text(errors="replace") for log in logs), timeout=30)
        time.sleep(3)  # both run both reminder jobs every second, at the same instants
        codes = [stop(p) for p in procs]
    finally:
        for p in procs:
            stop(p, signal.SIGKILL)
    output = "\n".join(log.read_text(errors="replace") for log in logs)
    assert codes == [0, 0], output
    assert output.count("scheduler stopped") == 2

    with app.app_context():
        reminder_runs = db.session.scalars(select(JobRun).where(JobRun.job_id.in_(["plan-reminders", "detail-plan-reminders"]))).all()
        assert [r for r in reminder_runs if r.status != "ok"] == [], output
        assert len({r.runner for r in reminder_runs}) == 2, "both schedulers ran the reminder jobs"
        assert len(reminder_runs) >= 6

    for n, base_id in enumerate(world["base_ids"]):
        sent = outbox_keys(app, f"plan-reminder:{world['campaign_id']}:{base_id}:")
        assert [r for _, r in sent] == [f"contact{n}@example.com", f"host{n}@example.com"]
        assert {key.split(":")[3] for key, _ in sent} == {"3"}
    detail = outbox_keys(app, f"detail-plan-reminder:{world['event_id']}:")
    assert len(detail) == 2 and {key.split(":")[2] for key, _ in detail} == {"3"}
    with app.app_context():
        per_recipient = db.session.execute(
            select(MailMessage.recipient, func.count()).where(MailMessage.key.startswith("plan-reminder:")).group_by(MailMessage.recipient)
        ).all()
        assert len(per_recipient) == 8 and all(count == 1 for _, count in per_recipient), per_recipient  # 3 bases + the event's host base


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_lock_refuses_a_second_scheduler_on_the_same_instance(make_app, tmp_path):
    app = make_app()
    first_fd = scheduler.acquire_lock(app)
    assert first_fd is not None
    assert scheduler.acquire_lock(app) is None  # even in the same process: a second open file
    scheduler.release_lock(first_fd)

    folder = tmp_path / "procs"
    write_app_module(folder)
    env = process_env(folder, app, tmp_path / "machine")
    first = start_flask(folder, env, "scheduler", log=tmp_path / "first.log")
    try:
        wait_for(lambda: "scheduler started" in (tmp_path / "first.log").read_text(errors="replace"), timeout=30)
        second = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "schedapp", "scheduler"], cwd=folder, env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode != 0
        assert "scheduler.lock" in second.stderr and f":{first.pid}" in second.stderr, second.stderr
        assert first.poll() is None  # the first one keeps running
        assert stop(first, signal.SIGINT) == 0
    finally:
        stop(first, signal.SIGKILL)
    assert "scheduler stopped" in (tmp_path / "first.log").read_text(errors="replace")
    fd = scheduler.acquire_lock(app)  # released with the process
    assert fd is not None
    scheduler.release_lock(fd)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_make_run_starts_the_scheduler_in_the_serving_process_only(make_app, tmp_path, drop_job_table):
    app = make_app()
    folder = tmp_path / "procs"
    write_app_module(folder)
    env = process_env(folder, app, tmp_path / "machine", EVENTHUB_RUN_SCHEDULER="true")

    other = subprocess.run([sys.executable, "-m", "flask", "--app", "schedapp", "routes"], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert other.returncode == 0 and "in-process scheduler started" not in other.stderr + other.stdout

    port = _free_port()
    log = tmp_path / "run.log"
    server = start_flask(folder, env, "run", "--debug", "--port", str(port), log=log)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/calendar"), timeout=30)
        wait_for(lambda: "in-process scheduler started" in log.read_text(errors="replace"), timeout=10)
        time.sleep(0.5)
        text_ = log.read_text(errors="replace")
        started = [line for line in text_.splitlines() if "in-process scheduler started" in line]
        assert len(started) == 1, text_
        pid = int(started[0].rsplit(" ", 1)[1])
        assert pid != server.pid  # the reloader's child serves; the parent only watches files
        assert (tmp_path / "machine" / "scheduler.lock").read_text().strip().endswith(f":{pid}")
        wait_for(lambda: runs(app, "plan-reminders") == [] and "plan-reminders" in next_runs(app), timeout=10)
    finally:
        stop(server)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local test server
            return response.status == 200
    except OSError:
        return False


# ---- in this process (what create_app does with RUN_SCHEDULER) ---------------------------------------


def test_create_app_starts_one_in_process_scheduler_only_when_asked(make_app, monkeypatch, drop_job_table):
    monkeypatch.setenv("EVENTHUB_RUN_SCHEDULER", "true")
    plain = make_app()  # the shell's setting alone never starts schedulers in tests
    assert scheduler.APP_EXTENSION not in plain.extensions

    app = make_app(RUN_SCHEDULER=True, **FAST)
    try:
        assert scheduler.APP_EXTENSION in app.extensions
        twin = make_app(RUN_SCHEDULER=True, **FAST)  # same instance folder: the lock is taken
        assert scheduler.APP_EXTENSION not in twin.extensions
        with app.app_context():
            scheduler.schedule_once("in-process", "tests.test_scheduler:marker", utcnow(), note="web")
        done = wait_for(lambda: [r for r in runs(app, "in-process") if r.status == "ok"])
        assert done[0].summary == "marker: web"
    finally:
        scheduler.stop_in_process(app)
    assert scheduler.APP_EXTENSION not in app.extensions
    fd = scheduler.acquire_lock(app)
    assert fd is not None
    scheduler.release_lock(fd)


def test_unschedule_removes_a_one_off(make_app, drop_job_table):
    app = make_app()
    with app.app_context():
        scheduler.schedule_once("event-reminder:1", "tests.test_scheduler:marker", utcnow() + timedelta(days=1))
        assert scheduler.unschedule("event-reminder:1") is True
        assert scheduler.unschedule("event-reminder:1") is False
        with pytest.raises((ImportError, AttributeError)):
            scheduler.schedule_once("bad", "tests.test_scheduler:no_such_function", utcnow())
    assert "event-reminder:1" not in next_runs(app)
