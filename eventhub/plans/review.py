"""Plan review: the preliminary plans as items of a judging round (the engine's first client).

The engine knows nothing about plans: this module tells it which plans are up for review
(the submitted ones), where to read each one, and which bases are in conflict with it
(the host base and every participating base).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, url_for
from sqlalchemy import select

from eventhub.campaigns.models import Campaign
from eventhub.core import audit
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.defaults import PLAN_REVIEW_CRITERIA
from eventhub.judging.models import JudgingRound
from eventhub.judging.services import ItemSpec
from eventhub.plans.calls import _
from eventhub.plans.models import PlanStatus, PreliminaryPlan

REF_TYPE = "plan"


def review_key(campaign: Campaign) -> str:
    return f"plan-review:{campaign.id}"


def plan_url(plan: PreliminaryPlan) -> str:
    if has_request_context():
        return url_for("plans.view_plan", plan_id=plan.id)
    return f"/plans/{plan.id}"


def item_title(plan: PreliminaryPlan) -> str:
    name = plan.base.display_short_name if plan.base else str(plan.base_id)
    return f"{name}：{plan.theme}" if plan.theme else name


def submitted_plans(campaign: Campaign) -> list[PreliminaryPlan]:
    query = (
        select(PreliminaryPlan)
        .where(PreliminaryPlan.campaign_id == campaign.id, PreliminaryPlan.status == PlanStatus.SUBMITTED.value)
        .order_by(PreliminaryPlan.id)
    )
    return list(db.session.scalars(query))


def item_specs(campaign: Campaign) -> list[ItemSpec]:
    return [
        ItemSpec(
            ref_type=REF_TYPE,
            ref_id=plan.id,
            title=item_title(plan),
            url=plan_url(plan),
            conflict_base_ids=[plan.base_id, *[p.base_id for p in plan.participants if p.base_id != plan.base_id]],
        )
        for plan in submitted_plans(campaign)
    ]


def open_review(campaign: Campaign, actor: Any) -> JudgingRound:
    """Create (or refresh) the campaign's plan-review round and sync the submitted plans into it.

    Plans withdrawn since the last sync become inactive items in the round (the engine keeps
    their assignments and scores). Returns the round.
    """
    rnd = judging.get_or_create_round(
        review_key(campaign),
        _("%(year)d 年初步计划评审", year=campaign.year),
        PLAN_REVIEW_CRITERIA,
        (1, 10),
        3,
    )
    specs = item_specs(campaign)
    judging.sync_items(rnd, specs)
    db.session.flush()
    audit.record("plan.review_sync", rnd, after={"campaign_id": campaign.id, "plans": [s.ref_id for s in specs]}, actor=actor)
    return rnd


def review_round(campaign: Campaign) -> JudgingRound | None:
    """The campaign's plan-review round, or None before it is opened."""
    return judging.round_by_key(review_key(campaign))
