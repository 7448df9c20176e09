"""The organisers' view of the scheduler: upcoming jobs and recent runs with their results."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
