"""JSON API for scanners and integrations (``/api/v1``), authenticated by bearer tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from eventhub.extensions import limiter  # noqa: E402

limiter.exempt(bp)  # scanners are fast; every request needs a 256-bit token and check-ins are idempotent

from eventhub.api import views  # noqa: E402,F401  (registers the routes)
