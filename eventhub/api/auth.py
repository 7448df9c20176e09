"""Bearer-token authentication for the JSON API.

API views are marked :func:`~eventhub.core.permissions.public` so the log-in guard does not
redirect a scanner to the HTML log-in page; :func:`token_required` does the check instead and
answers ``401`` JSON (with ``WWW-Authenticate: Bearer``) for a missing, unknown or revoked
token. No session cookie is read or set: a request is authenticated by its header alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify, request

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


def token_required(view: F) -> F:
    """Public to the log-in guard, but only for a valid bearer token; the user is ``g.api_user``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization")
        user = user_for_bearer(header)
        if user is None:
            db.session.rollback()
            return error(401, "missing_token" if not header else "invalid_token")
        if db.session.dirty:  # last_used_at refreshed (at most once a minute): its own small commit
            db.session.commit()
        g.api_user = user
        return view(*args, **kwargs)

    return public(wrapped)  # type: ignore[return-value]
