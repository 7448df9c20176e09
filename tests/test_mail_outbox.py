"""The mail outbox end to end: templates, idempotent queueing, delivery over a real SMTP server.

Every test runs on SQLite and PostgreSQL (the ``app`` / ``make_app`` fixtures). Time is driven
through ``deliver_pending(now=...)``; SMTP servers are real aiosmtpd servers (tests/smtp_helpers.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import has_request_context
from icalendar import Calendar
from icalendar import Event as IcsEvent
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.core.mail import KEY_HEADER, MailMessage, deliver_pending, queue_mail, send_mail
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import make_user, user_and_login
from tests.smtp_helpers import PERMANENT, TEMPORARY, SmtpRecorder, free_port, parse, running


@pytest.fixture
def smtp_server() -> Iterator[SmtpRecorder]:
    """A real SMTP server (aiosmtpd) recording what it accepts."""
    with running() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port where nothing listens: a mail server that is down."""
    return free_port()


T0 = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
ICS_TYPE = "text/calendar; method=PUBLISH; charset=utf-8"


def _count() -> int:
    return db.session.scalar(select(func.count(MailMessage.id)))


def _row(key: str) -> MailMessage:
    db.session.expire_all()
    return db.session.scalar(select(MailMessage).where(MailMessage.key == key))


