"""Campaign: one per year; holds the deadlines and limits later steps obey."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class CampaignStatus(StrEnum):
    """年度工作的阶段."""

    DRAFT = "draft"  # 筹备中：not visible to hosts
    PLANNING = "planning"  # 征集初步计划
    SELECTION = "selection"  # 评审遴选
    RUNNING = "running"  # 主题日举办中
    ASSESSMENT = "assessment"  # 评估
    CLOSED = "closed"  # 已结束


CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.DRAFT: "筹备中",
    CampaignStatus.PLANNING: "征集初步计划",
    CampaignStatus.SELECTION: "评审遴选",
    CampaignStatus.RUNNING: "活动举办",
    CampaignStatus.ASSESSMENT: "评估",
    CampaignStatus.CLOSED: "已结束",
}


class Campaign(db.Model):
    """年度“融通创新”主题日工作."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("zishu_min <= zishu_target AND zishu_target <= zishu_max", name="zishu_order"),
        CheckConstraint("target_hosts >= 1", name="target_hosts_positive"),
        CheckConstraint("detail_lead_months >= 0", name="lead_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    plan_deadline: Mapped[datetime] = mapped_column(UTCDateTime())  # 初步计划截止（默认 6 月 30 日 23:59:59 北京时间）
    target_hosts: Mapped[int] = mapped_column(Integer, default=5)
    detail_lead_months: Mapped[int] = mapped_column(Integer, default=1)  # 活动方案提前量
    zishu_target: Mapped[int] = mapped_column(Integer, default=800)
    zishu_min: Mapped[int] = mapped_column(Integer, default=300)
    zishu_max: Mapped[int] = mapped_column(Integer, default=1000)
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return CAMPAIGN_STATUS_LABELS[CampaignStatus(self.status)]

    def __repr__(self) -> str:
        return f"<Campaign {self.year}>"
