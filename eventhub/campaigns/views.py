"""Views of campaigns: list, detail with the timeline, create and edit (organisers)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from eventhub.campaigns import bp, services
from eventhub.campaigns.forms import CampaignForm, campaign_data, initial_data
from eventhub.campaigns.models import Campaign
from eventhub.core.permissions import has_permission, require
from eventhub.core.timeutil import utcnow
from eventhub.extensions import db


def _can_manage() -> bool:
    return has_permission(current_user, "campaigns.manage")


def _get_or_404(campaign_id: int) -> Campaign:
    campaign = services.get_campaign(campaign_id, include_drafts=_can_manage())
    if campaign is None:
        abort(404)
    return campaign


def _show_error(form: CampaignForm, error: services.CampaignError) -> None:
    """Put a service error next to its field (or above the form when it names none)."""
    field = form[error.field] if error.field and error.field in form else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        flash(str(error), "error")


def _save(form: CampaignForm, campaign: Campaign | None) -> Campaign | None:
    """Create or update through the services; ``None`` (errors on the form) when refused."""
    values = form.values()
    try:
        if campaign is None:
            campaign = services.create_campaign(values, actor=current_user)
        else:
            services.update_campaign(campaign, values, actor=current_user)
        db.session.commit()
    except services.CampaignError as exc:
        db.session.rollback()
        _show_error(form, exc)
        return None
    except IntegrityError:
        # Another organiser saved the same year between our check and our commit.
        db.session.rollback()
        _show_error(form, services.CampaignError(services.duplicate_year_message(values["year"]), "year"))
        return None
    return campaign


@bp.get("/")
@require("campaigns.view")
def list_campaigns() -> str:
    campaigns = services.list_campaigns(include_drafts=_can_manage())
    return render_template("campaigns/list.html", campaigns=campaigns, now=utcnow(), remaining_text=services.remaining_text)


@bp.get("/<int:campaign_id>")
@require("campaigns.view")
def view_campaign(campaign_id: int) -> str:
    campaign = _get_or_404(campaign_id)
    now = utcnow()
    return render_template(
        "campaigns/detail.html",
        campaign=campaign,
        now=now,
        remaining=services.remaining_text(campaign.plan_deadline, now),
        timeline=services.timeline(campaign, now),
        history=services.history(campaign) if _can_manage() else [],
    )


@bp.route("/new", methods=["GET", "POST"])
@require("campaigns.manage")
def create_campaign() -> Any:
    form = CampaignForm(data=initial_data(services.first_free_year()))
    if form.validate_on_submit():
        campaign = _save(form, None)
        if campaign is not None:
            flash(_("已创建 %(year)d 年度工作", year=campaign.year), "success")
            return redirect(url_for("campaigns.view_campaign", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@require("campaigns.manage")
def edit_campaign(campaign_id: int) -> Any:
    campaign = _get_or_404(campaign_id)
    form = CampaignForm(data=campaign_data(campaign))
    if form.validate_on_submit():
        saved = _save(form, campaign)
        if saved is not None:
            flash(_("已保存 %(year)d 年度工作", year=saved.year), "success")
            return redirect(url_for("campaigns.view_campaign", campaign_id=saved.id))
    return render_template("campaigns/form.html", form=form, campaign=campaign)