def _ics() -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//EventHub test//")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = IcsEvent()
    event.add("uid", "event-1@eventhub")
    event.add("summary", "华润融通创新主题日")
    event.add("dtstart", datetime(2026, 10, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    event.add("dtend", datetime(2026, 10, 20, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    event.add("dtstamp", T0)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _scheduled(recipient: str, key: str, **kw: object) -> MailMessage | None:
    """Queue the 'selected and scheduled' notice (a real template with a Chinese subject)."""
    context = {
        "year": 2026,
        "title": "华润融通创新主题日",
        "start": "2026-10-20",
        "end": "2026-10-21",
        "due": "2026-09-20 00:00",
        "name": "华润",
        "login_url": "https://eventhub.example.cn/login",
    }
    return send_mail(recipient, "selection_scheduled", key=key, **{**context, **kw})


def _invitation(recipient: str, key: str, **kw: object) -> MailMessage | None:
    context = {"name": "王邮件", "role": "签到人员", "email": recipient, "validity": "7 天", "url": "https://eventhub.example.cn/invite/tok"}
    return send_mail(recipient, "invitation", key=key, **{**context, **kw})


# ---- rendering and queueing ------------------------------------------------------------------


def test_send_mail_renders_all_parts_outside_a_request_and_queues_once(app):
    with app.app_context():
        assert not has_request_context()  # as in the scheduler
        message = _invitation("Mailed@Example.com", key="invite:1")
        db.session.commit()
        assert message is not None
        row = _row("invite:1")
        assert row.subject == "EventHub 账号邀请"
        assert "王邮件，您好" in row.body and "身份为“签到人员”" in row.body and "https://eventhub.example.cn/invite/tok" in row.body
        assert row.html_body.startswith("<!doctype html>") and 'href="https://eventhub.example.cn/invite/tok"' in row.html_body
        assert "http://127.0.0.1:5000/" in row.html_body  # site link of the layout, made without a request
        assert (row.template, row.locale, row.status, row.attempts) == ("invitation", "zh_Hans_CN", "pending", 0)

        assert _invitation("mailed@example.com", key="invite:1", name="别人") is None  # same key: not queued again
        assert queue_mail("mailed@example.com", "x", "y", key="invite:1") is None
        db.session.commit()
        assert _count() == 1 and _row("invite:1").body == row.body


def test_html_template_escapes_values_text_template_does_not(app):
    with app.app_context():
        _invitation("a@example.com", key="esc", name="<b>A&B</b>")
        db.session.commit()
        row = _row("esc")
        assert "<b>A&B</b>，您好" in row.body
        assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in row.html_body and "<b>A&B</b>" not in row.html_body


def test_mail_is_written_in_the_recipients_language(app):
    with app.app_context():
        user = make_user(Role.HOST)
        user.locale = "en"
        db.session.commit()
        _invitation(user.email.upper(), key="en:1", role=user.role_label)  # address matched case-insensitively
        _invitation("nobody@example.com", key="en:2", locale="en")  # no account: the argument decides
        _invitation(user.email, key="en:3", locale="zh_Hans_CN")  # the argument wins over the account
        db.session.commit()
        english = _row("en:1")
        assert english.locale == "en" and english.subject == "EventHub account invitation"
        assert english.body.startswith("Dear 王邮件,") and "as “Host base”" in english.body
        assert 'lang="en"' in english.html_body
        assert _row("en:2").subject == "EventHub account invitation"
        assert _row("en:3").subject == "EventHub 账号邀请" and _row("en:3").locale == "zh_Hans_CN"


def test_rolled_back_change_leaves_no_mail(app):
    """Transactional outbox: the row lives and dies with the caller's transaction (also as its first write)."""
    with app.app_context():
        assert _invitation("gone@example.com", key="rollback:1") is not None
        db.session.rollback()
        assert _count() == 0
        assert _invitation("gone@example.com", key="rollback:1") is not None  # the key is free again
        db.session.commit()
        assert _count() == 1


def test_concurrent_send_mail_with_the_same_key_inserts_one_row(app):
    """Two transactions queue the same key at once: the second waits for the first, then inserts nothing."""
    inserted, results, errors = threading.Event(), {}, []

    def first() -> None:
        try:
            with app.app_context():
                results["first"] = _scheduled("race@example.com", key="race:1") is not None
                inserted.set()
                threading.Event().wait(0.5)  # keep the transaction open while the other one inserts
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            inserted.set()

    def second() -> None:
        try:
            with app.app_context():
                inserted.wait(5)
                results["second"] = _scheduled("race@example.com", key="race:1") is not None
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert results == {"first": True, "second": False}
    with app.app_context():
        assert _count() == 1


# ---- delivery over real SMTP -----------------------------------------------------------------


def test_delivery_over_real_smtp_with_ics_html_and_chinese_subject(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_DEFAULT_SENDER="融通创新主题日 <noreply@eventhub.example.cn>")
    ics = _ics()
    with app.app_context():
        _scheduled("host@example.com", key="selection:1:event:1:seq:0:abc", attachments=[("华润主题日.ics", ICS_TYPE, ics)])
        db.session.commit()
        assert smtp_server.envelopes == []  # queueing sends nothing
        assert deliver_pending(now=T0) == "sent 1, retry 0, failed 0, logged 0"

        envelope = smtp_server.wait_for(1)[0]
        assert envelope.rcpt_tos == ["host@example.com"] and envelope.mail_from == "noreply@eventhub.example.cn"
        mail = parse(envelope)
        assert mail["Subject"] == "【2026 年融通创新主题日】华润融通创新主题日 已排期"
        assert mail["From"].addresses[0].display_name == "融通创新主题日"
        assert mail[KEY_HEADER] == "selection:1:event:1:seq:0:abc"
        assert mail["Message-ID"].endswith("@eventhub.example.cn>")
        assert mail.get_content_type() == "multipart/mixed"
        text = mail.get_body(preferencelist=("plain",)).get_content()
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert "贵基地已入选 2026 年“融通创新”主题日承办基地" in text and "2026-09-20 00:00" in text
        assert 'href="https://eventhub.example.cn/login"' in html and "华润融通创新主题日" in html

        [attachment] = list(mail.iter_attachments())
        assert attachment.get_filename() == "华润主题日.ics"
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_param("method") == "PUBLISH" and attachment.get_param("charset") == "utf-8"
        data = attachment.get_payload(decode=True)
        assert data == ics  # byte for byte
        parsed = Calendar.from_ical(data)
        [event] = parsed.walk("VEVENT")
        assert str(event["summary"]) == "华润融通创新主题日"
        assert event.decoded("dtstart") == datetime(2026, 10, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert parsed.walk("VTIMEZONE")[0]["tzid"] == "Asia/Shanghai"

        row = _row("selection:1:event:1:seq:0:abc")
        assert (row.status, row.attempts, row.sent_at, row.last_error, row.claimed_at) == ("sent", 1, T0, None, None)
        assert deliver_pending(now=T0 + timedelta(hours=1)) == "sent 0, retry 0, failed 0, logged 0"  # nothing twice
        assert len(smtp_server.envelopes) == 1


def test_server_down_retries_with_back_off_then_fails_and_keeps_the_row(make_app, closed_port):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_TIMEOUT=2)
    with app.app_context():
        _scheduled("host@example.com", key="down:1")
        db.session.commit()
        now = T0
        for attempt, wait in enumerate([1, 5, 15, 60, 240], start=1):
            assert deliver_pending(now=now) == "sent 0, retry 1, failed 0, logged 0"
            row = _row("down:1")
            assert (row.status, row.attempts) == ("pending", attempt)
            assert row.next_attempt_at == now + timedelta(minutes=wait)
            assert "ConnectionRefusedError" in row.last_error
            # not due yet: a run a moment before the next attempt leaves it alone
            assert deliver_pending(now=row.next_attempt_at - timedelta(seconds=1)) == "sent 0, retry 0, failed 0, logged 0"
            now = row.next_attempt_at
        assert deliver_pending(now=now) == "sent 0, retry 0, failed 1, logged 0"  # the 6th attempt (MAIL_MAX_ATTEMPTS)
        row = _row("down:1")
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 6, None)
        assert "ConnectionRefusedError" in row.last_error and row.body and row.subject
        assert deliver_pending(now=now + timedelta(days=1)) == "sent 0, retry 0, failed 0, logged 0"
        assert _count() == 1  # nothing deleted


def test_temporary_451_is_retried_and_sent_when_the_server_recovers(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    smtp_server.answer, smtp_server.refuse_at = TEMPORARY, "RCPT"
    with app.app_context():
        _scheduled("host@example.com", key="busy:1")
        db.session.commit()
        assert deliver_pending(now=T0) == "sent 0, retry 1, failed 0, logged 0"
        row = _row("busy:1")
        assert row.status == "pending" and row.last_error.startswith("host@example.com: 451")
        smtp_server.answer = None  # the server is fine again
        assert deliver_pending(now=T0 + timedelta(seconds=30)) == "sent 0, retry 0, failed 0, logged 0"  # still backing off
        assert deliver_pending(now=T0 + timedelta(minutes=1)) == "sent 1, retry 0, failed 0, logged 0"
        row = _row("busy:1")
        assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
        assert len(smtp_server.wait_for(1)) == 1


def test_permanent_554_fails_at_once_and_does_not_stop_the_others(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    smtp_server.answer, smtp_server.refuse_at, smtp_server.refuse_only = PERMANENT, "DATA", {"bad@example.com"}
    with app.app_context():
        _scheduled("good1@example.com", key="p:1")
        _scheduled("bad@example.com", key="p:2")
        _scheduled("good2@example.com", key="p:3")
        db.session.commit()
        assert deliver_pending(now=T0) == "sent 2, retry 0, failed 1, logged 0"
        bad = _row("p:2")
        assert (bad.status, bad.attempts, bad.next_attempt_at) == ("failed", 1, None)
        assert bad.last_error.startswith("554 5.7.1 Message rejected")
        assert sorted(e.rcpt_tos[0] for e in smtp_server.envelopes) == ["good1@example.com", "good2@example.com"]
        assert deliver_pending(now=T0 + timedelta(days=1)) == "sent 0, retry 0, failed 0, logged 0"


def test_no_server_configured_means_logged(app, caplog):
    with app.app_context():
        _scheduled("host@example.com", key="log:1")
        db.session.commit()
        with caplog.at_level(logging.INFO):
            assert deliver_pending() == "sent 0, retry 0, failed 0, logged 1"
        row = _row("log:1")
        assert (row.status, row.attempts, row.sent_at) == ("logged", 0, None)
        assert "host@example.com" in caplog.text and "log:1" in caplog.text and "已排期" in caplog.text
        assert deliver_pending() == "sent 0, retry 0, failed 0, logged 0"


def test_a_claim_left_by_a_crashed_worker_is_taken_again(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        old = _scheduled("old@example.com", key="stale:old")
        fresh = _scheduled("fresh@example.com", key="stale:fresh")
        old.status, old.claimed_at = "sending", T0 - timedelta(minutes=11)
        fresh.status, fresh.claimed_at = "sending", T0 - timedelta(minutes=2)  # another worker is on it
        db.session.commit()
        assert deliver_pending(now=T0) == "sent 1, retry 0, failed 0, logged 0"
        assert _row("stale:old").status == "sent" and _row("stale:fresh").status == "sending"
        assert [e.rcpt_tos for e in smtp_server.envelopes] == [["old@example.com"]]


def test_two_workers_at_once_send_each_message_exactly_once(make_app):
    with running() as server:
        server.delay = 0.01  # slow the server a little so the workers really overlap
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
        with app.app_context():
            for n in range(24):
                _scheduled(f"host{n}@example.com", key=f"twice:{n}")
            db.session.commit()
        start, summaries, errors = threading.Barrier(2), [], []

        def worker() -> None:
            try:
                with app.app_context():
                    start.wait(5)
                    summaries.append(deliver_pending(now=T0))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        envelopes = server.wait_for(24)
        assert len(envelopes) == 24  # not one more
        keys = [parse(e)[KEY_HEADER] for e in envelopes]
        assert sorted(keys) == sorted(f"twice:{n}" for n in range(24))
        assert sum(int(s.split()[1].rstrip(",")) for s in summaries) == 24
        with app.app_context():
            assert db.session.scalar(select(func.count(MailMessage.id)).where(MailMessage.status == "sent")) == 24


@pytest.mark.parametrize("limit", [2])
def test_limit_caps_one_run(make_app, smtp_server, limit):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        for n in range(3):
            _scheduled(f"h{n}@example.com", key=f"limit:{n}")
        db.session.commit()
        assert deliver_pending(limit=limit, now=T0) == "sent 2, retry 0, failed 0, logged 0"
        assert deliver_pending(limit=limit, now=T0) == "sent 1, retry 0, failed 0, logged 0"


# ---- the language of the recipient, not of the person who caused the mail -----------------------


def test_language_switch_is_kept_on_the_account_for_later_mail(app, client):
    uid = user_and_login(app, client, Role.HOST)
    client.post("/lang", data={"lang": "en", "next": "/"})
    with app.app_context():
        user = db.session.get(User, uid)
        assert user.locale == "en"
        _invitation(user.email, key="lang:1")  # e.g. from the scheduler, long after the session is gone
        db.session.commit()
        assert _row("lang:1").subject == "EventHub account invitation"
    client.post("/lang", data={"lang": "zh_Hans_CN", "next": "/"})
    with app.app_context():
        assert db.session.get(User, uid).locale == "zh_Hans_CN"
    assert app.test_client().post("/lang", data={"lang": "en", "next": "/login"}).status_code == 302  # anonymous: session only


def test_mail_queued_during_an_english_request_is_in_the_recipients_language(app, client):
    user_and_login(app, client)
    client.post("/lang", data={"lang": "en", "next": "/"})
    response = client.post("/users/invite", data={"email": "newhost@example.com", "name": "李承办", "role": "reviewer"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Invitation link" in page  # the organiser's page stays English after rendering the mail
    with app.app_context():
        row = db.session.scalar(select(MailMessage).where(MailMessage.recipient == "newhost@example.com"))
        assert row.locale == "zh_Hans_CN" and row.subject == "EventHub 账号邀请" and "身份为“评审专家”" in row.body
