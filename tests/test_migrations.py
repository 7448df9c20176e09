"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect

from eventhub import create_app
from eventhub.extensions import db
from tests.conftest import base_config


def _fresh_url(backend: str, tmp_path, request) -> str:  # noqa: ANN001
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"mig_{uuid.uuid4().hex[:8]}")


def test_models_and_migrations_agree(backend, tmp_path, request):
    url = _fresh_url(backend, tmp_path, request)
    app = create_app({**base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "bases", "campaigns", "audit_log", "mail_outbox", "alembic_version"} <= tables
        check()  # raises when autogenerate finds a difference between models and migrations
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
