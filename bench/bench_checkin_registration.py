"""Load benchmark of issue 5: check-ins through the API and public registrations, under gunicorn.

Usage::

    .venv/bin/python -m bench.bench_checkin_registration                 # SQLite and PostgreSQL, full size
    .venv/bin/python -m bench.bench_checkin_registration --db sqlite     # one database only
    .venv/bin/python -m bench.bench_checkin_registration --quick          # 500 tickets, 120 attempts (smoke test)

For each database (a fresh SQLite file in a temporary folder; a throwaway PostgreSQL started
like the test suite's, ``tests/pgserver.py``) the script migrates with ``flask db upgrade``,
loads the data in-process (bulk inserts, but every QR payload is a real Ed25519 signature made
with the event's key through ``eventhub.registration.tickets``), then starts the real app,
``gunicorn -w 2 app:app``, configured only through ``EVENTHUB_*`` variables (no mail server: the
outbox keeps its rows; ``REGISTRATION_RATE_LIMIT`` raised, since every client is 127.0.0.1;
CSRF stays on), and drives it with 8 client threads, each with its own ``http.client``
connection (kept alive when the worker allows it; gunicorn's sync worker closes it after every
response, so each request then pays a local TCP connect, as it would behind a proxy):

* ceiling: ``GET /`` and ``POST /`` (JSON) of ``bench/bare_app.py`` under the same gunicorn, and
  the app's ``GET /healthz`` (one ``SELECT 1``);
* check-ins: ``POST /api/v1/events/<id>/checkins`` with a bearer token, every ticket once in a
  random order plus 5 % deliberate repeats (new scan ids) that must answer 200 "already";
* registrations: the HTML form ``POST /theme-days/<id>/register``, capacity 1,000, automatic
  approval, 1,200 people with distinct mobiles and e-mails. Each client first GETs the form (not
  timed) and then posts with that session cookie and CSRF token, as a browser would.

Printed: requests/s, p50 / p95 / p99 latency (ms, measured at the client, connect included), and
the invariants read back from the database: duplicate check-ins (must be 0), oversell (must be
0), 5xx answers (must be 0, SQLite included). ``--json PATH`` also writes the figures (the smoke
test reads them). Exit status 1 when an invariant is broken.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-" + "s" * 40  # the same in the loader and in gunicorn: event private keys are encrypted with it
CLIENTS = 8
REPEAT_SHARE = 0.05
VALID_USCC = "91350100M000100Y43"  # a 统一社会信用代码 with a correct check character (as tests/event_helpers.py)

Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Sizes:
    tickets: int
    capacity: int
    attempts: int
    ceiling: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        return cls(tickets=500, capacity=100, attempts=120, ceiling=500) if quick else cls(tickets=10_000, capacity=1_000, attempts=1_200, ceiling=4_000)


# ---- measuring -------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    seconds: float
    latencies: list[float]  # seconds, in request order
    statuses: list[int]  # -1: no answer (connection error)
    bodies: list[bytes] = field(repr=False, default_factory=list)
    server_cpu: float = 0.0  # CPU seconds used meanwhile by the server side (gunicorn workers, PostgreSQL)
    client_cpu: float = 0.0  # CPU seconds used meanwhile by this process (the client threads)

    @property
    def count(self) -> int:
        return len(self.statuses)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))] * 1000

    def codes(self) -> Counter[int]:
        return Counter(self.statuses)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.count,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "p50_ms": round(self.pct(50), 2),
            "p95_ms": round(self.pct(95), 2),
            "p99_ms": round(self.pct(99), 2),
            "status": {str(k): v for k, v in sorted(self.codes().items())},
            "server_errors": sum(1 for s in self.statuses if s >= 500),
            "no_answer": sum(1 for s in self.statuses if s < 0),
            "server_cpu_ms_per_request": round(self.server_cpu / self.count * 1000, 2) if self.count else None,
            "client_cpu_ms_per_request": round(self.client_cpu / self.count * 1000, 2) if self.count else None,
        }

    def line(self) -> str:
        codes = " ".join(f"{k}×{v}" for k, v in sorted(self.codes().items()))
        cpu = f"server CPU {self.server_cpu / self.count * 1000:5.2f} ms/req, client {self.client_cpu / self.count * 1000:4.2f}" if self.count else ""
        return (
            f"{self.label:<42} {self.count:6d} req {self.seconds:6.2f} s {self.rate:7.1f}/s   "
            f"p50 {self.pct(50):6.1f}  p95 {self.pct(95):6.1f}  p99 {self.pct(99):6.1f} ms   {cpu}   [{codes}]"
        )


def _send(conn: http.client.HTTPConnection, request: Request) -> tuple[int, bytes, http.client.HTTPResponse]:
    method, path, body, headers = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.will_close:
        conn.close()  # the next request reconnects (http.client auto_open)
    return response.status, data, response


def drive(
    port: int,
    label: str,
    count: int,
    make: Callable[[int, dict[str, Any]], Request],
    *,
    prepare: Callable[[http.client.HTTPConnection], dict[str, Any]] | None = None,
    cpu: Callable[[], float] = lambda: 0.0,
) -> Run:
    """Send ``count`` requests from CLIENTS threads pulling from one shared counter; time each one.

    ``prepare`` runs once per client before the clock starts (e.g. fetch the form for a CSRF
    token) and returns that client's state, passed to ``make(i, state)`` with the request index.
    """
    counter = itertools.count()
    latencies = [0.0] * count
    statuses = [0] * count
    bodies = [b""] * count
    barrier = threading.Barrier(CLIENTS + 1)
    failures: list[BaseException] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            state = prepare(conn) if prepare is not None else {}
        except BaseException as exc:  # noqa: BLE001 - reported below, the barrier must still be met
            failures.append(exc)
            state = {}
        barrier.wait()
        while (i := next(counter)) < count:
            request = make(i, state)
            start = time.perf_counter()
            try:
                status, data, _response = _send(conn, request)
            except (OSError, http.client.HTTPException):
                conn.close()
                status, data = -1, b""
            latencies[i] = time.perf_counter() - start
            statuses[i], bodies[i] = status, data
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    server_cpu, client_cpu = cpu(), time.process_time()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    server_cpu, client_cpu = cpu() - server_cpu, time.process_time() - client_cpu
    if failures:
        raise RuntimeError(f"{label}: a client could not prepare: {failures[0]!r}")
    return Run(label, elapsed, latencies, statuses, bodies, server_cpu, client_cpu)


# ---- servers ---------------------------------------------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc (Linux)."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(stat[11]) + int(stat[12])) / _TICK  # utime, stime (fields 14 and 15)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return 0.0
    return own + sum(tree_cpu(int(child)) for child in children)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(url: str) -> dict[str, str]:
    """Configuration of the benchmarked app, environment only (eventhub/config.py reads EVENTHUB_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTHUB_")}
    env.update(
        EVENTHUB_DATABASE_URL=url,
        EVENTHUB_SECRET_KEY=SECRET,
        EVENTHUB_REGISTRATION_RATE_LIMIT="1000000 per minute",  # all clients share 127.0.0.1
        EVENTHUB_MAIL_SERVER="",  # not configured: send_mail only writes the outbox row
        EVENTHUB_RUN_SCHEDULER="false",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@contextmanager
def gunicorn(module: str, env: dict[str, str], log: Path, *, workers: int, worker_class: str, threads: int) -> Iterator[tuple[int, int]]:
    """``gunicorn -w <workers> <module>`` on a free port; yields (port, master pid) once it answers."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-k",
        worker_class,
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
    ]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    process = subprocess.Popen([*cmd, module], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/" if module.startswith("bench.bare_app") else "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[tuple[str, int | None]]:
    """A fresh database URL (and the PostgreSQL postmaster's pid): a SQLite file in ``tmp`` or a throwaway cluster."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.sqlite'}", None
        return
    from tests.pgserver import PostgresServer  # the test suite's: runs initdb / pg_ctl as postgres when root

    server = PostgresServer().start()
    try:
        url = server.create_database("bench")
        yield url, int((server.dir / "data" / "postmaster.pid").read_text().split()[0])
    finally:
        server.stop()


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)


# ---- data ------------------------------------------------------------------------------------


@dataclass
class Seed:
    checkin_event: int
    register_event: int
    token: str
    payloads: list[str]
    seconds: float


def _approved_event(name: str, *, capacity: int | None) -> Any:
    """A theme day with an approved detailed plan: registration open now, automatic approval."""
    from eventhub.core.timeutil import utcnow
    from tests.event_helpers import add_session, approve, make_event, make_plan

    event = make_event(name)
    plan = make_plan(event)
    plan.registration_capacity = capacity
    plan.registration_opens_at = utcnow() - timedelta(days=1)
    plan.registration_closes_at = utcnow() + timedelta(days=10)
    plan.approval_mode = "automatic"
    add_session(plan, "开幕式")
    approve(plan)
    return event


def seed(url: str, tmp: Path, sizes: Sizes) -> Seed:
    """Load the check-in event (``sizes.tickets`` confirmed registrations with signed tickets, a
    check-in user and its bearer token) and the registration event (capacity ``sizes.capacity``)."""
    from sqlalchemy import func, insert, select

    from eventhub import create_app
    from eventhub.checkin import services as checkin
    from eventhub.core.permissions import Role
    from eventhub.core.timeutil import utcnow
    from eventhub.extensions import db
    from eventhub.registration import tickets
    from eventhub.registration.models import OrgType, Registration, Ticket
    from tests.factories import make_user

    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET}, instance_path=str(tmp / "instance"))
    with app.app_context():
        event = _approved_event("基准签到", capacity=None)
        register_event = _approved_event("基准报名", capacity=sizes.capacity)
        organiser = make_user(Role.ORGANISER)
        staff = make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="东门", actor=organiser)
        token = checkin.create_token(staff, "benchmark scanner")
        key = tickets.active_key(event)
        db.session.commit()

        now = utcnow()
        org_types = [t.value for t in OrgType]
        rows = [
            {
                "event_id": event.id,
                "name": f"参会人{n:05d}",
                "organisation": f"基准测试科技有限公司{n % 700:03d}",
                "org_type": org_types[n % len(org_types)],
                "uscc": VALID_USCC,
                "position": "工程师",
                "mobile": f"137{n:08d}",
                "email": f"c{n}@bench.example.com",
                "session_ids": [],
                "interests": {},
                "answers": {},
                "status": "confirmed",
                "confirmed_at": now,
                "token_hash": secrets.token_hex(32),
                "locale": "zh_Hans_CN",
                "needs_reapproval": False,
                "host_note": "",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(sizes.tickets)
        ]
        db.session.execute(insert(Registration), rows)
        ids = db.session.scalars(select(Registration.id).where(Registration.event_id == event.id).order_by(Registration.id)).all()
        codes: set[str] = set()
        while len(codes) < len(ids):
            codes.add("".join(secrets.choice(tickets.B32_ALPHABET) for _ in range(tickets.CODE_LENGTH)))
        ticket_rows = [
            {"registration_id": rid, "event_id": event.id, "code": code, "kid": key.kid, "issued_at": now} for rid, code in zip(ids, sorted(codes), strict=True)
        ]
        db.session.execute(insert(Ticket), ticket_rows)
        db.session.commit()

        # Sign exactly as tickets.ticket_payload does (one private-key decryption instead of one per ticket)
        # and check the first against it.
        private = tickets._private_key(key)
        payloads = []
        for row in ticket_rows:
            message = tickets.signed_message(key.kid, event.id, row["code"])
            payloads.append(f"{message}.{tickets.b32encode(private.sign(message.encode('ascii')))}")
        first = db.session.scalar(select(Ticket).where(Ticket.code == ticket_rows[0]["code"]))
        assert tickets.ticket_payload(first) == payloads[0]
        assert tickets.verify_ticket(event, payloads[-1])[0].ok
        confirmed = db.session.scalar(
            select(func.count()).select_from(Registration).where(Registration.event_id == event.id, Registration.status == "confirmed")
        )
        assert confirmed == sizes.tickets, confirmed
        result = Seed(event.id, register_event.id, token, payloads, time.perf_counter() - started)
        db.session.remove()
        db.engine.dispose()  # no connection of ours stays open (SQLite locks, PostgreSQL slots)
    return result


def read_back(url: str, tmp: Path, seed_: Seed) -> dict[str, int]:
    """The invariants, from the database after the runs."""
    from sqlalchemy import func, select

    from eventhub import create_app
    from eventhub.checkin.models import Checkin
    from eventhub.extensions import db
    from eventhub.registration.models import Registration, RegistrationQuota, Ticket

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET}, instance_path=str(tmp / "instance"))
    with app.app_context():
        per_ticket = select(Checkin.ticket_id).group_by(Checkin.ticket_id, Checkin.list_id).having(func.count() > 1).subquery()
        duplicates = db.session.scalar(select(func.count()).select_from(per_ticket)) or 0
        checked_in = db.session.scalar(select(func.count()).select_from(Checkin).where(Checkin.event_id == seed_.checkin_event)) or 0
        statuses = dict(
            db.session.execute(
                select(Registration.status, func.count()).where(Registration.event_id == seed_.register_event).group_by(Registration.status)
            ).all()
        )
        quota_used = db.session.scalar(
            select(RegistrationQuota.used).where(RegistrationQuota.event_id == seed_.register_event, RegistrationQuota.session_id.is_(None))
        )
        issued = db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.event_id == seed_.register_event, Ticket.revoked_at.is_(None))) or 0
        db.session.remove()
        db.engine.dispose()
    return {
        "checkin_rows": checked_in,
        "duplicate_checkins": duplicates,
        "confirmed": statuses.get("confirmed", 0),
        "waitlisted": statuses.get("waitlisted", 0),
        "other_status": sum(v for k, v in statuses.items() if k not in ("confirmed", "waitlisted")),
        "quota_used": quota_used or 0,
        "tickets_issued": issued,
    }


