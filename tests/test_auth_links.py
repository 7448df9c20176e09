"""Invitation and password-reset links, end to end, with a real SMTP server for the e-mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage, deliver_pending
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import PASSWORD, login, make_base, make_user, user_and_login
from tests.smtp_helpers import SmtpRecorder, free_port, parse, running


@pytest.fixture
def smtp_server() -> Iterator[SmtpRecorder]:
    """A real SMTP server (aiosmtpd) recording what it accepts."""
    with running() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port where nothing listens: a mail server that is down."""
    return free_port()


NEW_PASSWORD = "Neues-Passwort-88"


def _path(url: str) -> str:
    return urlsplit(url).path


def _issued_url(page: str) -> str:
    match = re.search(r'id="issued-url"[^>]*value="([^"]+)"', page)
    assert match, "no issued link on the page"
    return match.group(1)


def _invite(client, **data) -> tuple[str, str]:  # noqa: ANN001
    """Post the invitation form, follow to the user page; return (page, link URL)."""
    response = client.post("/users/invite", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert re.fullmatch(r"/users/\d+", response.headers["Location"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return page, _issued_url(page)


def _organiser_with_base(app, client):  # noqa: ANN001
    user_and_login(app, client)
    with app.app_context():
        base = make_base("中国华润双创示范基地", short_name="华润")
        db.session.commit()
        return base.id


# ---- invitation ----------------------------------------------------------------------


def test_invitation_end_to_end(app, client):
    base_id = _organiser_with_base(app, client)
    page, url = _invite(client, email="Host.User@Example.com", name="李承办", role="host", base_id=str(base_id))
    assert "未配置邮件服务器" in page
    assert "/invite/" in url and url.startswith("http")

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "host.user@example.com"))
        assert user.role == "host" and user.base_id == base_id and not user.has_password and user.active
        assert user.invited_by_id is not None
        actions = set(db.session.scalars(db.select(AuditLog.action).where(AuditLog.object_id == str(user.id))))
        assert {"user.create", "user.invite_link"} <= actions

    # the link is shown once: a reload of the user page does not show it again
    assert 'id="issued-url"' not in client.get(f"/users/{user.id}").get_data(as_text=True)

    invitee = app.test_client()
    form = invitee.get(_path(url))
    assert form.status_code == 200
    text = form.get_data(as_text=True)
    assert "李承办" in text and "承办基地" in text
    assert "至少 10 个字符" in text and "同时包含字母和数字" in text  # rules shown
    assert form.headers["Referrer-Policy"] == "no-referrer"

    # rules and mismatch are refused with the errors next to the fields
    text = invitee.post(_path(url), data={"password": "short1", "confirm": "short1"}).get_data(as_text=True)
    assert "密码至少需要 10 个字符" in text
    text = invitee.post(_path(url), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}).get_data(as_text=True)
    assert "两次输入的密码不一致" in text

    response = invitee.post(_path(url), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert invitee.get("/").status_code == 200  # logged in straight away

    # used: the same link no longer works, and says so
    again = app.test_client().get(_path(url))
    assert again.status_code == 400
    assert "该链接已使用过" in again.get_data(as_text=True)
    response = app.test_client().post(_path(url), data={"password": "Another-pass-99", "confirm": "Another-pass-99"})
    assert response.status_code == 400

    fresh = app.test_client()
    login(fresh, "host.user@example.com", NEW_PASSWORD)
    with app.app_context():
        assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.password_set")).after == {"via": "invite"}


def test_invite_form_requires_base_for_host_and_keeps_input(app, client):
    _organiser_with_base(app, client)
    response = client.post("/users/invite", data={"email": "h@example.com", "name": "张三", "role": "host", "base_id": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "承办基地用户必须选择所属示范基地" in page
    assert 'value="h@example.com"' in page and 'value="张三"' in page
    assert re.search(r'<option selected value="host">|<option value="host" selected>', page)
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "h@example.com")) is None


def test_invite_form_validation_messages(app, client):
    _organiser_with_base(app, client)
    with app.app_context():
        taken = make_user(Role.REVIEWER).email
        db.session.commit()
    page = client.post("/users/invite", data={"email": "", "name": "", "role": ""}).get_data(as_text=True)
    assert "请填写邮箱" in page and "请填写姓名" in page and "请选择角色" in page
    page = client.post("/users/invite", data={"email": "not-an-email", "name": "甲", "role": "reviewer"}).get_data(as_text=True)
    assert "电子邮箱格式不正确" in page
    page = client.post("/users/invite", data={"email": taken.upper(), "name": "甲", "role": "reviewer"}).get_data(as_text=True)
    assert "该邮箱已被其他账号使用" in page
    page = client.post("/users/invite", data={"email": "a@example.com", "name": "甲", "role": "superuser"}).get_data(as_text=True)
    assert "请选择有效的角色" in page
    page = client.post("/users/invite", data={"email": "a@example.com", "name": "甲", "role": "host", "base_id": "99999"}).get_data(as_text=True)
    assert "所选示范基地不存在" in page
    page = client.post("/users/invite", data={"email": "a@example.com", "name": "甲", "role": "checkin", "mobile": "12345"}).get_data(as_text=True)
    assert "手机号码格式不正确" in page


def test_invite_page_lists_roles_and_bases_with_type(app, client):
    _organiser_with_base(app, client)
    with app.app_context():
        from eventhub.bases.models import BaseType

        make_base("清华大学双创示范基地", base_type=BaseType.UNIVERSITY)
        db.session.commit()
    page = client.get("/users/invite").get_data(as_text=True)
    for label in ["组织方", "评审专家", "承办基地", "签到人员", "第三方评估", "参与者"]:
        assert label in page
    assert "中国华润双创示范基地（企业示范基地）" in page
    assert "清华大学双创示范基地（高校示范基地）" in page  # a host may belong to any base


def test_non_host_roles_get_no_base(app, client):
    base_id = _organiser_with_base(app, client)
    _invite(client, email="judge@example.com", name="评委", role="reviewer", base_id=str(base_id))
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "judge@example.com"))
        assert user.role == "reviewer" and user.base_id is None


