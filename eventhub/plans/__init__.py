"""Preliminary plans (活动初步计划): written by enterprise-type host bases, due 30 June."""

from flask import Blueprint

bp = Blueprint("plans", __name__, url_prefix="/plans")

from eventhub.plans import views  # noqa: E402,F401
