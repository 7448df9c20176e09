"""Views of the base registry."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from eventhub.bases import bp
from eventhub.bases.models import DemonstrationBase
from eventhub.core.permissions import require
from eventhub.extensions import db


@bp.get("/")
@require("bases.view")
def list_bases() -> str:
    page = db.paginate(select(DemonstrationBase).order_by(DemonstrationBase.id), per_page=20)
    return render_template("bases/list.html", page=page)
