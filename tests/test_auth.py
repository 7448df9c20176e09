"""Log-in, log-out, password rules, rate limiting, deactivation, and the ``flask users`` command."""

from __future__ import annotations

import pytest

from eventhub.auth.models import User
from eventhub.auth.services import AccountError, authenticate, password_problems, set_password
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.factories import PASSWORD, login, make_user, user_and_login

RATE_LIMIT_MESSAGE = "登录尝试过于频繁，请稍后再试"


def _new_user(app, role=Role.ORGANISER, **kw):  # noqa: ANN001
    with app.app_context():
        user = make_user(role, **kw)
        db.session.commit()
        return user.id, user.email


# ---- password rules (pure functions) ------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short1a", ["至少需要 10 个字符"]),
        ("onlyletterspassword", ["字母和数字"]),
        ("12345678901234", ["字母和数字"]),
        ("aaaa1111aaaa", ["过于简单"]),  # only two different characters
        ("1234567890", ["字母和数字", "过于简单"]),
        ("Qwerty", ["至少需要 10 个字符", "字母和数字"]),
    ],
)
def test_password_problems_refuses_weak_passwords(password, expected):
    problems = password_problems(password)
    assert len(problems) == len(expected)
    for fragment, problem in zip(expected, problems, strict=True):
        assert fragment in problem


@pytest.mark.parametrize("password", ["Test-pass-2026", "长城abc12345xyz", "correct horse 9 battery"])
def test_password_problems_accepts_good_passwords(password):
    assert password_problems(password) == []


def test_password_equal_to_email_is_refused():
    assert any("过于简单" in p for p in password_problems("Zhang.wei2026@example.com", "zhang.wei2026@example.com"))
    assert password_problems("Zhang.wei2026@example.com", "other@example.com") == []


def test_set_password_hashes_and_refuses_weak(app):
    with app.app_context():
        user = make_user()
        assert user.password_hash and PASSWORD not in user.password_hash
        with pytest.raises(AccountError, match="至少需要"):
            set_password(user, "abc1")
        assert authenticate(user.email, PASSWORD) is not None
        assert authenticate(user.email.upper(), PASSWORD) is not None  # e-mail is case-insensitive
        assert authenticate(user.email, PASSWORD + "x") is None


# ---- log-in / log-out ---------------------------------------------------------------


def test_login_success_records_time_and_audit(app, client):
    uid, email = _new_user(app)
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.get(User, uid)
        assert user.last_login_at is not None
        assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.login", AuditLog.object_id == str(uid))) is not None


def test_login_failure_shows_error_and_keeps_email(app, client):
    _, email = _new_user(app)
    response = client.post("/login", data={"email": email, "password": "wrong-password-1"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "邮箱或密码不正确" in page
    assert f'value="{email}"' in page
    assert client.get("/").status_code == 302  # still anonymous


def test_login_unknown_email_and_empty_fields(client):
    page = client.post("/login", data={"email": "nobody@example.com", "password": PASSWORD}).get_data(as_text=True)
    assert "邮箱或密码不正确" in page
    page = client.post("/login", data={"email": "", "password": ""}).get_data(as_text=True)
    assert "请填写邮箱" in page and "请填写密码" in page


def test_inactive_user_cannot_log_in(app, client):
    uid, email = _new_user(app, Role.HOST)
    with app.app_context():
        db.session.get(User, uid).active = False
        db.session.commit()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    assert "邮箱或密码不正确，或账号已停用" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_is_post_only(app, client):
    user_and_login(app, client)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200  # the GET did not log out
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302


def test_login_follows_safe_next(app, client):
    _, email = _new_user(app)
    response = client.get("/users")
    assert response.status_code == 302 and "next=" in response.headers["Location"]
    response = client.post("/login?next=/users", data={"email": email, "password": PASSWORD, "next": "/users?q=a"})
    assert response.headers["Location"] == "/users?q=a"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "http:/evil",
    ],
)
def test_login_refuses_open_redirect(app, client, target):
    _, email = _new_user(app)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logged_in_user_visiting_login_goes_home(app, client):
    user_and_login(app, client)
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


# ---- rate limit ---------------------------------------------------------------------


