"""Theme-day events (融通创新主题日), created when the organiser publishes the selection."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from eventhub.bases.models import DemonstrationBase
from eventhub.campaigns.models import Campaign
from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.core.uploads import StoredFile
from eventhub.extensions import db


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"  # 已排期
    WITHDRAWN = "withdrawn"  # 已撤销 (published as STATUS:CANCELLED)


EVENT_STATUS_LABELS = {
    EventStatus.SCHEDULED: N_("已排期"),
    EventStatus.WITHDRAWN: N_("已撤销"),
}


def new_uid() -> str:
    """A stable iCalendar UID: set once, never changed, so calendar clients update in place."""
    return f"{uuid.uuid4().hex}@eventhub"


class Event(db.Model):
    """One theme day of one host base. Dates are Beijing calendar dates; ``end_date`` is inclusive."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("campaign_id", "host_base_id", name="campaign_host"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True)
    host_base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("preliminary_plans.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))  # “{简称}融通创新主题日”
    start_date: Mapped[date] = mapped_column(Date, index=True)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.SCHEDULED.value, index=True)
    detail_plan_due: Mapped[datetime] = mapped_column(UTCDateTime())  # start 00:00 Beijing minus the lead time
    uid: Mapped[str] = mapped_column(String(100), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE: +1 on every change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    host_base: Mapped[DemonstrationBase] = relationship()

    @property
    def status_label(self) -> str:
        return EVENT_STATUS_LABELS.get(EventStatus(self.status), self.status)

    @property
    def duration_days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    def __repr__(self) -> str:
        return f"<Event {self.title} {self.start_date}>"


# ---- detailed plan (活动方案) ------------------------------------------------------------


class DetailPlanStatus(StrEnum):
    DRAFT = "draft"  # 草稿（未提交，或撤回后修改中）
    SUBMITTED = "submitted"  # 已提交，待审核
    CHANGES_REQUESTED = "changes_requested"  # 退回修改
    APPROVED = "approved"  # 已批准（公开页面显示批准版本）


DETAIL_PLAN_STATUS_LABELS = {
    DetailPlanStatus.DRAFT: N_("草稿"),
    DetailPlanStatus.SUBMITTED: N_("待审核"),
    DetailPlanStatus.CHANGES_REQUESTED: N_("退回修改"),
    DetailPlanStatus.APPROVED: N_("已批准"),
}


class SessionKind(StrEnum):
    OPENING = "opening"  # 开幕式
    FORUM = "forum"  # 论坛
    ROADSHOW = "roadshow"  # 路演
    MATCHMAKING = "matchmaking"  # 对接会
    EXHIBITION = "exhibition"  # 展览展示
    SIGNING = "signing"  # 签约仪式


SESSION_KIND_LABELS = {
    SessionKind.OPENING: N_("开幕式"),
    SessionKind.FORUM: N_("论坛"),
    SessionKind.ROADSHOW: N_("路演"),
    SessionKind.MATCHMAKING: N_("对接会"),
    SessionKind.EXHIBITION: N_("展览展示"),
    SessionKind.SIGNING: N_("签约仪式"),
}


class SessionAccess(StrEnum):
    OPEN = "open"  # 公开报名
    INVITATION = "invitation"  # 仅限受邀


SESSION_ACCESS_LABELS = {SessionAccess.OPEN: N_("公开"), SessionAccess.INVITATION: N_("仅限受邀")}


class ApprovalMode(StrEnum):
    AUTOMATIC = "automatic"  # 自动确认
    MODERATED = "moderated"  # 承办方审核


APPROVAL_MODE_LABELS = {ApprovalMode.AUTOMATIC: N_("自动确认"), ApprovalMode.MODERATED: N_("承办方审核")}


class ResourceKind(StrEnum):
    LAB = "lab"  # 实验室
    EQUIPMENT = "equipment"  # 仪器设备
    SCENARIO = "scenario"  # 应用场景
    SUPPLY_CHAIN = "supply_chain"  # 供应链
    OTHER = "other"  # 其他


RESOURCE_KIND_LABELS = {
    ResourceKind.LAB: N_("实验室"),
    ResourceKind.EQUIPMENT: N_("仪器设备"),
    ResourceKind.SCENARIO: N_("应用场景"),
    ResourceKind.SUPPLY_CHAIN: N_("供应链开放"),
    ResourceKind.OTHER: N_("其他"),
}


class DetailPlan(db.Model):
    """活动方案: the working copy of one event's detailed plan.

    Submitted versions are frozen in :class:`DetailPlanVersion`; the public page shows only the
    version whose number is ``approved_version_number``, so a host editing after approval never
    leaks a draft.
    """

    __tablename__ = "detail_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=DetailPlanStatus.DRAFT.value, index=True)
    goals: Mapped[str] = mapped_column(Text, default="")  # 活动目标
    venue: Mapped[str] = mapped_column(String(300), default="")  # 主会场（地址）
    emergency_plan: Mapped[str] = mapped_column(Text, default="")  # 防控与应急预案
    # Registration settings (used by the registration issue)
    registration_capacity: Mapped[int | None] = mapped_column(Integer)  # 报名人数上限
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approval_mode: Mapped[str] = mapped_column(String(20), default=ApprovalMode.AUTOMATIC.value)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # latest submission
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # latest submission after the due time
    approved_version_number: Mapped[int | None] = mapped_column(Integer)  # what the public sees
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str] = mapped_column(Text, default="")  # the organiser's latest comment
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship(backref=backref("detail_plan", uselist=False))
    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="(EventSession.day, EventSession.start_time, EventSession.id)"
    )
    bases: Mapped[list[DetailPlanBase]] = relationship(back_populates="plan", cascade="all, delete-orphan", order_by="DetailPlanBase.id")
    needs: Mapped[list[TechNeed]] = relationship(back_populates="plan", order_by="(TechNeed.position, TechNeed.id)")
    resources: Mapped[list[SharedResource]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="(SharedResource.position, SharedResource.id)"
    )
    attachments: Mapped[list[DetailPlanAttachment]] = relationship(back_populates="plan", cascade="all, delete-orphan", order_by="DetailPlanAttachment.id")
    versions: Mapped[list[DetailPlanVersion]] = relationship(back_populates="plan", cascade="all, delete-orphan", order_by="DetailPlanVersion.number")

    @property
    def status_label(self) -> str:
        return DETAIL_PLAN_STATUS_LABELS[DetailPlanStatus(self.status)]


