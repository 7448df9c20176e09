"""Check-in at the door (现场签到): staff, check-in lists and gates, scans, the scanner page."""

from flask import Blueprint

bp = Blueprint("checkin", __name__)
