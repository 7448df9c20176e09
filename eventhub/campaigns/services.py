"""Campaign rules: one per year, defaults from the notice, the timeline shown on dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import select

from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core import audit
from eventhub.core.timeutil import end_of_day, remaining, to_shanghai, utcnow
from eventhub.extensions import db


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, scheduler) the Chinese source text.

    The locale selector reads the session, which only exists in a request.
    """
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


DEFAULTS: dict[str, Any] = {
    "target_hosts": 5,
    "detail_lead_months": 1,
    "zishu_target": 800,
    "zishu_min": 300,
    "zishu_max": 1000,
    "status": CampaignStatus.DRAFT.value,
    "description": None,
}

FIELDS = ["year", "title", "description", "plan_deadline", "target_hosts", "detail_lead_months", "zishu_target", "zishu_min", "zishu_max", "status"]


class CampaignError(ValueError):
    """A campaign rule was broken; ``field`` names the form field to show it next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def default_deadline(year: int) -> datetime:
    """30 June 23:59:59 Asia/Shanghai of ``year`` (as UTC), the notice's deadline."""
    return end_of_day(date(year, 6, 30))


def next_campaign_year(now: datetime | None = None) -> int:
    """The year whose preliminary-plan deadline is next to come (Beijing calendar).

    On or before 30 June (Asia/Shanghai) it is this year's; from 1 July it is next year's.
    """
    today = to_shanghai(now or utcnow()).date()
    return today.year if today <= date(today.year, 6, 30) else today.year + 1


def year_taken(year: int) -> bool:
    return db.session.scalar(select(Campaign.id).where(Campaign.year == year)) is not None


def first_free_year(now: datetime | None = None) -> int:
    """The default year of a new campaign: the next one to come that has no campaign yet."""
    year = next_campaign_year(now)
    while year_taken(year) and year < 2100:
        year += 1
    return year


def default_title(year: int) -> str:
    return _("%(year)d 年“融通创新”主题日", year=year)


def duplicate_year_message(year: int) -> str:
    return _("%(year)d 年已有年度工作，每年只能有一个；请修改该年度的工作，或换一个年份", year=year)


def _validate(values: dict[str, Any], campaign: Campaign | None) -> None:
    year = values["year"]
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise CampaignError(_("年份应在 2000–2100 之间"), "year")
    if not (values.get("title") or "").strip():
        raise CampaignError(_("请填写标题"), "title")
    existing = db.session.scalar(select(Campaign).where(Campaign.year == year))
    if existing is not None and existing is not campaign:
        raise CampaignError(duplicate_year_message(year), "year")
    if values.get("plan_deadline") is None:
        raise CampaignError(_("请填写初步计划截止时间"), "plan_deadline")
    if values["zishu_min"] < 0:
        raise CampaignError(_("字数下限不能为负数"), "zishu_min")
    if values["zishu_min"] > values["zishu_max"]:
        raise CampaignError(_("字数下限不能大于字数上限"), "zishu_min")
    if not values["zishu_min"] <= values["zishu_target"] <= values["zishu_max"]:
        raise CampaignError(_("字数应满足：下限 ≤ 目标 ≤ 上限"), "zishu_target")
    if values["target_hosts"] < 1:
        raise CampaignError(_("拟确定承办基地数至少为 1"), "target_hosts")
    if values["detail_lead_months"] < 0 or values["detail_lead_months"] > 12:
        raise CampaignError(_("活动方案提前量应在 0–12 个月之间"), "detail_lead_months")
    if values["status"] not in {s.value for s in CampaignStatus}:
        raise CampaignError(_("状态无效"), "status")


def create_campaign(values: dict[str, Any], actor: Any = None) -> Campaign:
    """Create the year's campaign (caller commits)."""
    values = {**DEFAULTS, **values}
    if values.get("plan_deadline") is None:
        values["plan_deadline"] = default_deadline(values["year"])
    _validate(values, None)
    campaign = Campaign(**{k: values[k] for k in FIELDS})
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.create", campaign, after=audit.snapshot(campaign, FIELDS), actor=actor)
    return campaign


