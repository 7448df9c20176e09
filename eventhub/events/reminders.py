"""Detailed-plan reminders (活动方案提交提醒), run by the scheduler every 15 minutes.

A selected host whose detailed plan is not submitted (no plan yet, or never submitted) is
reminded 14, 3 and 1 days before ``Event.detail_plan_due``, then once when late. Keys
``detail-plan-reminder:{event}:{14|3|1|late}:{recipient hash}`` make every reminder go out
once whatever runs the job; after downtime only the most urgent stage is sent. Once the theme
day has begun a late reminder is pointless and none is sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from eventhub.core.timeutil import as_utc, format_local, shanghai, utcnow
from eventhub.events.content import detail_plan_title
from eventhub.events.models import DetailPlan, Event, EventStatus
from eventhub.extensions import db
from eventhub.plans.reminders import due_threshold, notify_base, page_link, time_left


def event_start(event: Event) -> datetime:
    """00:00 Beijing time on the first day, as UTC."""
    return shanghai(event.start_date.year, event.start_date.month, event.start_date.day)


def reminder_stage(event: Event, now: datetime) -> str | None:
    """ "14", "3", "1" or "late" — the most urgent reminder due at ``now`` — or None."""
    due = as_utc(event.detail_plan_due)
    if as_utc(now) > due:
        return "late" if as_utc(now) < event_start(event) else None
    days = due_threshold(due, now)
    return str(days) if days is not None else None


def send_detail_plan_reminders(now: datetime | None = None) -> str:
    """Queue the due detailed-plan reminders of every scheduled event; a summary."""
    now = as_utc(now or utcnow())
    rows = db.session.execute(
        select(Event, DetailPlan.submitted_at)
        .outerjoin(DetailPlan, DetailPlan.event_id == Event.id)
        .where(Event.status == EventStatus.SCHEDULED.value)
        .order_by(Event.start_date, Event.id)
    ).all()
    pending = [event for event, submitted_at in rows if submitted_at is None]
    reminded = queued = 0
    for event in pending:
        stage = reminder_stage(event, now)
        if stage is None:
            continue
        due = as_utc(event.detail_plan_due)
        new = notify_base(
            event.host_base_id,
            f"detail-plan-reminder:{event.id}:{stage}",
            "detail_plan_reminder",
            event_title=event.title,
            plan_title=detail_plan_title(event),
            base_name=event.host_base.display_short_name,
            start_date=event.start_date.isoformat(),
            deadline=format_local(due),
            late=stage == "late",
            stage=stage,
            link=page_link("events.detail_plan", "events.calendar", event_id=event.id),
            **time_left(due, now),
        )
        if new:
            reminded += 1
            queued += new
    return f"{len(pending)} event(s) without a submitted plan, {reminded} reminded, {queued} mail(s) queued"
