"""Test fixtures: every app-level test runs on SQLite and on a real PostgreSQL.

The ``app`` fixture is parametrised by database. PostgreSQL is started once per session (see
``pgserver.py``); its tables are created once and truncated after each test, so tests may
commit for real (concurrency tests need that).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.routing.rules import Rule
from werkzeug.serving import make_server

from eventhub import create_app
from eventhub.extensions import db
from tests.pgserver import PostgresServer

BACKENDS = ["sqlite", "postgresql"]
TRANSLATIONS = Path(__file__).resolve().parent.parent / "eventhub" / "translations"
CHROMIUM = "/usr/bin/chromium"


# ---- a faster app factory for the test session ----------------------------------------------------
# Every test builds its own app, and Werkzeug compiles a Python URL builder for each of the ~800
# rules of each app (0.15 s of the 0.19 s an app costs). The builder depends only on the rule's
# parsed parts (``_trace``) — converters are reached through the bound rule at call time — so the
# session reuses it across apps. Rules with defaults keep the normal path. Production builds one
# app and is untouched.
_BUILDERS: dict[tuple[object, ...], object] = {}
_compile_builder = Rule._compile_builder


def _cached_compile_builder(self: Rule, append_unknown: bool = True):  # noqa: ANN202
    if self.defaults:
        return _compile_builder(self, append_unknown)
    key = (tuple(self._trace), append_unknown)
    if key not in _BUILDERS:
        _BUILDERS[key] = _compile_builder(self, append_unknown)
    return _BUILDERS[key]


Rule._compile_builder = _cached_compile_builder  # type: ignore[method-assign]


def compile_catalogues(translations: Path = TRANSLATIONS) -> None:
    """Write each ``messages.mo`` next to its ``.po`` when missing or older (``pybabel compile``).

    Written to a temporary file and renamed, so parallel test processes never read half a file.
    """
    for po_path in translations.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as mo_file:
                write_mo(mo_file, catalog)
            os.chmod(tmp_name, 0o644)  # mkstemp makes it private; the app may run as another user
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    compile_catalogues()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PostgresServer) -> str:
    """The shared test database, with the schema created once."""
    url = pg_server.create_database("eventhub_test")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 40, "TESTING": True})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


def base_config(tmp_path: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
    }


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))  # APScheduler's job store is not in our metadata
    db.session.commit()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_app(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator:
    """A factory: ``make_app(**overrides)`` builds an app on this test's database."""
    created: list[Flask] = []
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'test.sqlite'}"

    def factory(**overrides: object) -> Flask:
        config = {**base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url, **overrides}
        app = create_app(config, instance_path=str(tmp_path / "instance"))
        if backend == "sqlite" and not created:
            with app.app_context():
                db.create_all()
        created.append(app)
        return app

    yield factory
    for app in created[:1]:
        with app.app_context():
            if backend == "postgresql":
                _truncate_all()
            db.session.remove()
            db.engine.dispose()
    for app in created[1:]:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app) -> Flask:  # noqa: ANN001
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# ---- browser ----------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """No smooth scrolling: Playwright otherwise waits about a second for it before each click."""
    return {**browser_context_args, "reduced_motion": "reduce"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a downloaded build (``playwright install`` is not used)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture
def live_server(make_app) -> Iterator[tuple[Flask, str]]:  # noqa: ANN001
    """The app served over real HTTP from a thread, with CSRF on (as in production)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("EVENTHUB_SCREENSHOTS", "test-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path
