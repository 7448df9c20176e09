"""The year's theme-day campaign (年度“融通创新”主题日工作)."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

from eventhub.campaigns import views  # noqa: E402,F401
