"""Participant registration (报名), waiting list and signed QR tickets (电子票)."""

from flask import Blueprint

bp = Blueprint("registration", __name__)
