"""Views of campaigns."""

from __future__ import annotations

from flask import render_template

from eventhub.campaigns import bp, services
from eventhub.core.permissions import require


@bp.get("/")
@require("campaigns.view")
def list_campaigns() -> str:
    return render_template("campaigns/list.html", campaigns=services.list_campaigns())


@bp.get("/<int:campaign_id>")
@require("campaigns.view")
def view_campaign(campaign_id: int) -> str:
    return ""


@bp.get("/new")
@require("campaigns.manage")
def create_campaign() -> str:
    return ""
