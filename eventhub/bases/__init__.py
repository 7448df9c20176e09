"""The registry of 双创示范基地 (demonstration bases)."""

from flask import Blueprint

bp = Blueprint("bases", __name__, url_prefix="/bases")

from eventhub.bases import views  # noqa: E402,F401
