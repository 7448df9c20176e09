"""The organisers' outbox pages: list with search, status filter and counts, detail, resend, send now."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventhub.auth import services as auth_services
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage, queue_mail
from eventhub.core.permissions import Role
from eventhub.core.tokens import new_token
from eventhub.extensions import db
from tests.factories import PASSWORD, make_user, user_and_login
from tests.smtp_helpers import SmtpRecorder, parse, running

T0 = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//\r\nBEGIN:VEVENT\r\nUID:x@eventhub\r\nSUMMARY:\xe4\xb8\xbb\xe9\xa2\x98\xe6\x97\xa5\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def smtp_server() -> Iterator[SmtpRecorder]:
    with running() as server:
        yield server


def _add(key: str, recipient: str, subject: str, *, status: str = "pending", minutes: int = 0, **kw: object) -> int:
    message = queue_mail(
        recipient, subject, kw.pop("body", f"正文 {subject}"), key=key, html_body=kw.pop("html_body", None), attachments=kw.pop("attachments", ())
    )
    message.status = status
    message.created_at = T0 + timedelta(minutes=minutes)
    for name, value in kw.items():
        setattr(message, name, value)
    db.session.flush()
    return message.id


def _seed(app) -> dict[str, int]:  # noqa: ANN001
    with app.app_context():
        ids = {
            "alice": _add("invite:1:aaa", "alice@example.com", "EventHub 账号邀请", status="sent", minutes=0, attempts=1, sent_at=T0),
            "bob": _add(
                "selection:7:event:3:seq:0:bbb",
                "bob@example.com",
                "【2026 年融通创新主题日】华润融通创新主题日 已排期",
                status="failed",
                minutes=1,
                attempts=6,
                last_error="554 5.7.1 rejected",
            ),
            "carol": _add(
                "reminder:plan:5:14",
                "carol@example.com",
                "初步计划提交提醒",
                status="pending",
                minutes=2,
                attempts=2,
                next_attempt_at=T0 + timedelta(hours=1),
                last_error="451 try later",
            ),
            "dave": _add("survey:100%_done", "dave@example.com", "满意度调查", status="logged", minutes=3),
        }
        db.session.commit()
        return ids


def _table(page: str) -> str:
    match = re.search(r'<table[^>]*id="outbox-table".*?</table>', page, re.S)
    return match.group(0) if match else ""


# ---- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.HOST, Role.REVIEWER])
def test_only_organisers_see_the_outbox(app, client, role):
    ids = _seed(app)
    with app.app_context():
        attachment_message = _add("att:1", "x@example.com", "附件", attachments=[("a.ics", "text/calendar", ICS)])
        attachment_id = db.session.get(MailMessage, attachment_message).attachments[0].id
        db.session.commit()
    anonymous = app.test_client()
    response = anonymous.get("/outbox/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert anonymous.post("/outbox/deliver-now").status_code == 302

    user_and_login(app, client, role)
    assert client.get("/outbox/").status_code == 403
    assert client.get(f"/outbox/{ids['alice']}").status_code == 403
    assert client.get(f"/outbox/{attachment_message}/attachments/{attachment_id}").status_code == 403
    assert client.post(f"/outbox/{ids['bob']}/resend", data={"confirm": "y"}).status_code == 403
    assert client.post("/outbox/deliver-now").status_code == 403
    with app.app_context():
        assert db.session.get(MailMessage, ids["bob"]).status == "failed"


# ---- list ---------------------------------------------------------------------------------------


def test_list_is_newest_first_with_counts_and_beijing_times(app, client):
    _seed(app)
    user_and_login(app, client)
    page = client.get("/outbox/").get_data(as_text=True)
    table = _table(page)
    order = [table.index(address) for address in ["dave@", "carol@", "bob@", "alice@"]]
    assert order == sorted(order)
    assert "2026-09-01 09:00" in table and "2026-09-01 09:03" in table  # 01:00 UTC shown in Beijing time
    for status, n in [("pending", 1), ("sent", 1), ("failed", 1), ("logged", 1), ("sending", 0)]:
        assert re.search(rf'id="status-{status}"[^>]*>[^<]*<span class="badge text-bg-light">{n}</span>', page), status
    assert "当前未配置邮件服务器" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ALICE@example", {"alice"}),  # recipient, any case
        ("已排期", {"bob"}),  # subject
        ("reminder:plan:5", {"carol"}),  # key
        ("100%_", {"dave"}),  # wildcards are literal
        ("%", {"dave"}),
        ("nobody", set()),
    ],
)
def test_search_by_recipient_subject_or_key(app, client, query, expected):
    _seed(app)
    user_and_login(app, client)
    page = client.get("/outbox/", query_string={"q": query}).get_data(as_text=True)
    shown = {name for name in ["alice", "bob", "carol", "dave"] if f"{name}@example.com" in _table(page)}
    assert shown == expected
    if not expected:
        assert "没有符合条件的邮件" in page


def test_status_filter_and_counts_follow_the_search(app, client):
    _seed(app)
    user_and_login(app, client)
    page = client.get("/outbox/", query_string={"status": "failed"}).get_data(as_text=True)
    assert "bob@example.com" in _table(page) and "alice@example.com" not in _table(page)
    page = client.get("/outbox/", query_string={"q": "example.com", "status": "pending"}).get_data(as_text=True)
    assert "carol@example.com" in _table(page) and "bob@" not in _table(page)
    page = client.get("/outbox/", query_string={"q": "alice"}).get_data(as_text=True)
    assert re.search(r'id="status-sent"[^>]*>[^<]*<span class="badge text-bg-light">1</span>', page)
    assert re.search(r'id="status-failed"[^>]*>[^<]*<span class="badge text-bg-light">0</span>', page)
    page = client.get("/outbox/", query_string={"status": "bogus"}).get_data(as_text=True)  # unknown status: everything
    assert all(f"{n}@example.com" in _table(page) for n in ["alice", "bob", "carol", "dave"])


def test_pagination(make_app):
    app = make_app(PAGE_SIZE=3)
    client = app.test_client()
    _seed(app)
    user_and_login(app, client)
    first = client.get("/outbox/").get_data(as_text=True)
    assert "alice@example.com" not in _table(first) and "page=2" in first
    second = client.get("/outbox/", query_string={"page": 2}).get_data(as_text=True)
    assert "alice@example.com" in _table(second) and "dave@" not in _table(second)


# ---- detail and attachments ---------------------------------------------------------------------


def test_detail_shows_headers_bodies_safely_and_attachments(app, client):
    with app.app_context():
        message_id = _add(
            "detail:1",
            "host@example.com",
            "【2026 年融通创新主题日】华润融通创新主题日 已排期",
            status="pending",
            attempts=2,
            last_error="451 4.3.0 try again later",
            next_attempt_at=T0 + timedelta(minutes=15),
            body="您好！\n纯文本 <正文>",
            html_body='<p>您好</p><script>alert("x")</script>',
            attachments=[("华润.ics", "text/calendar; method=PUBLISH; charset=utf-8", ICS)],
        )
        attachment_id = db.session.get(MailMessage, message_id).attachments[0].id
        db.session.commit()
    user_and_login(app, client)
    page = client.get(f"/outbox/{message_id}").get_data(as_text=True)
    assert "host@example.com" in page and "detail:1" in page and "X-EventHub-Key" in page
    assert re.search(r"&lt;eventhub\.\d+\.[0-9a-f]{16}@eventhub\.local&gt;", page)  # Message-ID
    assert "纯文本 &lt;正文&gt;" in page
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in iframe and "&lt;script&gt;" in iframe and "<script>alert" not in page
    assert "451 4.3.0 try again later" in page and "2026-09-01 09:15:00" in page  # next attempt, Beijing time
    assert "华润.ics" in page

    response = client.get(f"/outbox/{message_id}/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == ICS
    assert response.mimetype == "text/calendar" and "attachment" in response.headers["Content-Disposition"]
    assert client.get(f"/outbox/{message_id + 1}/attachments/{attachment_id}").status_code == 404
    assert client.get("/outbox/999999").status_code == 404


# ---- resend -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bob", "dave", "carol"])  # failed, logged, pending
def test_resend_puts_an_unsent_message_back_in_the_queue(app, client, name):
    ids = _seed(app)
    user_and_login(app, client)
    response = client.post(f"/outbox/{ids[name]}/resend", data={})  # not confirmed: nothing happens
    assert response.status_code == 302
    with app.app_context():
        before = db.session.get(MailMessage, ids[name])
        status_before, attempts_before = before.status, before.attempts
        assert attempts_before == {"bob": 6, "dave": 0, "carol": 2}[name]

    response = client.post(f"/outbox/{ids[name]}/resend", data={"confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/outbox/{ids[name]}")
    assert "邮件已重新加入发送队列" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        row = db.session.get(MailMessage, ids[name])
        assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == ("pending", 0, None, None)
        assert db.session.scalar(select(func.count(MailMessage.id))) == 4  # no copy
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "mail.resend"))
        assert entry.object_id == str(ids[name]) and entry.before["status"] == status_before and entry.after["status"] == "pending"


def test_resend_of_a_sent_message_queues_a_numbered_copy(app, client):
    with app.app_context():
        original = _add("invite:9:zzz", "alice@example.com", "EventHub 账号邀请", status="sent", sent_at=T0, attachments=[("a.ics", "text/calendar", ICS)])
        db.session.commit()
    user_and_login(app, client)
    response = client.post(f"/outbox/{original}/resend", data={"confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        copy = db.session.scalar(select(MailMessage).where(MailMessage.key == "invite:9:zzz:resend:1"))
        assert copy is not None and response.headers["Location"].endswith(f"/outbox/{copy.id}")
        assert (copy.status, copy.recipient, copy.subject, copy.body) == ("pending", "alice@example.com", "EventHub 账号邀请", "正文 EventHub 账号邀请")
        assert [(a.filename, a.data) for a in copy.attachments] == [("a.ics", ICS)]
        assert db.session.get(MailMessage, original).status == "sent"  # the record of the first sending stays
        copy.status = "sent"
        db.session.commit()
        copy_id = copy.id
    assert "invite:9:zzz:resend:1" in client.get(f"/outbox/{original}").get_data(as_text=True)  # copies listed

    client.post(f"/outbox/{original}/resend", data={"confirm": "y"})
    client.post(f"/outbox/{copy_id}/resend", data={"confirm": "y"})  # a copy of a copy is numbered on the original key
    with app.app_context():
        keys = sorted(db.session.scalars(select(MailMessage.key)))
        assert keys == ["invite:9:zzz", "invite:9:zzz:resend:1", "invite:9:zzz:resend:2", "invite:9:zzz:resend:3"]
        assert len(list(db.session.scalars(select(AuditLog).where(AuditLog.action == "mail.resend")))) == 3


def test_a_message_being_sent_is_not_resent(app, client):
    with app.app_context():
        message_id = _add("busy:1", "x@example.com", "发送中", status="sending", claimed_at=T0)
        db.session.commit()
    user_and_login(app, client)
    page = client.post(f"/outbox/{message_id}/resend", data={"confirm": "y"}, follow_redirects=True).get_data(as_text=True)
    assert 'id="resend-form"' not in page
    with app.app_context():
        assert db.session.get(MailMessage, message_id).status == "sending"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "mail.resend")) is None


# ---- send now -----------------------------------------------------------------------------------


def test_deliver_now_runs_the_worker_and_reports(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    client = app.test_client()
    with app.app_context():
        for n in range(2):
            queue_mail(f"h{n}@example.com", f"通知 {n}", "正文", key=f"now:{n}")
        db.session.commit()
    user_and_login(app, client)
    response = client.post("/outbox/deliver-now", data={"next": "/outbox/?status=pending"})
    assert response.status_code == 302 and response.headers["Location"] == "/outbox/?status=pending"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "投递完成：发送成功 2 封，稍后重试 0 封，失败 0 封，仅记录 0 封。" in page
    assert sorted(parse(e)["Subject"] for e in smtp_server.wait_for(2)) == ["通知 0", "通知 1"]
    page = client.post("/outbox/deliver-now", follow_redirects=True).get_data(as_text=True)
    assert "没有到期待发送的邮件" in page
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "mail.deliver_now")).after["summary"].startswith("sent 2")


def test_deliver_now_without_a_server_logs(app, client):
    with app.app_context():
        queue_mail("h@example.com", "通知", "正文", key="log:now")
        db.session.commit()
    user_and_login(app, client)
    response = client.post("/outbox/deliver-now", data={"next": "//evil.example.com/"})
    assert response.headers["Location"] == "/outbox/"  # only local targets
    assert "仅记录 1 封" in client.get("/outbox/").get_data(as_text=True)


def test_forms_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        email = make_user(Role.ORGANISER).email
        message_id = _add("csrf:1", "x@example.com", "失败", status="failed")
        db.session.commit()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/outbox/deliver-now").status_code == 400
    assert client.post(f"/outbox/{message_id}/resend", data={"confirm": "y"}).status_code == 400
    page = client.get(f"/outbox/{message_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"/outbox/{message_id}/resend", data={"confirm": "y", "csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(MailMessage, message_id).status == "pending"
    index = client.get("/outbox/").get_data(as_text=True)
    token = re.search(r'id="deliver-now".*?name="csrf_token" type="hidden" value="([^"]+)"', index, re.S).group(1)
    assert client.post("/outbox/deliver-now", data={"csrf_token": token}).status_code == 302


def test_private_links_are_hidden_on_the_detail_page_and_resent_whole(app, client):
    """An organiser sees which link someone got, not a link to act as them; a resend mails it whole."""
    token = new_token()
    link = f"https://eventhub.example.cn/registrations/{token}"
    with app.app_context():
        sent = _add(
            "registration:1:confirmed",
            "guest@example.com",
            "报名成功",
            status="sent",
            sent_at=T0,
            body=f"您的专属页面：{link}\n活动页面：https://eventhub.example.cn/theme-days/1",
            html_body=f'<p><a href="{link}">查看报名</a> {link}</p>',
        )
        db.session.commit()
    user_and_login(app, client)
    with app.test_request_context():
        invitation = auth_services.invite_user(email="new@example.com", name="新用户", role=Role.ASSESSOR, base=None, actor=None)
        db.session.commit()
        invite_id, invite_url = invitation.message_id, invitation.url
    page = client.get(f"/outbox/{sent}").get_data(as_text=True)
    assert token not in page and token[:12] not in page
    assert f"/registrations/{token[:4]}…" in page and "https://eventhub.example.cn/theme-days/1" in page  # ordinary links intact
    assert "私密链接只显示开头几位" in page
    secret = invite_url.rsplit("/", 1)[1]
    invite_page = client.get(f"/outbox/{invite_id}").get_data(as_text=True)
    assert secret not in invite_page and f"/invite/{secret[:4]}…" in invite_page
    client.post(f"/outbox/{sent}/resend", data={"confirm": "y"})
    with app.app_context():
        copy = db.session.scalar(select(MailMessage).where(MailMessage.key == "registration:1:confirmed:resend:1"))
        assert link in copy.body and link in copy.html_body