def test_login_rate_limit_answers_429_in_chinese(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    _, email = _new_user(app)
    client = app.test_client()
    for _ in range(10):
        response = client.post("/login", data={"email": email, "password": "wrong-password-1"})
        assert response.status_code == 200
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert RATE_LIMIT_MESSAGE in page
    assert "操作过于频繁" in page
    assert "Retry-After" in response.headers
    # even the right password is refused while limited, and the page itself still loads
    assert client.get("/").status_code == 302
    assert client.get("/login").status_code == 200


def test_rate_limit_off_by_default_in_tests(app, client):
    _, email = _new_user(app)
    for _ in range(12):
        assert client.post("/login", data={"email": email, "password": "wrong-password-1"}).status_code == 200


# ---- deactivation -------------------------------------------------------------------


def test_deactivated_user_is_logged_out_on_next_request(app):
    organiser, host = app.test_client(), app.test_client()
    user_and_login(app, organiser)
    host_id = user_and_login(app, host, Role.HOST)
    assert host.get("/").status_code == 200

    assert organiser.get(f"/users/{host_id}/deactivate").status_code == 200  # confirmation page
    response = organiser.post(f"/users/{host_id}/deactivate", data={"reason": "离职"})
    assert response.status_code == 302

    response = host.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "请先登录" in host.get(response.headers["Location"]).get_data(as_text=True)
    assert host.get("/bases/").status_code == 302

    with app.app_context():
        entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.deactivate"))
        assert entry.object_id == str(host_id) and entry.after == {"active": False, "reason": "离职"} and entry.before == {"active": True}


def test_reactivated_user_can_log_in_again(app, client):
    user_and_login(app, client)
    uid, email = _new_user(app, Role.REVIEWER)
    client.post(f"/users/{uid}/deactivate")
    other = app.test_client()
    assert other.post("/login", data={"email": email, "password": PASSWORD}).status_code == 200
    assert client.get(f"/users/{uid}/reactivate").status_code == 200
    client.post(f"/users/{uid}/reactivate")
    login(other, email)
    with app.app_context():
        assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.activate")) is not None


def test_organiser_cannot_deactivate_self(app, client):
    uid = user_and_login(app, client)
    page = client.get(f"/users/{uid}").get_data(as_text=True)
    assert "不能停用自己的账号" in page
    assert f"/users/{uid}/deactivate" not in page
    response = client.post(f"/users/{uid}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, uid).active is True
    assert client.get("/").status_code == 200


def test_set_active_service_refuses_self():
    from eventhub.auth.services import set_active

    me = User(id=7, email="me@example.com", name="我", role="organiser", active=True)
    with pytest.raises(AccountError, match="不能停用自己的账号"):
        set_active(me, False, me)


# ---- permissions --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.HOST, Role.REVIEWER, Role.CHECKIN, Role.ASSESSOR, Role.PARTICIPANT])
def test_non_organisers_cannot_manage_users(app, client, role):
    target, _ = _new_user(app, Role.REVIEWER)
    user_and_login(app, client, role)
    assert client.get("/users").status_code == 403
    assert client.get("/users/invite").status_code == 403
    assert client.post("/users/invite", data={"email": "x@example.com", "name": "x", "role": "organiser"}).status_code == 403
    assert client.get(f"/users/{target}").status_code == 403
    assert client.post(f"/users/{target}/deactivate").status_code == 403
    assert client.post(f"/users/{target}/reset-password").status_code == 403
    with app.app_context():
        assert db.session.get(User, target).active is True
        assert db.session.scalar(db.select(User).where(User.email == "x@example.com")) is None


def test_host_sees_403_page_in_chinese(app, client):
    user_and_login(app, client, Role.HOST)
    response = client.get("/users")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


# ---- flask users create-organiser ---------------------------------------------------


def test_cli_creates_organiser_who_can_log_in(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-organiser", "--email", "Director@Example.com", "--name", "王主任", "--password", "Strong-pass-2026"])
    assert result.exit_code == 0, result.output
    assert "已创建组织方账号 director@example.com" in result.output
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "director@example.com"))
        assert user.role == Role.ORGANISER.value and user.active and user.has_password
        assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.create")).actor_label == "system"
    client = app.test_client()
    login(client, "director@example.com", "Strong-pass-2026")
    assert client.get("/users").status_code == 200


def test_cli_prompts_for_missing_values(app):
    result = app.test_cli_runner().invoke(args=["users", "create-organiser"], input="first@example.com\n第一位\nStrong-pass-2026\nStrong-pass-2026\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "first@example.com")).name == "第一位"


def test_cli_refuses_weak_password(app):
    result = app.test_cli_runner().invoke(args=["users", "create-organiser", "--email", "weak@example.com", "--name", "弱", "--password", "abc123"])
    assert result.exit_code != 0
    assert "密码至少需要 10 个字符" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "weak@example.com")) is None


def test_cli_refuses_duplicate_and_invalid_email(app):
    _, email = _new_user(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-organiser", "--email", email.upper(), "--name", "重复", "--password", "Strong-pass-2026"])
    assert result.exit_code != 0
    assert "已被其他账号使用" in result.output
    result = runner.invoke(args=["users", "create-organiser", "--email", "not-an-email", "--name", "坏", "--password", "Strong-pass-2026"])
    assert result.exit_code != 0
    assert "电子邮箱格式不正确" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
