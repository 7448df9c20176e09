"""Organiser pages: users, invitations, deactivation, password resets."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from eventhub.auth import bp
from eventhub.auth.models import User
from eventhub.core.permissions import require
from eventhub.extensions import db


@bp.get("/users")
@require("users.manage")
def list_users() -> str:
    page = db.paginate(select(User).order_by(User.id), per_page=20)
    return render_template("auth/users.html", page=page)
