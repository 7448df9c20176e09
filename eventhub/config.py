"""Configuration: defaults here, then ``instance/config.py``, then ``EVENTHUB_*`` variables.

The order matters: a deployment keeps its settings out of the repository (instance folder or
environment), and the environment wins so a container or CI can override a file.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask


class Defaults:
    """Settings that make a fresh clone run with zero set-up (SQLite in ``instance/``)."""

    ENV = "development"
    SECRET_KEY: str | None = None  # generated into instance/secret_key when missing
    SQLALCHEMY_DATABASE_URI: str | None = None  # instance/eventhub.sqlite when missing
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    ALLOW_SQLITE_IN_PRODUCTION = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = 8 * 3600  # a long form (an 800-字 plan) must not expire while typed
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}
    BOOTSTRAP_SERVE_LOCAL = True  # no CDN: Bootstrap-Flask serves its bundled copy
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"
    RESET_REQUEST_ADDRESS_LIMIT = "3 per hour; 10 per day"  # links one address can be sent, whoever asks
    INVITATION_MAX_AGE = 7 * 24 * 3600
    PASSWORD_RESET_MAX_AGE = 24 * 3600
    PAGE_SIZE = 20
    IMPORT_MAX_ROWS = 20000
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "EventHub <noreply@eventhub.local>"
    MAIL_TIMEOUT = 10
    MAIL_USE_SSL = False  # implicit TLS (port 465); MAIL_USE_TLS is STARTTLS
    MAIL_LOCAL_HOSTNAME: str | None = None  # the name given in EHLO (default: this machine's)
    MAIL_MAX_ATTEMPTS = 6  # then the message is marked failed
    MAIL_RETRY_MINUTES: list[int] | None = None  # back-off between attempts; default 1, 5, 15, 60, 240
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # per uploaded file
    PROXY_FIX_X_FOR = 0  # number of trusted proxies in front of the app (rate limits key on the client IP)
    PUBLIC_BASE_URL: str | None = None  # e.g. "https://eventhub.example.cn": links in mail and QR codes
    # Scheduler (eventhub/core/scheduler.py). `flask scheduler` runs the jobs; RUN_SCHEDULER starts them
    # inside the serving process instead (`make run` sets EVENTHUB_RUN_SCHEDULER=true).
    RUN_SCHEDULER = False
    SCHEDULER_WAKEUP_SECONDS = 10  # how soon jobs added by other processes are noticed
    SCHEDULER_MISFIRE_GRACE_SECONDS = 24 * 3600  # a periodic run missed by less than this is caught up once
    SCHEDULER_INTERVALS: dict[str, dict[str, int]] = {}  # per-job override, e.g. {"plan-reminders": {"minutes": 5}}
    JOB_RUNS_KEEP_DAYS = 90  # older job_runs rows are deleted daily


class ConfigError(RuntimeError):
    """Raised when a production deployment is unsafe; the app must not start."""


SQLITE_BUSY_TIMEOUT = 30  # seconds; pysqlite's default is 5

_DEFAULT_SECRETS = {"", "dev", "change-me", "changeme", "secret"}


def _coerce(value: str) -> Any:
    """Read an environment string as JSON when it is JSON (true, 25, {...}), else keep it."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and test overrides."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key, value in os.environ.items():
        if key.startswith("EVENTHUB_") and key != "EVENTHUB_DATABASE_URL":
            app.config[key.removeprefix("EVENTHUB_")] = _coerce(value)
    if os.environ.get("EVENTHUB_DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["EVENTHUB_DATABASE_URL"]
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'eventhub.sqlite'}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    if uri.startswith("sqlite"):  # a busy database makes a writer wait (up to 30 s), never fail at once
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, **(options.get("connect_args") or {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    if str(app.config.get("ENV")) == "production":
        _check_production(app)
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)


def _instance_secret(instance: Path) -> str:
    """Generate the secret key once and keep it in ``instance/`` so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def _check_production(app: Flask) -> None:
    """Refuse to start a production app with a weak secret, SQLite or insecure cookies."""
    secret = app.config.get("SECRET_KEY") or ""
    if secret in _DEFAULT_SECRETS or len(secret) < 32:
        raise ConfigError("EVENTHUB_SECRET_KEY must be set to a random value of at least 32 characters in production.")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not app.config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise ConfigError("SQLite is not allowed in production; set EVENTHUB_DATABASE_URL or EVENTHUB_ALLOW_SQLITE_IN_PRODUCTION=true.")
    if not (app.config.get("SESSION_COOKIE_SECURE") and app.config.get("REMEMBER_COOKIE_SECURE")):
        raise ConfigError("Secure cookies are required in production: set EVENTHUB_SESSION_COOKIE_SECURE=true and EVENTHUB_REMEMBER_COOKIE_SECURE=true.")
