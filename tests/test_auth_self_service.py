"""Self-service "forgot password" (real SMTP server, neutral answer, limits per IP and per address)
and the organiser's page that corrects an account (e-mail, name, role, base, mobile)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from eventhub.auth import services
from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage, deliver_pending
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import PASSWORD, login, make_base, make_user, user_and_login
from tests.smtp_helpers import SmtpRecorder, parse, running

NEW_PASSWORD = "Neues-Passwort-88"


@pytest.fixture
def smtp_server() -> Iterator[SmtpRecorder]:
    with running() as server:
        yield server


def _mails() -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).order_by(MailMessage.id)))


# ---- forgot password ---------------------------------------------------------------------


def test_login_page_links_to_forgot_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page
    form = client.get("/forgot-password").get_data(as_text=True)
    assert "1 天内有效" in form and 'name="email"' in form


def test_forgot_password_mails_a_working_reset_link(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        user_id = make_user(Role.HOST, email="host@example.com").id
        db.session.commit()
    client = app.test_client()
    response = client.post("/forgot-password", data={"email": " Host@Example.com "})
    assert response.status_code == 200
    assert "如果 host@example.com 是一个启用中的账号" in response.get_data(as_text=True)
    with app.app_context():
        assert deliver_pending() == "sent 1, retry 0, failed 0, logged 0"
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.reset_link"))
        assert entry.object_id == str(user_id) and entry.actor_id is None
    envelope = smtp_server.wait_for(1)[0]
    assert envelope.rcpt_tos == ["host@example.com"]
    body = parse(envelope).get_body(preferencelist=("plain",)).get_content()
    url = re.search(r"https?://\S+/reset/\S+", body).group(0)
    reset = app.test_client()
    assert reset.post(urlsplit(url).path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    login(app.test_client(), "host@example.com", NEW_PASSWORD)
    # the old password no longer works, and the used link is dead
    assert app.test_client().post("/login", data={"email": "host@example.com", "password": PASSWORD}).status_code == 200
    assert app.test_client().get(urlsplit(url).path).status_code == 400


def test_the_answer_is_the_same_for_unknown_deactivated_and_pending_accounts(app, client):
    with app.app_context():
        gone = make_user(Role.ASSESSOR, email="gone@example.com")
        services.set_active(gone, False, make_user(Role.ORGANISER))
        pending = services.create_user(email="pending@example.com", name="待设置", role=Role.ASSESSOR)  # invited, no password yet
        db.session.commit()
        pending_id = pending.id
    answers = {}
    for email in ("nobody@example.com", "gone@example.com", "pending@example.com"):
        response = client.post("/forgot-password", data={"email": email})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        # the page's <main>: the footer carries a CSRF token that changes from one second to the next
        answers[email] = page[page.index("<main") : page.index("</main>")].replace(email, "ADDRESS")
    assert len(set(answers.values())) == 1  # nothing tells the three apart
    with app.app_context():
        # only the invited account gets mail: a fresh invitation, since it has no password to reset
        assert [(m.recipient, m.template) for m in _mails()] == [("pending@example.com", "invitation")]
        assert db.session.scalar(select(AuditLog.object_id).where(AuditLog.action == "user.invite_link")) == str(pending_id)


def test_a_malformed_address_is_refused_and_kept(client):
    response = client.post("/forgot-password", data={"email": "not-an-address"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "邮箱" in page and 'value="not-an-address"' in page
    assert "is-invalid" in page


def test_forgot_password_is_limited_per_address_and_per_ip(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RESET_REQUEST_ADDRESS_LIMIT="2 per hour", ACCOUNT_LINK_RATE_LIMIT="5 per minute")
    with app.app_context():
        make_user(Role.ASSESSOR, email="target@example.com")
        db.session.commit()
    # one address: two links, then refused, whichever IP asks
    for n, ip in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.3"]):
        client = app.test_client()
        response = client.post("/forgot-password", data={"email": "Target@example.com"}, environ_base={"REMOTE_ADDR": ip})
        assert response.status_code == (200 if n < 2 else 429), n
    assert "该邮箱申请过于频繁" in response.get_data(as_text=True)
    with app.app_context():
        # two links issued (two audit rows); within one second they are the same link, mailed once
        assert db.session.scalar(select(db.func.count()).select_from(AuditLog).where(AuditLog.action == "user.reset_link")) == 2
        assert {m.recipient for m in _mails()} == {"target@example.com"}
    # one IP: five requests a minute, whatever the addresses
    client = app.test_client()
    codes = [client.post("/forgot-password", data={"email": f"other{n}@example.com"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code for n in range(6)]
    assert codes == [200] * 5 + [429]


def test_a_logged_in_user_is_sent_home(app, client):
    user_and_login(app, client)
    assert client.get("/forgot-password").headers["Location"] == "/"


# ---- an organiser corrects an account ------------------------------------------------------


def test_edit_user_changes_role_base_and_mobile_with_audit(app, client):
    organiser_id = user_and_login(app, client)
    with app.app_context():
        base = make_base("中国华润有限公司", short_name="华润")
        user = make_user(Role.ASSESSOR, email="person@example.com")
        db.session.commit()
        uid, base_id = user.id, base.id
    page = client.get(f"/users/{uid}/edit").get_data(as_text=True)
    assert 'value="person@example.com"' in page and re.search(r'<option selected value="assessor">|<option value="assessor" selected>', page)
    # a host needs a base: refused, everything typed kept
    response = client.post(f"/users/{uid}/edit", data={"email": "person@example.com", "name": "新名字", "role": "host", "base_id": "", "mobile": "13812345678"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "承办基地用户必须选择所属示范基地" in page
    assert 'value="新名字"' in page and 'value="13812345678"' in page
    with app.app_context():
        assert db.session.get(User, uid).role == "assessor"
    response = client.post(
        f"/users/{uid}/edit", data={"email": "person@example.com", "name": "新名字", "role": "host", "base_id": str(base_id), "mobile": "13812345678"}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/users/{uid}"
    detail = client.get(f"/users/{uid}").get_data(as_text=True)
    assert "已保存 新名字 的账号信息" in detail and "修改账号信息" in detail and "中国华润有限公司" in detail
    with app.app_context():
        user = db.session.get(User, uid)
        assert (user.name, user.role, user.base_id, user.mobile) == ("新名字", "host", base_id, "13812345678")
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.update"))
        assert entry.actor_id == organiser_id
        assert entry.before["name"].startswith("用户") and {k: v for k, v in entry.before.items() if k != "name"} == {
            "role": "assessor",
            "base_id": None,
            "mobile": None,
        }
        assert entry.after == {"name": "新名字", "role": "host", "base_id": base_id, "mobile": "13812345678"}
    # the new host now sees the host pages (permissions follow the role at once)
    with app.app_context():
        services.set_password(db.session.get(User, uid), NEW_PASSWORD)
        db.session.commit()
    host = app.test_client()
    login(host, "person@example.com", NEW_PASSWORD)
    assert host.get("/users").status_code == 403
    # saving unchanged data records nothing
    client.post(f"/users/{uid}/edit", data={"email": "person@example.com", "name": "新名字", "role": "host", "base_id": str(base_id), "mobile": "13812345678"})
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditLog).where(AuditLog.action == "user.update")) == 1


def test_edit_user_refuses_a_taken_address_own_role_change_and_the_last_organiser(app, client):
    me = user_and_login(app, client)
    with app.app_context():
        make_user(Role.ASSESSOR, email="taken@example.com")
        user = make_user(Role.ASSESSOR, email="user@example.com")
        db.session.commit()
        uid, my_email = user.id, db.session.get(User, me).email
    page = client.post(f"/users/{uid}/edit", data={"email": "Taken@example.com", "name": "甲", "role": "assessor"}).get_data(as_text=True)
    assert "该邮箱已被其他账号使用" in page and 'value="taken@example.com"' in page
    # my own role stays (another organiser must change it); my name may change
    page = client.post(f"/users/{me}/edit", data={"email": my_email, "name": "我", "role": "assessor"}).get_data(as_text=True)
    assert "不能修改自己的角色" in page
    assert client.post(f"/users/{me}/edit", data={"email": my_email, "name": "我", "role": "organiser"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, me).role == "organiser" and db.session.get(User, me).name == "我"
        # the last active organiser keeps the role, even when someone else would change it
        lone = db.session.get(User, me)
        with pytest.raises(services.AccountError, match="唯一启用中的组织方账号"):
            services.update_user(lone, email=lone.email, name=lone.name, role=Role.ASSESSOR, base=None, mobile=None, actor=db.session.get(User, uid))
        db.session.rollback()


def test_a_corrected_address_ends_the_link_mailed_to_the_old_one(app, client):
    user_and_login(app, client)
    with app.test_request_context():
        invited = services.invite_user(email="typo@exmaple.com", name="新用户", role=Role.ASSESSOR, base=None, actor=make_user(Role.ORGANISER))
        db.session.commit()
        uid, url = invited.user.id, invited.url
    assert client.post(f"/users/{uid}/edit", data={"email": "right@example.com", "name": "新用户", "role": "assessor"}).status_code == 302
    refused = app.test_client().get(urlsplit(url).path)
    assert refused.status_code == 400 and "链接已失效" in refused.get_data(as_text=True)


def test_edit_page_needs_users_manage(app, client):
    user_and_login(app, client, Role.ASSESSOR)
    with app.app_context():
        target = make_user(Role.ASSESSOR)
        db.session.commit()
        uid = target.id
    assert client.get(f"/users/{uid}/edit").status_code == 403
    assert client.post(f"/users/{uid}/edit", data={"email": "x@example.com", "name": "x", "role": "organiser"}).status_code == 403
    with app.app_context():
        assert db.session.get(User, uid).role == "assessor"
