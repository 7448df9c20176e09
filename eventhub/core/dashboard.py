"""What each role sees on its home page."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.bases.models import BaseType, DemonstrationBase
from eventhub.campaigns import services as campaigns
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow

ROLE_TASKS = {
    Role.REVIEWER: [_l("查看分配给您的评审任务（初步计划评审开放后显示）"), _l("申报与示范基地的关联，以回避利益冲突")],
    Role.HOST: [_l("撰写本基地的活动初步计划（约 800 字）"), _l("入选后提交活动方案、管理报名与路演")],
    Role.CHECKIN: [_l("在分配给您的活动现场扫码签到")],
    Role.ASSESSOR: [_l("查看各承办基地的活动成果并完成评估")],
    Role.PARTICIPANT: [_l("报名参加主题日、领取电子票"), _l("提交路演项目、填写满意度问卷、确认合作项目")],
}


def organiser_overview() -> dict[str, Any]:
    """Counts and the current campaign's timeline."""
    from eventhub.extensions import db

    by_role = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    campaign = campaigns.current_campaign()
    from eventhub.core.mail import MailMessage, MailStatus
    from eventhub.events.models import DetailPlan, DetailPlanStatus

    return {
        "plans_to_review": db.session.scalar(select(func.count()).where(DetailPlan.status == DetailPlanStatus.SUBMITTED.value)) or 0,
        "mail_failed": db.session.scalar(select(func.count()).where(MailMessage.status == MailStatus.FAILED.value)) or 0,
        "bases": db.session.scalar(select(func.count()).select_from(DemonstrationBase)) or 0,
        "enterprise_bases": db.session.scalar(select(func.count()).where(DemonstrationBase.base_type == BaseType.ENTERPRISE.value)) or 0,
        "users_by_role": [(Role(r), by_role.get(r.value, 0)) for r in Role],
        "campaign": campaign,
        "timeline": campaigns.timeline(campaign) if campaign else [],
    }


def role_overview(user: User) -> dict[str, Any]:
    """A welcome and the things this role can do (draft campaigns stay hidden)."""
    campaign = campaigns.current_campaign(include_drafts=False)
    if Role(user.role) is Role.HOST:
        campaign = campaigns.collecting_campaign() or campaign
    events = []
    if Role(user.role) is Role.HOST and user.base_id is not None:
        from eventhub.events import detail_plans
        from eventhub.events.models import EventStatus

        events = [
            (e, detail_plans.get_detail_plan(e), detail_plans.due_info(e))
            for e in detail_plans.host_events(user.base_id)
            if e.status == EventStatus.SCHEDULED.value and e.end_date >= to_shanghai(utcnow()).date()
        ]
    return {"tasks": ROLE_TASKS.get(Role(user.role), []), "campaign": campaign, "base": user.base, "events": events}