# ---- the workloads ---------------------------------------------------------------------------


def checkin_requests(seed_: Seed, rng: random.Random) -> tuple[list[Request], int]:
    """Every ticket once in a random order, then repeats of tickets scanned well before (new scan ids)."""
    headers = {"Authorization": f"Bearer {seed_.token}", "Content-Type": "application/json"}
    path = f"/api/v1/events/{seed_.checkin_event}/checkins"
    order = list(range(len(seed_.payloads)))
    rng.shuffle(order)
    repeats = rng.sample(order[: int(len(order) * 0.9)], int(len(order) * REPEAT_SHARE))
    requests = []
    for i in [*order, *repeats]:
        body = json.dumps({"payload": seed_.payloads[i], "scan_id": secrets.token_hex(12), "gate": "东门"}).encode()
        requests.append(("POST", path, body, headers))
    return requests, len(repeats)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def registration_client(event_id: int) -> Callable[[http.client.HTTPConnection], dict[str, Any]]:
    """What a browser does first: GET the form, keep the session cookie and the CSRF token."""

    def prepare(conn: http.client.HTTPConnection) -> dict[str, Any]:
        status, data, response = _send(conn, ("GET", f"/theme-days/{event_id}/register", None, {}))
        cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
        match = _CSRF.search(data.decode("utf-8"))
        if status != 200 or not cookie or match is None:
            raise RuntimeError(f"registration form: status {status}, cookie {bool(cookie)}, token {match is not None}")
        return {"cookie": cookie, "csrf": match.group(1) or match.group(2)}

    return prepare