def update_campaign(campaign: Campaign, values: dict[str, Any], actor: Any = None) -> Campaign:
    """Change a campaign's settings (caller commits); the audit row keeps before and after."""
    merged = {**audit.snapshot(campaign, FIELDS), **values}
    _validate(merged, campaign)
    before = audit.snapshot(campaign, FIELDS)
    for key in FIELDS:
        setattr(campaign, key, merged[key])
    audit.record("campaign.update", campaign, before=before, after=audit.snapshot(campaign, FIELDS), actor=actor)
    return campaign


def current_campaign(*, include_drafts: bool = True) -> Campaign | None:
    """The campaign of the current year (on the Beijing calendar), else the latest one.

    Pass ``include_drafts=False`` for anyone who does not manage campaigns (drafts are hidden).
    """
    query = select(Campaign)
    if not include_drafts:
        query = query.where(Campaign.status != CampaignStatus.DRAFT.value)
    this_year = to_shanghai(utcnow()).year
    campaign = db.session.scalar(query.where(Campaign.year == this_year))
    return campaign or db.session.scalar(query.order_by(Campaign.year.desc()))


def collecting_campaign() -> Campaign | None:
    """The newest campaign collecting preliminary plans (status planning), if any."""
    query = select(Campaign).where(Campaign.status == CampaignStatus.PLANNING.value).order_by(Campaign.year.desc())
    return db.session.scalar(query)


def list_campaigns(*, include_drafts: bool = True) -> list[Campaign]:
    """Every campaign, newest year first; drafts (筹备中) only for those who manage campaigns."""
    query = select(Campaign).order_by(Campaign.year.desc())
    if not include_drafts:
        query = query.where(Campaign.status != CampaignStatus.DRAFT.value)
    return list(db.session.scalars(query))


def get_campaign(campaign_id: int, *, include_drafts: bool = True) -> Campaign | None:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or (not include_drafts and campaign.status == CampaignStatus.DRAFT.value):
        return None
    return campaign


def history(campaign: Campaign, limit: int = 20) -> list[audit.AuditLog]:
    """The latest audit rows about ``campaign``."""
    return audit.history_of(campaign, limit)


def remaining_text(deadline: datetime, now: datetime | None = None) -> str:
    """“还剩 3 天 4 小时” / “还剩 2 小时 5 分钟” / “已截止”: time left, for people."""
    left = remaining(deadline, now)
    if left.total_seconds() < 0:
        return _("已截止")
    minutes = int(left.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("还剩 %(d)d 天 %(h)d 小时", d=days, h=hours)
    if hours:
        return _("还剩 %(h)d 小时 %(m)d 分钟", h=hours, m=mins)
    if mins:
        return _("还剩 %(m)d 分钟", m=mins)
    return _("不足 1 分钟")


@dataclass
class Milestone:
    label: str
    at: datetime | None
    note: str
    done: bool


def timeline(campaign: Campaign, now: datetime | None = None) -> list[Milestone]:
    """The year's steps (DESIGN.md §1) with the dates this campaign sets."""
    now = now or utcnow()
    after_selection = campaign.status in {"running", "assessment", "closed"}
    after_events = campaign.status in {"assessment", "closed"}
    return [
        Milestone(
            _("提交活动初步计划"),
            campaign.plan_deadline,
            _("约 %(n)d 字，由企业类示范基地提交", n=campaign.zishu_target),
            now > campaign.plan_deadline,
        ),
        Milestone(_("专家评审、统筹确定承办基地"), None, _("拟确定约 %(n)d 家，分散安排活动时间", n=campaign.target_hosts), after_selection),
        Milestone(_("提交活动方案"), None, _("活动开始前 %(n)d 个月", n=campaign.detail_lead_months), after_events),
        Milestone(_("报名、项目征集与宣传"), None, _("中小企业报名，征集路演项目"), after_events),
        Milestone(_("举办主题日"), None, _("至少涵盖五类主题内容中的四类"), after_events),
        Milestone(_("第三方评估"), None, _("合作项目数量、合作机制稳定程度、中小企业满意度"), campaign.status == "closed"),
    ]
