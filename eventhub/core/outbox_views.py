"""The organisers' view of the mail outbox (发件箱): search, status, resend."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
