"""Bearer-token authentication for the JSON API.

API views are marked :func:`~eventhub.core.permissions.public` so the log-in guard does not
redirect a scanner to the HTML log-in page; :func:`token_required` does the check instead and
answers ``401`` JSON (with ``WWW-Authenticate: Bearer``) for a missing, unknown or revoked
token.

The scanner page (a logged-in browser page) uses the same API without a bearer token: when
no ``Authorization`` header is sent, the logged-in session user is accepted, and a write
(anything but GET / HEAD) must carry the page's CSRF token in ``X-CSRFToken`` (the blueprint
is CSRF-exempt for bearer clients, so the check is done here). One API, two ways in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf

from eventhub.checkin.services import user_for_bearer
from eventhub.core.permissions import public
from eventhub.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def error(status: int, reason: str, message: str = "", **extra: Any) -> Any:
    """A JSON error with its machine-readable ``reason``."""
    body: dict[str, Any] = {"result": "error", "reason": reason, **extra}
    if message:
        body["message"] = message
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="eventhub"'
    return response


def _session_csrf_refusal() -> Any:
    """``None`` when a session-authenticated request may go on; else a 403 ``csrf_failed``."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except (CSRFError, ValueError) as exc:  # flask_wtf raises ValidationError (a ValueError) for a bad token
        return error(403, "csrf_failed", str(exc))
    return None


def token_required(view: F) -> F:
    """Public to the log-in guard, but only for a valid bearer token; the user is ``g.api_user``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization")
        if not header and current_user.is_authenticated:
            refusal = _session_csrf_refusal()
            if refusal is not None:
                return refusal
            g.api_user = current_user._get_current_object()
            return view(*args, **kwargs)
        user = user_for_bearer(header)
        if user is None:
            db.session.rollback()
            return error(401, "missing_token" if not header else "invalid_token")
        if db.session.dirty:  # last_used_at refreshed (at most once a minute): its own small commit
            db.session.commit()
        g.api_user = user
        return view(*args, **kwargs)

    return public(wrapped)  # type: ignore[return-value]
