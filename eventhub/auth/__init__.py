"""Accounts, roles, log-in, invitations (auth)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from eventhub.auth import admin_views, cli, views  # noqa: E402,F401
