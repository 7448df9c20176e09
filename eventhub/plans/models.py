"""Preliminary plan models. One plan per base per campaign; every submission is a version."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.bases.models import DemonstrationBase
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class ContentType(StrEnum):
    """The five content types of a theme day (主题内容); a plan covers at least four."""

    RESOURCES = "resources"  # 创新资源开放共享
    JOINT_RD = "joint_rd"  # 创新项目协作攻关
    COMMERCIALISATION = "commercialisation"  # 创新成果联合转化
    ROADSHOW = "roadshow"  # 创新团队对接路演
    MATCHMAKING = "matchmaking"  # 创新主体深度对接


CONTENT_TYPE_LABELS = {
    ContentType.RESOURCES: "创新资源开放共享",
    ContentType.JOINT_RD: "创新项目协作攻关",
    ContentType.COMMERCIALISATION: "创新成果联合转化",
    ContentType.ROADSHOW: "创新团队对接路演",
    ContentType.MATCHMAKING: "创新主体深度对接",
}


class PlanStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已提交
    WITHDRAWN = "withdrawn"  # 已撤回


class EventFormat(StrEnum):
    ONSITE = "onsite"  # 线下
    ONLINE = "online"  # 线上
    HYBRID = "hybrid"  # 线上线下结合


class PreliminaryPlan(db.Model):
    """活动初步计划. The current working copy; submitted versions are in ``PlanVersion``."""

    __tablename__ = "preliminary_plans"
    __table_args__ = (UniqueConstraint("campaign_id", "base_id", name="campaign_base"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=PlanStatus.DRAFT.value, index=True)
    theme: Mapped[str] = mapped_column(String(200), default="")  # 主题
    field: Mapped[str] = mapped_column(String(200), default="")  # 专业领域
    content_types: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ContentType value -> one sentence
    event_format: Mapped[str] = mapped_column(String(20), default=EventFormat.ONSITE.value)
    prevention_measures: Mapped[str] = mapped_column(Text, default="")  # 防控与应急措施
    body: Mapped[str] = mapped_column(Text, default="")  # 计划正文, about 800 字
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # latest submission
    late: Mapped[bool] = mapped_column(default=False)  # latest submission came after the general deadline (extension)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    base: Mapped[DemonstrationBase] = relationship()
    participants: Mapped[list[PlanParticipant]] = relationship(back_populates="plan", cascade="all, delete-orphan", order_by="PlanParticipant.id")
    windows: Mapped[list[PlanWindow]] = relationship(back_populates="plan", cascade="all, delete-orphan", order_by="PlanWindow.earliest_start")
    versions: Mapped[list[PlanVersion]] = relationship(back_populates="plan", cascade="all, delete-orphan", order_by="PlanVersion.number")


class PlanParticipant(db.Model):
    """A participating base and why it fits the industrial or supply chain (参与基地)."""

    __tablename__ = "plan_participants"
    __table_args__ = (UniqueConstraint("plan_id", "base_id", name="plan_base"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("preliminary_plans.id", ondelete="CASCADE"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")

    plan: Mapped[PreliminaryPlan] = relationship(back_populates="participants")
    base: Mapped[DemonstrationBase] = relationship()


class PlanWindow(db.Model):
    """A proposed time window: start between two dates (Beijing calendar), lasting N days."""

    __tablename__ = "plan_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("preliminary_plans.id", ondelete="CASCADE"), index=True)
    earliest_start: Mapped[date] = mapped_column(Date)
    latest_start: Mapped[date] = mapped_column(Date)
    duration_days: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[PreliminaryPlan] = relationship(back_populates="windows")


class PlanVersion(db.Model):
    """A submitted version, frozen as JSON (for history and diffs)."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="plan_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("preliminary_plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    late: Mapped[bool] = mapped_column(default=False)

    plan: Mapped[PreliminaryPlan] = relationship(back_populates="versions")


class DeadlineExtension(db.Model):
    """An organiser's extension of a call's deadline for one base (reusable by later calls)."""

    __tablename__ = "deadline_extensions"
    __table_args__ = (UniqueConstraint("call_key", "base_id", name="call_base"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_key: Mapped[str] = mapped_column(String(100), index=True)  # e.g. "preliminary-plan:3"
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="CASCADE"), index=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
