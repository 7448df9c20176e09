"""CSRF, production configuration refusals, secret key generation, error pages."""

from __future__ import annotations

import re

import pytest

from eventhub import create_app
from eventhub.config import ConfigError
from tests.factories import PASSWORD, make_user


def test_post_without_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from eventhub.extensions import db

        user = make_user()
        db.session.commit()
        email = user.email
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert "请求有误" in response.get_data(as_text=True)
    # the same form with the token from the page logs in
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_logout_without_csrf_token_is_refused(make_app):
    """Log-out is a POST with a token, so another site cannot log a user out."""
    app = make_app(WTF_CSRF_ENABLED=True)
    assert app.test_client().post("/logout").status_code == 400
    assert app.test_client().get("/logout").status_code == 405


def _prod(tmp_path, monkeypatch, **env):  # noqa: ANN001
    for key in list(__import__("os").environ):
        if key.startswith("EVENTHUB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("EVENTHUB_ENV", "production")
    for key, value in env.items():
        monkeypatch.setenv(f"EVENTHUB_{key}", value)
    return create_app(instance_path=str(tmp_path / "instance"))


GOOD_SECRET = "k" * 20 + "0123456789abcdefghijkl"


def test_production_refuses_missing_secret(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        _prod(tmp_path, monkeypatch, DATABASE_URL="postgresql://x@127.0.0.1/x", SESSION_COOKIE_SECURE="true", REMEMBER_COOKIE_SECURE="true")


def test_production_refuses_default_secret(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        _prod(tmp_path, monkeypatch, SECRET_KEY="dev", DATABASE_URL="postgresql://x@127.0.0.1/x", SESSION_COOKIE_SECURE="true", REMEMBER_COOKIE_SECURE="true")


def test_production_refuses_sqlite_unless_allowed(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="SQLite"):
        _prod(tmp_path, monkeypatch, SECRET_KEY=GOOD_SECRET, SESSION_COOKIE_SECURE="true", REMEMBER_COOKIE_SECURE="true")
    app = _prod(tmp_path, monkeypatch, SECRET_KEY=GOOD_SECRET, SESSION_COOKIE_SECURE="true", REMEMBER_COOKIE_SECURE="true", ALLOW_SQLITE_IN_PRODUCTION="true")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_production_refuses_insecure_cookies(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="cookies"):
        _prod(tmp_path, monkeypatch, SECRET_KEY=GOOD_SECRET, DATABASE_URL="postgresql://x@127.0.0.1/x")


def test_production_accepts_a_safe_setup(tmp_path, monkeypatch):
    app = _prod(
        tmp_path, monkeypatch, SECRET_KEY=GOOD_SECRET, DATABASE_URL="postgresql://x@127.0.0.1/x", SESSION_COOKIE_SECURE="true", REMEMBER_COOKIE_SECURE="true"
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://x@127.0.0.1/x"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("EVENTHUB_"):
            monkeypatch.delenv(key)
    first = create_app(instance_path=str(tmp_path / "inst"))
    second = create_app(instance_path=str(tmp_path / "inst"))
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'eventhub.sqlite'}"


def test_instance_config_file_and_environment_override(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("EVENTHUB_"):
            monkeypatch.delenv(key)
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.py").write_text("PAGE_SIZE = 33\nMAIL_PORT = 2525\n")
    monkeypatch.setenv("EVENTHUB_MAIL_PORT", "2626")
    app = create_app(instance_path=str(inst))
    assert app.config["PAGE_SIZE"] == 33
    assert app.config["MAIL_PORT"] == 2626


def test_not_found_page_is_chinese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_language_switch_to_english_and_back(client):
    response = client.post("/lang", data={"lang": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    client.post("/lang", data={"lang": "zh_Hans_CN", "next": "/login"})
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)


def test_language_switch_refuses_open_redirect(client):
    response = client.post("/lang", data={"lang": "en", "next": "//evil.example/x"})
    assert response.headers["Location"] in {"/", "http://localhost/"}
