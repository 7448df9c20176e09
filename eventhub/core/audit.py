"""Audit log: one row for every state change (who, what, when, before/after, from where).

Services call :func:`record` inside the same transaction as the change, so the trace and the
change are committed (or rolled back) together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class AuditLog(db.Model):
    """审计日志."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))


def _jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        out[key] = value
    return out


def record(
    action: str,
    obj: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
) -> AuditLog:
    """Add an audit row to the current session (the caller commits with its change)."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    entry = AuditLog(
        action=action,
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "") or ""),
        before=_jsonable(before),
        after=_jsonable(after),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or (str(actor) if actor else "system"),
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as a dict, for before/after."""
    return {name: getattr(obj, name) for name in fields}


def list_entries(*, action: str = "", object_type: str = "", page: int = 1, per_page: int = 50) -> Any:
    """A page of audit rows, newest first (Flask-SQLAlchemy pagination)."""
    from sqlalchemy import select

    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action.startswith(action))
    if object_type:
        query = query.where(AuditLog.object_type == object_type)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def history_of(obj: Any, limit: int = 20) -> list[AuditLog]:
    """The latest audit rows about one object (shown on its page as its change history)."""
    from sqlalchemy import select

    query = (
        select(AuditLog)
        .where(AuditLog.object_type == type(obj).__name__, AuditLog.object_id == str(obj.id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
