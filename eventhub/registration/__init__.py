"""Participant registration (报名), waiting list and signed QR tickets (电子票)."""

from flask import Blueprint

bp = Blueprint("registration", __name__)

from eventhub.registration import manage_views, views  # noqa: E402,F401  (registers the routes)
