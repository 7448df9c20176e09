"""Campaign rules: one per year, defaults from the notice, the timeline shown on dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core import audit
from eventhub.core.timeutil import end_of_day, utcnow
from eventhub.extensions import db

FIELDS = ["year", "title", "description", "plan_deadline", "target_hosts", "detail_lead_months", "zishu_target", "zishu_min", "zishu_max", "status"]


class CampaignError(ValueError):
    """A campaign rule was broken; ``field`` names the form field to show it next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def default_deadline(year: int) -> datetime:
    """30 June 23:59:59 Asia/Shanghai of ``year`` (as UTC), the notice's deadline."""
    return end_of_day(date(year, 6, 30))


def _validate(values: dict[str, Any], campaign: Campaign | None) -> None:
    year = values["year"]
    if not 2000 <= year <= 2100:
        raise CampaignError("年份应在 2000–2100 之间", "year")
    existing = db.session.scalar(select(Campaign).where(Campaign.year == year))
    if existing is not None and existing is not campaign:
        raise CampaignError(f"{year} 年已有年度工作，每年只能有一个", "year")
    if not values["zishu_min"] <= values["zishu_target"] <= values["zishu_max"]:
        raise CampaignError("字数应满足：下限 ≤ 目标 ≤ 上限", "zishu_target")
    if values["zishu_min"] < 0:
        raise CampaignError("字数下限不能为负数", "zishu_min")
    if values["target_hosts"] < 1:
        raise CampaignError("拟确定承办基地数至少为 1", "target_hosts")
    if values["detail_lead_months"] < 0 or values["detail_lead_months"] > 12:
        raise CampaignError("活动方案提前量应在 0–12 个月之间", "detail_lead_months")
    if values["status"] not in {s.value for s in CampaignStatus}:
        raise CampaignError("状态无效", "status")


def create_campaign(values: dict[str, Any], actor: Any = None) -> Campaign:
    """Create the year's campaign (caller commits)."""
    values = {
        **{
            "target_hosts": 5,
            "detail_lead_months": 1,
            "zishu_target": 800,
            "zishu_min": 300,
            "zishu_max": 1000,
            "status": CampaignStatus.DRAFT.value,
            "description": None,
        },
        **values,
    }
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


def current_campaign() -> Campaign | None:
    """The campaign of the current year, else the latest one."""
    this_year = utcnow().year
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == this_year))
    return campaign or db.session.scalar(select(Campaign).order_by(Campaign.year.desc()))


def list_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))


@dataclass
class Milestone:
    label: str
    at: datetime | None
    note: str
    done: bool


def timeline(campaign: Campaign, now: datetime | None = None) -> list[Milestone]:
    """The year's steps (DESIGN.md §1) with the dates this campaign sets."""
    now = now or utcnow()
    return [
        Milestone("提交活动初步计划", campaign.plan_deadline, f"约 {campaign.zishu_target} 字，由企业类示范基地提交", now > campaign.plan_deadline),
        Milestone(
            "专家评审、统筹确定承办基地", None, f"拟确定约 {campaign.target_hosts} 家，分散安排活动时间", campaign.status in {"running", "assessment", "closed"}
        ),
        Milestone("提交活动方案", None, f"活动开始前 {campaign.detail_lead_months} 个月", campaign.status in {"assessment", "closed"}),
        Milestone("报名、项目征集与宣传", None, "中小企业报名，征集路演项目", campaign.status in {"assessment", "closed"}),
        Milestone("举办主题日", None, "至少涵盖五类主题内容中的四类", campaign.status in {"assessment", "closed"}),
        Milestone("第三方评估", None, "合作项目数量、合作机制稳定程度、中小企业满意度", campaign.status == "closed"),
    ]
