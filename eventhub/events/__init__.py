"""Theme-day events (主题日活动): created when the selection is published."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from eventhub.events import views  # noqa: E402,F401
