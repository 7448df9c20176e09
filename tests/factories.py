"""Small helpers that create real rows for tests (no mocks)."""

from __future__ import annotations

import itertools

from flask import Flask
from flask.testing import FlaskClient

from eventhub.auth.models import User
from eventhub.auth.services import create_user
from eventhub.bases.models import BaseType, DemonstrationBase, Direction
from eventhub.core.permissions import Role
from eventhub.extensions import db

PASSWORD = "Test-pass-2026"
_seq = itertools.count(1)


def make_base(name: str | None = None, base_type: BaseType = BaseType.ENTERPRISE, **kw: object) -> DemonstrationBase:
    n = next(_seq)
    base = DemonstrationBase(
        name=name or f"测试示范基地{n}",
        short_name=kw.pop("short_name", f"测试{n}"),
        batch=kw.pop("batch", 3),
        direction=kw.pop("direction", Direction.INTEGRATED.value),
        base_type=base_type.value,
        province=kw.pop("province", "北京市"),
        **kw,
    )
    db.session.add(base)
    db.session.flush()
    return base


def make_user(role: Role = Role.ORGANISER, base: DemonstrationBase | None = None, email: str | None = None, password: str = PASSWORD) -> User:
    n = next(_seq)
    if role is Role.HOST and base is None:
        base = make_base()
    return create_user(email=email or f"user{n}@example.com", name=f"用户{n}", role=role, base=base, password=password)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def user_and_login(app: Flask, client: FlaskClient, role: Role = Role.ORGANISER, base: DemonstrationBase | None = None) -> int:
    """Create a user of ``role``, log the client in, return the user id."""
    with app.app_context():
        user = make_user(role, base=base)
        db.session.commit()
        email, uid = user.email, user.id
    login(client, email)
    return uid
