"""CPU and wall time of one check-in and one registration, in-process, one request at a time.

The cost of a request without the server, the clients or the other requests: the real views
through Flask's test client on a migrated-by-``create_all`` SQLite file in WAL mode (or the URL
given), the same data shapes as ``bench_checkin_registration`` (signed tickets, bearer token, the
public HTML form with CSRF off). Used to compare code changes on a shared machine, where the
rates of the load benchmark move with the load: CPU time per request hardly does. Also printed:
the *write window* per request, from its first writing statement to the COMMIT — on SQLite the
time it holds the database's write lock, i.e. what serialises concurrent requests.

Usage::

    .venv/bin/python -m bench.profile_serial                 # 2,000 check-ins, 300 registrations
    .venv/bin/python -m bench.profile_serial --checkins 500 --registrations 100
    PYTHONPATH=/path/to/other/tree .venv/bin/python /work/main/bench/profile_serial.py   # another version of the code
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SECRET = "bench-" + "s" * 40


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--checkins", type=int, default=2000)
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)

    from sqlalchemy import event as sa_event
    from sqlalchemy import insert

    from eventhub import create_app
    from eventhub.checkin import services as checkin
    from eventhub.core.permissions import Role
    from eventhub.core.timeutil import utcnow
    from eventhub.extensions import db
    from eventhub.registration import tickets
    from eventhub.registration.models import Registration, Ticket
    from tests.factories import make_user

    tmp = Path(tempfile.mkdtemp(prefix="eventhub-profile-"))
    url = args.url or f"sqlite:///{tmp / 'profile.sqlite'}"
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "WTF_CSRF_ENABLED": False,
        "REGISTRATION_RATE_LIMIT": "1000000 per minute",
        "MAIL_SERVER": "",
        "RUN_SCHEDULER": False,
    }
    app = create_app(config, instance_path=str(tmp / "instance"))
    from bench.bench_checkin_registration import VALID_USCC, _approved_event

    with app.app_context():
        db.create_all()
        event = _approved_event("基准签到", capacity=None)
        register_event = _approved_event("基准报名", capacity=args.registrations * 10)
        organiser, staff = make_user(Role.ORGANISER), make_user(Role.CHECKIN)
        checkin.assign_staff(event, staff, gate="东门", actor=organiser)
        token = checkin.create_token(staff, "profile")
        key = tickets.active_key(event)
        tickets.active_key(register_event)  # as in the load benchmark after its first registration
        db.session.commit()
        now = utcnow()
        rows = []
        for n in range(args.checkins):
            registration = Registration(
                event_id=event.id,
                name=f"参会人{n:05d}",
                organisation="基准测试科技有限公司",
                org_type="sme",
                uscc=VALID_USCC,
                position="工程师",
                mobile=f"137{n:08d}",
                email=f"c{n}@bench.example.com",
                session_ids=[],
                interests={},
                answers={},
                status="confirmed",
                confirmed_at=now,
                token_hash=secrets.token_hex(32),
                locale="zh_Hans_CN",
            )
            db.session.add(registration)
            rows.append(registration)
        db.session.flush()
        codes = [f"{n:010d}".translate(str.maketrans("0123456789", "ABCDEFGHIJ")) for n in range(args.checkins)]
        db.session.execute(
            insert(Ticket),
            [{"registration_id": r.id, "event_id": event.id, "code": c, "kid": key.kid, "issued_at": now} for r, c in zip(rows, codes, strict=True)],
        )
        db.session.commit()
        private = tickets._private_key(key)
        payloads = []
        for code in codes:
            message = tickets.signed_message(key.kid, event.id, code)
            payloads.append(f"{message}.{tickets.b32encode(private.sign(message.encode('ascii')))}")
        event_id, register_id = event.id, register_event.id
        db.session.remove()

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    # The write window: from the first writing statement (on SQLite: the write lock) to the COMMIT.
    window: dict[str, float | None] = {"start": None, "held": 0.0}

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if window["start"] is None and statement.lstrip()[:6].upper() in ("BEGIN ", "INSERT", "UPDATE", "DELETE"):
            window["start"] = time.perf_counter()

    def on_end(_conn: Any) -> None:
        if window["start"] is not None:
            window["held"] = (window["held"] or 0.0) + time.perf_counter() - window["start"]
            window["start"] = None

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", on_execute)
    sa_event.listen(engine, "commit", on_end)
    sa_event.listen(engine, "rollback", on_end)

    def timed(call: Any) -> tuple[float, float, int, float]:
        window["held"] = 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        status = call()
        return time.process_time() - cpu, time.perf_counter() - wall, status, window["held"] or 0.0

    for i in range(20):  # warm: imports, compiled templates, connections
        client.post(f"/api/v1/events/{event_id}/checkins", json={"payload": "EH1.WARM", "scan_id": f"warm{i}"}, headers=headers)
        client.get(f"/theme-days/{register_id}/register")

    out: dict[str, Any] = {}
    samples = []
    for i, payload in enumerate(payloads):
        samples.append(
            timed(
                lambda p=payload, i=i: client.post(f"/api/v1/events/{event_id}/checkins", json={"payload": p, "scan_id": f"s{i}"}, headers=headers).status_code
            )
        )
    assert all(s[2] == 201 for s in samples), {s[2] for s in samples}
    out["checkin"] = samples

    samples = []
    for i in range(args.registrations):
        form = {
            "name": f"报名人{i:05d}",
            "organisation": "基准创新科技有限公司",
            "org_type": "sme",
            "uscc": VALID_USCC,
            "position": "技术总监",
            "mobile": f"139{i:08d}",
            "email": f"r{i}@bench.example.com",
            "website": "",
        }
        samples.append(timed(lambda f=form: client.post(f"/theme-days/{register_id}/register", data=f).status_code))
    assert all(s[2] == 302 for s in samples), {s[2] for s in samples}
    out["registration"] = samples

    summary = {}
    for name, rows_ in out.items():
        cpu = [r[0] * 1000 for r in rows_]
        wall = [r[1] * 1000 for r in rows_]
        held = [r[3] * 1000 for r in rows_]
        summary[name] = {
            "n": len(rows_),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2),
            "cpu_ms_median": round(statistics.median(cpu), 2),
            "wall_ms_median": round(statistics.median(wall), 2),
            "write_window_ms_median": round(statistics.median(held), 2),
            "write_window_ms_mean": round(statistics.fmean(held), 2),
        }
        print(
            f"{name:<13} n={len(rows_):5d}  CPU mean {statistics.fmean(cpu):6.2f} ms  median {statistics.median(cpu):6.2f} ms   wall median {statistics.median(wall):6.2f} ms   "
            f"write window (first write → COMMIT) median {statistics.median(held):6.2f} ms, mean {statistics.fmean(held):6.2f} ms"
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