def registration_request(event_id: int) -> Callable[[int, dict[str, Any]], Request]:
    def make(i: int, state: dict[str, Any]) -> Request:
        form = {
            "csrf_token": state["csrf"],
            "name": f"报名人{i:05d}",
            "organisation": f"基准创新科技有限公司{i % 300:03d}",
            "org_type": "sme",
            "uscc": VALID_USCC,
            "position": "技术总监",
            "mobile": f"139{i:08d}",
            "email": f"r{i}@bench.example.com",
            "website": "",
        }
        # The cookie from the GET is reused as is: it holds the CSRF secret; the flash message a
        # 302 adds to the session is not needed (we do not follow the redirect).
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": state["cookie"]}
        return ("POST", f"/theme-days/{event_id}/register", urlencode(form).encode(), headers)

    return make


def warm_up(port: int, seed_: Seed) -> None:
    """A few requests of each kind so both workers have imported, compiled and connected."""
    headers = {"Authorization": f"Bearer {seed_.token}", "Content-Type": "application/json"}
    body = json.dumps({"payload": "EH1.WARM", "scan_id": "warm"}).encode()
    for _ in range(3):
        drive(port, "warm", 16, lambda _i, _s: ("GET", "/healthz", None, {}))
        drive(port, "warm", 16, lambda _i, _s: ("POST", f"/api/v1/events/{seed_.checkin_event}/checkins", body, headers))
        drive(port, "warm", 16, lambda _i, _s: ("GET", f"/theme-days/{seed_.register_event}/register", None, {}))


