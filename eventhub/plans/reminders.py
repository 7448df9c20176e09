"""Preliminary-plan deadline reminders (初步计划截止提醒), run by the scheduler every 15 minutes.

Each enterprise base without a submitted plan is reminded 14, 3 and 1 days before its deadline
(the campaign's, or the base's extension). Every reminder is keyed in the outbox
(``plan-reminder:{campaign}:{base}:{days}:{recipient hash}``), so a restart, a second
scheduler or a caught-up run never sends one twice. After downtime only the most urgent
threshold reached is sent: a host does not get "14 days left" when one day is left, neither now
nor later. Nothing is sent after the deadline.

The helpers here (:func:`due_threshold`, :func:`notify_base`) are shared with
:mod:`eventhub.events.reminders`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from eventhub.bases.models import BaseType, DemonstrationBase
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.mail import send_mail
from eventhub.core.timeutil import as_utc, format_local, utcnow
from eventhub.core.urls import external_url
from eventhub.extensions import db
from eventhub.plans.calls import effective_deadline
from eventhub.plans.models import PlanStatus, PreliminaryPlan
from eventhub.plans.services import call_key

THRESHOLDS = (14, 3, 1)  # days before the deadline


def due_threshold(deadline: datetime, now: datetime, thresholds: tuple[int, ...] = THRESHOLDS) -> int | None:
    """The most urgent threshold reached at ``now`` (14, 3 or 1), or None before the first and after the deadline."""
    left = as_utc(deadline) - as_utc(now)
    if left < timedelta(0):
        return None
    reached = [days for days in thresholds if left <= timedelta(days=days)]
    return min(reached) if reached else None


def time_left(deadline: datetime, now: datetime) -> dict[str, int]:
    """Whole days and hours left, for the mail text (rendered in the recipient's language)."""
    hours = max(0, int((as_utc(deadline) - as_utc(now)).total_seconds()) // 3600)
    return {"days_left": hours // 24, "hours_left": hours % 24}


def recipient_digest(email: str) -> str:
    """A short stable hash of the address for per-recipient keys (as selection notices use)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def notify_base(base_id: int, key: str, template: str, **context: Any) -> int:
    """Queue ``mail/<template>`` to each recipient of the base under ``{key}:{hash}``; commit; return how many were new.

    Recipients are the base's active host users and its contact e-mail
    (:func:`eventhub.selection.services.recipients`). A key already in the outbox is skipped by
    ``send_mail`` — also when another scheduler queues it at the same moment.
    """
    from eventhub.selection.services import recipients

    queued = 0
    for email in recipients(base_id):
        if send_mail(email, template, key=f"{key}:{recipient_digest(email)}", **context) is not None:
            queued += 1
    db.session.commit()
    return queued


def page_link(endpoint: str, fallback: str, **values: Any) -> str:
    """An absolute link to ``endpoint``, or to ``fallback`` when that page does not exist."""
    from flask import current_app

    if endpoint not in current_app.view_functions:
        return external_url(fallback)
    return external_url(endpoint, **values)


def send_plan_reminders(now: datetime | None = None) -> str:
    """Queue the due preliminary-plan reminders of every campaign in the planning phase; a summary."""
    now = as_utc(now or utcnow())
    campaigns = list(db.session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.PLANNING.value).order_by(Campaign.year)))
    bases = list(db.session.scalars(select(DemonstrationBase).where(DemonstrationBase.base_type == BaseType.ENTERPRISE.value).order_by(DemonstrationBase.id)))
    reminded = queued = 0
    for campaign in campaigns:
        submitted = set(
            db.session.scalars(
                select(PreliminaryPlan.base_id).where(PreliminaryPlan.campaign_id == campaign.id, PreliminaryPlan.status == PlanStatus.SUBMITTED.value)
            )
        )
        general = as_utc(campaign.plan_deadline)
        key = call_key(campaign)
        link = page_link("plans.my_plan", "core.index")
        for base in bases:
            if base.id in submitted:
                continue
            deadline = effective_deadline(key, base.id, general)
            days = due_threshold(deadline, now)
            if days is None:
                continue
            new = notify_base(
                base.id,
                f"plan-reminder:{campaign.id}:{base.id}:{days}",
                "plan_reminder",
                campaign_title=campaign.title,
                year=campaign.year,
                base_name=base.display_short_name,
                deadline=format_local(deadline),
                extended=deadline != general,
                threshold=days,
                link=link,
                **time_left(deadline, now),
            )
            if new:
                reminded += 1
                queued += new
    return f"{len(campaigns)} campaign(s) in planning, {reminded} base(s) reminded, {queued} mail(s) queued"
