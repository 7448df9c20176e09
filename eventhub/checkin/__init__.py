"""Check-in at the door (现场签到): staff, check-in lists and gates, scans, the scanner page."""

from flask import Blueprint

bp = Blueprint("checkin", __name__)

from eventhub.checkin import manage_views, views  # noqa: E402,F401  (registers the routes)
