"""Theme-day events (主题日活动): the detailed plan, public pages, technology needs and answers."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from eventhub.events import detail_views, public_views, views  # noqa: E402,F401