# ---- one database ----------------------------------------------------------------------------


def bench(kind: str, sizes: Sizes, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="eventhub-bench-"))
    rng = random.Random(5)
    server_opts = {"workers": args.workers, "worker_class": args.worker_class, "threads": args.threads}
    out: dict[str, Any] = {"database": kind, **server_opts}
    try:
        with database(kind, tmp) as (url, pg_pid):
            env = app_env(url)
            started = time.perf_counter()
            migrate(env)
            out["migrate_seconds"] = round(time.perf_counter() - started, 2)
            seed_ = seed(url, tmp, sizes)
            out["seed_seconds"] = round(seed_.seconds, 2)
            print(f"\n== {kind}: gunicorn -w {args.workers} -k {args.worker_class} {args.app}, {CLIENTS} clients ==")
            print(f"migrate {out['migrate_seconds']:.1f} s; loaded {sizes.tickets:,} confirmed registrations with signed tickets in {seed_.seconds:.1f} s")

            runs: dict[str, Run] = {}
            with gunicorn("bench.bare_app:app", env, tmp / "bare.log", **server_opts) as (port, pid):
                cpu = functools.partial(tree_cpu, pid)
                drive(port, "warm", 200, lambda _i, _s: ("GET", "/", None, {}))
                runs["bare_get"] = drive(port, "bare Flask GET / (ceiling)", sizes.ceiling, lambda _i, _s: ("GET", "/", None, {}), cpu=cpu)
                post = json.dumps({"payload": "x" * 126, "scan_id": "s"}).encode()
                runs["bare_post"] = drive(
                    port, "bare Flask POST / JSON (ceiling)", sizes.ceiling, lambda _i, _s: ("POST", "/", post, {"Content-Type": "application/json"}), cpu=cpu
                )
            log = tmp / "app.log"
            out["load_before"] = round(os.getloadavg()[0], 2)
            with gunicorn(args.app, env, log, **server_opts) as (port, pid):

                def cpu() -> float:  # gunicorn workers + PostgreSQL backends
                    return tree_cpu(pid) + tree_cpu(pg_pid)

                warm_up(port, seed_)
                runs["healthz"] = drive(port, "app GET /healthz", sizes.ceiling, lambda _i, _s: ("GET", "/healthz", None, {}), cpu=cpu)
                requests, repeats = checkin_requests(seed_, rng)
                runs["checkins"] = drive(port, "check-ins POST /api/v1/…/checkins", len(requests), lambda i, _s: requests[i], cpu=cpu)
                make = registration_request(seed_.register_event)
                runs["registrations"] = drive(
                    port, "registrations POST /theme-days/…/register", sizes.attempts, make, prepare=registration_client(seed_.register_event), cpu=cpu
                )
            out["load_after"] = round(os.getloadavg()[0], 2)
            for run in runs.values():
                print(run.line())
            print(f"1-minute load average before / after the app runs: {out['load_before']} / {out['load_after']} (other processes share the CPUs)")
            errors_logged = [line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line or "[ERROR]" in line]
            facts = read_back(url, tmp, seed_)
            checkins, registrations = runs["checkins"].codes(), runs["registrations"].codes()
            out.update({name: run.summary() for name, run in runs.items()})
            out["checkin_results"] = {"ok": checkins.get(201, 0), "already": checkins.get(200, 0), "expected_ok": sizes.tickets, "expected_already": repeats}
            out["registration_results"] = {"accepted": registrations.get(302, 0), "refused_4xx": sum(v for k, v in registrations.items() if 400 <= k < 500)}
            out.update(facts)
            out["capacity"] = sizes.capacity
            out["oversell"] = max(0, facts["confirmed"] - sizes.capacity)
            out["server_errors"] = sum(run.summary()["server_errors"] + run.summary()["no_answer"] for run in runs.values())
            out["server_log_errors"] = len(errors_logged)
            bare = runs["bare_post"].server_cpu / runs["bare_post"].count  # the share by server CPU: the rates depend on the machine's load
            out["share_of_ceiling"] = {
                name: round(bare / (runs[name].server_cpu / runs[name].count), 3) if runs[name].server_cpu else None for name in ("checkins", "registrations")
            }
            print(
                f"check-ins: ok {checkins.get(201, 0)} / {sizes.tickets}, already {checkins.get(200, 0)} / {repeats}, "
                f"rows {facts['checkin_rows']}, duplicate check-ins {facts['duplicate_checkins']}"
            )
            print(
                f"registrations: capacity {sizes.capacity}, confirmed {facts['confirmed']}, wait-listed {facts['waitlisted']}, "
                f"refused {out['registration_results']['refused_4xx']}, quota used {facts['quota_used']}, tickets {facts['tickets_issued']}, oversell {out['oversell']}"
            )
            print(
                f"server errors (5xx + no answer): {out['server_errors']}, errors in the server log: {len(errors_logged)}; "
                f"server CPU of a bare JSON POST as a share of a check-in {out['share_of_ceiling']['checkins'] or 0:.1%}, of a registration {out['share_of_ceiling']['registrations'] or 0:.1%}"
            )
            if errors_logged:
                print("  first logged error:", errors_logged[0][:300])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["ok"] = (
        out.get("duplicate_checkins") == 0
        and out.get("oversell") == 0
        and out.get("server_errors") == 0
        and out["checkin_results"]["ok"] == sizes.tickets
        and out["checkin_results"]["already"] == out["checkin_results"]["expected_already"]
        and out["confirmed"] == min(sizes.capacity, sizes.attempts)
        and out["confirmed"] + out["waitlisted"] == sizes.attempts
    )
    return out


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "load_average": round(os.getloadavg()[0], 2),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="500 tickets, capacity 100, 120 attempts")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument("--app", default="app:app", help="WSGI app to benchmark (a variant module on PYTHONPATH, for experiments)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = Sizes.of(args.quick)
    info = machine()
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, Python {info['python']}, {info['date']}, load average {info['load_average']}"
    )
    print(
        f"sizes: {sizes.tickets:,} tickets (+{REPEAT_SHARE:.0%} repeats), capacity {sizes.capacity:,}, {sizes.attempts:,} registration attempts, {CLIENTS} clients"
    )
    results = [bench(kind, sizes, args) for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db])]
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "quick": args.quick, "results": results}, ensure_ascii=False, indent=2), encoding="utf-8")
    broken = [r["database"] for r in results if not r["ok"]]
    if broken:
        print(f"INVARIANT BROKEN on {', '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
