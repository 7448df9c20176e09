"""Competitions (创新大赛): tracks, rounds, entries, advancement, awards and recommendations."""

from flask import Blueprint

bp = Blueprint("competitions", __name__)

from eventhub.competitions import views  # noqa: E402,F401  (registers the routes)