def test_expired_invitation_is_refused(app, client):
    _organiser_with_base(app, client)
    _, url = _invite(client, email="late@example.com", name="迟到", role="assessor")
    assert app.test_client().get(_path(url)).status_code == 200
    app.config["INVITATION_MAX_AGE"] = -1  # every token is now older than the allowed age
    response = app.test_client().get(_path(url))
    assert response.status_code == 400
    assert "链接已过期，请使用“忘记密码”重新获取，或联系组织方重新发送" in response.get_data(as_text=True)
    response = app.test_client().post(_path(url), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    with app.app_context():
        assert not db.session.scalar(db.select(User).where(User.email == "late@example.com")).has_password


def test_tampered_and_wrong_purpose_tokens_are_refused(app, client):
    _organiser_with_base(app, client)
    _, url = _invite(client, email="t@example.com", name="篡改", role="checkin")
    token = _path(url).rsplit("/", 1)[1]
    payload, _, signature = token.rpartition(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    for path in [f"/invite/{tampered}", "/invite/not-a-token", f"/reset/{token}"]:  # an invitation is no reset link
        response = app.test_client().get(path)
        assert response.status_code == 400, path
        assert "链接无效，请检查是否完整复制" in response.get_data(as_text=True)


def test_invitation_of_deactivated_user_is_refused(app, client):
    _organiser_with_base(app, client)
    page, url = _invite(client, email="gone@example.com", name="停用", role="reviewer")
    uid = int(re.search(r"/users/(\d+)/deactivate", page).group(1))
    client.post(f"/users/{uid}/deactivate")
    response = app.test_client().get(_path(url))
    assert response.status_code == 400 and "该账号不存在或已停用" in response.get_data(as_text=True)


def test_resend_invitation_only_without_password(app, client):
    _organiser_with_base(app, client)
    page, first = _invite(client, email="again@example.com", name="重发", role="reviewer")
    uid = int(re.search(r"/users/(\d+)/resend-invitation", page).group(1))
    response = client.post(f"/users/{uid}/resend-invitation")
    assert response.status_code == 302
    second = _issued_url(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "/invite/" in second
    app.test_client().post(_path(second), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    # once a password is set every earlier invitation link is dead, and no resend is offered
    assert "该链接已使用过" in app.test_client().get(_path(first)).get_data(as_text=True)
    page = client.get(f"/users/{uid}").get_data(as_text=True)
    assert "resend-invitation" not in page and "reset-password" in page
    page = client.post(f"/users/{uid}/resend-invitation", follow_redirects=True).get_data(as_text=True)
    assert "该用户已设置密码，无需重新邀请" in page


# ---- password reset ------------------------------------------------------------------


def test_password_reset_flow(app, client):
    user_and_login(app, client)
    with app.app_context():
        target = make_user(Role.HOST)
        db.session.commit()
        uid, email_address = target.id, target.email

    response = client.post(f"/users/{uid}/reset-password")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "重置密码链接" in page and "未配置邮件服务器" in page
    url = _issued_url(page)
    assert "/reset/" in url

    # until the new password is set, the old one still works
    login(app.test_client(), email_address)
    user_client = app.test_client()
    assert "请设置新的登录密码" in user_client.get(_path(url)).get_data(as_text=True)
    text = user_client.post(_path(url), data={"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"}).get_data(as_text=True)
    assert "密码需同时包含字母和数字" in text and "密码过于简单" in text
    response = user_client.post(_path(url), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302

    assert app.test_client().post("/login", data={"email": email_address, "password": PASSWORD}).status_code == 200  # old refused
    login(app.test_client(), email_address, NEW_PASSWORD)
    assert "该链接已使用过" in app.test_client().get(_path(url)).get_data(as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(db.select(AuditLog.action).where(AuditLog.object_id == str(uid)).order_by(AuditLog.id)))
        assert "user.reset_link" in actions and "user.password_set" in actions


def test_reset_link_expires_by_its_own_setting(app, client):
    user_and_login(app, client)
    with app.app_context():
        uid = make_user(Role.REVIEWER).id
        db.session.commit()
    response = client.post(f"/users/{uid}/reset-password")
    url = _issued_url(client.get(response.headers["Location"]).get_data(as_text=True))
    app.config["INVITATION_MAX_AGE"] = -1  # not the setting of reset links
    assert app.test_client().get(_path(url)).status_code == 200
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    assert "链接已过期" in app.test_client().get(_path(url)).get_data(as_text=True)


def test_reset_not_offered_for_user_without_password(app, client):
    _organiser_with_base(app, client)
    page, _ = _invite(client, email="nopw@example.com", name="未设", role="reviewer")
    uid = int(re.search(r"/users/(\d+)/resend-invitation", page).group(1))
    page = client.post(f"/users/{uid}/reset-password", follow_redirects=True).get_data(as_text=True)
    assert "该用户尚未设置密码" in page


def test_link_posts_are_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, ACCOUNT_LINK_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.post("/reset/garbage", data={"password": "x", "confirm": "x"}).status_code == 400
    response = client.post("/reset/garbage", data={"password": "x", "confirm": "x"})
    assert response.status_code == 429
    assert "提交过于频繁，请稍后再试" in response.get_data(as_text=True)
    assert client.get("/reset/garbage").status_code == 400  # reading the page is not limited
    for _ in range(3):
        assert client.post("/invite/garbage", data={}).status_code == 400
    assert client.post("/invite/garbage", data={}).status_code == 429


# ---- e-mail: queued in the outbox, sent by the delivery worker over a real SMTP server ---------


def test_invitation_is_queued_then_mailed_and_the_mailed_link_works(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    client = app.test_client()
    _organiser_with_base(app, client)
    page, shown_url = _invite(client, email="mailed@example.com", name="王邮件", role="checkin")
    assert "邮件已加入发件箱，将由投递任务发送到 mailed@example.com" in page
    assert smtp_server.envelopes == []  # the request only queues

    with app.app_context():
        row = db.session.scalar(db.select(MailMessage).where(MailMessage.recipient == "mailed@example.com"))
        assert (row.status, row.template) == ("pending", "invitation") and row.key.startswith("account-invite:")
        assert f"/outbox/{row.id}" in page  # the organiser can follow the delivery
        assert deliver_pending() == "sent 1, retry 0, failed 0, logged 0"

    envelope = smtp_server.wait_for(1)[0]
    assert envelope.rcpt_tos == ["mailed@example.com"]
    message = parse(envelope)
    assert message["Subject"] == "EventHub 账号邀请"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "王邮件" in body and "签到人员" in body
    mailed_url = re.search(r"https?://\S+/invite/\S+", body).group(0)
    assert mailed_url == shown_url
    assert f'href="{shown_url}"' in message.get_body(preferencelist=("html",)).get_content()

    with app.app_context():
        row = db.session.scalar(db.select(MailMessage).where(MailMessage.recipient == "mailed@example.com"))
        assert row.status == "sent" and row.sent_at is not None and row.last_error is None

    invitee = app.test_client()
    response = invitee.post(_path(mailed_url), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    login(app.test_client(), "mailed@example.com", NEW_PASSWORD)


def test_reset_link_is_mailed(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    client = app.test_client()
    user_and_login(app, client)
    with app.app_context():
        target = make_user(Role.ASSESSOR)
        db.session.commit()
        uid, address = target.id, target.email
    client.post(f"/users/{uid}/reset-password")
    with app.app_context():
        assert deliver_pending() == "sent 1, retry 0, failed 0, logged 0"
    envelope = smtp_server.wait_for(1)[0]
    message = parse(envelope)
    assert message["Subject"] == "EventHub 重置密码" and envelope.rcpt_tos == [address]
    url = re.search(r"https?://\S+/reset/\S+", message.get_body(preferencelist=("plain",)).get_content()).group(0)
    assert app.test_client().post(_path(url), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    login(app.test_client(), address, NEW_PASSWORD)


def test_reset_mail_follows_the_users_language(app, client):
    user_and_login(app, client)
    with app.app_context():
        target = make_user(Role.REVIEWER)
        target.locale = "en"
        db.session.commit()
        uid, name = target.id, target.name
    client.post(f"/users/{uid}/reset-password")
    with app.app_context():
        row = db.session.scalar(db.select(MailMessage).where(MailMessage.template == "password_reset"))
        assert row.locale == "en" and row.subject == "EventHub password reset"
        assert row.body.startswith(f"Dear {name},") and "valid for 1 day(s)" in row.body


def test_mail_server_down_still_shows_the_link_and_keeps_the_mail(make_app, closed_port):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_TIMEOUT=2)  # nothing listens there
    client = app.test_client()
    _organiser_with_base(app, client)
    page, url = _invite(client, email="down@example.com", name="断网", role="reviewer")
    assert "邮件已加入发件箱" in page
    assert app.test_client().get(_path(url)).status_code == 200
    with app.app_context():
        assert deliver_pending() == "sent 0, retry 1, failed 0, logged 0"
        row = db.session.scalar(db.select(MailMessage).where(MailMessage.recipient == "down@example.com"))
        assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at is not None and "ConnectionRefusedError" in row.last_error
        entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.invite_link"))
        assert entry.after["queued"] is True and entry.after["mail_key"] == row.key


def test_without_mail_server_the_message_is_only_logged(app, client):
    _organiser_with_base(app, client)
    page, _url = _invite(client, email="nomail@example.com", name="无邮件", role="reviewer")
    assert "未配置邮件服务器" in page
    with app.app_context():
        assert deliver_pending() == "sent 0, retry 0, failed 0, logged 1"
        assert db.session.scalar(db.select(MailMessage.status).where(MailMessage.recipient == "nomail@example.com")) == "logged"


def test_public_base_url_is_used_in_links(make_app):
    app = make_app(PUBLIC_BASE_URL="https://eventhub.example.cn/")
    client = app.test_client()
    _organiser_with_base(app, client)
    _, url = _invite(client, email="pub@example.com", name="公网", role="reviewer")
    assert url.startswith("https://eventhub.example.cn/invite/")
