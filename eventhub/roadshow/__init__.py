"""Road shows (创新团队对接路演): project solicitation, the automatic schedule, live scoring and leads."""

from flask import Blueprint

bp = Blueprint("roadshow", __name__)

from eventhub.roadshow import live_views, manage_views, public_views, schedule_views  # noqa: E402,F401  (registers the routes)