class EventSession(db.Model):
    """议程中的一场活动 (a session of the agenda). Times are Beijing wall-clock times."""

    __tablename__ = "event_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("detail_plans.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # SessionKind
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    venue: Mapped[str] = mapped_column(String(200), default="")  # 会场 / 房间
    online_url: Mapped[str] = mapped_column(String(500), default="")  # 线上链接
    access: Mapped[str] = mapped_column(String(20), default=SessionAccess.OPEN.value)
    content_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # plans.models.ContentType values
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column(Integer)  # 本场人数上限 (registration issue)
    uid: Mapped[str] = mapped_column(String(100), unique=True, default=new_uid)  # iCalendar UID, never changes
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # raised when an approved version changes it

    plan: Mapped[DetailPlan] = relationship(back_populates="sessions")
    event: Mapped[Event] = relationship()

    @property
    def kind_label(self) -> str:
        return SESSION_KIND_LABELS[SessionKind(self.kind)]

    @property
    def access_label(self) -> str:
        return SESSION_ACCESS_LABELS[SessionAccess(self.access)]


class DetailPlanBase(db.Model):
    """A participating base and its role in the event (参与基地及分工)."""

    __tablename__ = "detail_plan_bases"
    __table_args__ = (UniqueConstraint("plan_id", "base_id", name="detail_plan_base"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("detail_plans.id", ondelete="CASCADE"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(300), default="")

    plan: Mapped[DetailPlan] = relationship(back_populates="bases")
    base: Mapped[DemonstrationBase] = relationship()


class TechNeed(db.Model):
    """技术需求（揭榜挂帅）: a need SMEs can answer. Kept as a record because answers point at it."""

    __tablename__ = "tech_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("detail_plans.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(100), default="")  # 技术领域
    description: Mapped[str] = mapped_column(Text, default="")
    expected_result: Mapped[str] = mapped_column(Text, default="")  # 预期成果
    budget_min: Mapped[int | None] = mapped_column(Integer)  # 万元
    budget_max: Mapped[int | None] = mapped_column(Integer)  # 万元
    response_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 揭榜截止
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    plan: Mapped[DetailPlan] = relationship(back_populates="needs")
    event: Mapped[Event] = relationship()
    responses: Mapped[list[TechNeedResponse]] = relationship(back_populates="need", order_by="TechNeedResponse.id")


class SharedResource(db.Model):
    """开放共享的创新资源: a lab, equipment, an application scenario or a supply-chain opening."""

    __tablename__ = "shared_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("detail_plans.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # ResourceKind
    description: Mapped[str] = mapped_column(Text, default="")
    access_terms: Mapped[str] = mapped_column(Text, default="")  # 开放方式 / 使用条件
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[DetailPlan] = relationship(back_populates="resources")

    @property
    def kind_label(self) -> str:
        return RESOURCE_KIND_LABELS[ResourceKind(self.kind)]


class DetailPlanAttachment(db.Model):
    """An attachment of the detailed plan (never public; host of the base and organisers only)."""

    __tablename__ = "detail_plan_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("detail_plans.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    plan: Mapped[DetailPlan] = relationship(back_populates="attachments")
    file: Mapped[StoredFile] = relationship()


class DetailPlanVersion(db.Model):
    """A submitted version frozen as JSON, with the organiser's decision on it."""

    __tablename__ = "detail_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="detail_plan_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("detail_plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(20))  # "approved" / "changes_requested"
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    plan: Mapped[DetailPlan] = relationship(back_populates="versions")


# ---- answers to technology needs (揭榜) ------------------------------------------------------


class ResponseStatus(StrEnum):
    SUBMITTED = "submitted"  # 已提交
    SHORTLISTED = "shortlisted"  # 入围
    DECLINED = "declined"  # 未入选


RESPONSE_STATUS_LABELS = {
    ResponseStatus.SUBMITTED: N_("已提交，待承办方处理"),
    ResponseStatus.SHORTLISTED: N_("入围"),
    ResponseStatus.DECLINED: N_("未入选"),
}


class TechNeedResponse(db.Model):
    """一份揭榜响应: an organisation's answer to a technology need (later a deal's origin).

    The respondent has no account: they follow a private link whose token is random; only its
    SHA-256 is stored, so the database alone does not reveal the links.
    """

    __tablename__ = "tech_need_responses"
    __table_args__ = (UniqueConstraint("need_id", "uscc", name="need_uscc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("tech_needs.id", ondelete="RESTRICT"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"), index=True)
    org_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)  # 统一社会信用代码
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_mobile: Mapped[str] = mapped_column(String(20))
    contact_email: Mapped[str] = mapped_column(String(254))
    proposal: Mapped[str] = mapped_column(Text)  # 方案概述（字数受限）
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=ResponseStatus.SUBMITTED.value, index=True)
    host_note: Mapped[str] = mapped_column(Text, default="")  # shown to the respondent with the status
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_Hans_CN")  # language of mails to the respondent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    need: Mapped[TechNeed] = relationship(back_populates="responses")
    event: Mapped[Event] = relationship()
    attachment: Mapped[StoredFile | None] = relationship()

    @property
    def status_label(self) -> str:
        return RESPONSE_STATUS_LABELS[ResponseStatus(self.status)]
