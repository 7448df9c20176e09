"""Home (a dashboard per role), health check, language switch, error pages, template helpers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from eventhub.core import audit, dashboard
from eventhub.core.i18n import join_list
from eventhub.core.permissions import ROLE_LABELS, Role, has_permission, public, require
from eventhub.core.timeutil import format_local
from eventhub.core.validators import mask_mobile
from eventhub.core.wordcount import count_zishu
from eventhub.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/")
def index() -> str:
    """The dashboard of the logged-in user's role."""
    role = Role(current_user.role)
    if role is Role.ORGANISER:
        return render_template("core/dashboard_organiser.html", data=dashboard.organiser_overview())
    return render_template("core/dashboard.html", data=dashboard.role_overview(current_user))


@bp.get("/audit")
@require("audit.view")
def audit_log() -> str:
    """Every recorded state change, newest first, filterable by action and object type."""
    page = audit.list_entries(
        action=request.args.get("action", "").strip(),
        object_type=request.args.get("object_type", "").strip(),
        page=request.args.get("page", 1, type=int),
        per_page=50,
    )
    return render_template("core/audit_log.html", page=page)


@bp.get("/healthz")
@public
def healthz() -> Any:
    """Liveness and database check for load balancers (JSON, no log-in)."""
    try:
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok", database="ok")
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        current_app.logger.warning("health check failed: %s", exc)
        return jsonify(status="error", database="unreachable"), 503


@bp.post("/lang")
@public
def set_language() -> Any:
    """Remember the chosen UI language in the session and go back where the user was.

    A logged-in user's choice is also kept on the account (``User.locale``), so the mail the
    outbox sends them later — from the scheduler, with no session to ask — is in that language.
    """
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated and current_user.locale != lang:
            current_user.locale = lang
            db.session.commit()
    target = request.form.get("next") or url_for("core.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("core.index")
    return redirect(target)


def register_error_handlers(app: Flask) -> None:
    """Friendly Chinese pages for 400/403/404/405/413/429/500; JSON for API clients."""

    def render_error(error: HTTPException) -> Any:
        code = error.code or 500
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(error=error.name, code=code, description=error.description), code
        return render_template("errors/error.html", code=code, error=error), code

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, render_error)

    @app.errorhandler(500)
    def internal_error(error: Exception) -> Any:
        db.session.rollback()
        return render_template("errors/error.html", code=500, error=None), 500


def label(text: str) -> str:
    """A field label followed by the colon of the page's language: “意见：” / “Comment: ”."""
    from flask_babel import get_locale

    locale = get_locale()
    return f"{text}：" if locale is None or locale.language == "zh" else f"{text}: "


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.filters["zishu"] = count_zishu
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["listjoin"] = join_list

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "has_permission": lambda permission: has_permission(current_user, permission),
            "has_endpoint": lambda endpoint: endpoint in current_app.view_functions,
            "Role": Role,
            "ROLE_LABELS": ROLE_LABELS,
            "LANGUAGES": current_app.config["LANGUAGES"],
            "current_lang": session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"]),
        }
