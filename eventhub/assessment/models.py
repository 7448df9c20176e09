"""Assessment models (第三方评估): deals confirmed by both sides, lasting mechanisms followed up
by their members, SME satisfaction surveys, and the campaign's weights and finalisation.

Everything the score is computed from is a fact someone other than the host confirmed: a deal
counts as confirmed only when its counterparty says so by a signed link, a mechanism is stable
only when its members answer that it is still active, and a survey answer needs a personal link
sent to a checked-in participant. The host's own word is recorded, never counted as proof.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.campaigns.models import Campaign
from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.core.uploads import StoredFile
from eventhub.events.models import Event
from eventhub.extensions import db

# ---- deals (合作项目) ---------------------------------------------------------------------------


class DealKind(StrEnum):
    TECHNOLOGY = "technology"  # 技术合作
    PROCUREMENT = "procurement"  # 采购 / 进入供应链
    INVESTMENT = "investment"  # 投资
    COMMERCIALISATION = "commercialisation"  # 成果转化
    JOINT_LAB = "joint_lab"  # 共建实验室 / 平台
    OTHER = "other"  # 其他


DEAL_KIND_LABELS = {
    DealKind.TECHNOLOGY: N_("技术合作"),
    DealKind.PROCUREMENT: N_("采购 / 进入供应链"),
    DealKind.INVESTMENT: N_("投资"),
    DealKind.COMMERCIALISATION: N_("成果转化"),
    DealKind.JOINT_LAB: N_("共建实验室或平台"),
    DealKind.OTHER: N_("其他"),
}


class DealStage(StrEnum):
    INTENT = "intent"  # 意向
    SIGNED = "signed"  # 正式签约


DEAL_STAGE_LABELS = {DealStage.INTENT: N_("合作意向"), DealStage.SIGNED: N_("正式签约")}


class DealStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"  # 待对方确认
    CONFIRMED = "confirmed"  # 对方已确认
    DISPUTED = "disputed"  # 对方有异议
    WITHDRAWN = "withdrawn"  # 承办方已撤回


DEAL_STATUS_LABELS = {
    DealStatus.UNCONFIRMED: N_("待对方确认"),
    DealStatus.CONFIRMED: N_("对方已确认"),
    DealStatus.DISPUTED: N_("对方有异议"),
    DealStatus.WITHDRAWN: N_("已撤回"),
}


class Deal(db.Model):
    """合作项目: recorded by the host, counted only once the counterparty confirms by its link.

    ``source_type`` / ``source_id`` point at what the deal grew from: a technology-need answer
    (``"need_response"``) or a road-show lead (``"lead"``).
    """

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    lead_party: Mapped[str] = mapped_column(String(200))  # the host or another large enterprise (牵头方)
    counterparty_name: Mapped[str] = mapped_column(String(200))
    counterparty_type: Mapped[str] = mapped_column(String(20))  # registration.models.OrgType
    counterparty_uscc: Mapped[str] = mapped_column(String(18), default="")
    counterparty_contact: Mapped[str] = mapped_column(String(50), default="")
    counterparty_email: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(30))  # DealKind
    stage: Mapped[str] = mapped_column(String(20))  # DealStage
    amount_wan: Mapped[float | None] = mapped_column(Float)  # 金额（万元）
    deal_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    source_type: Mapped[str] = mapped_column(String(30), default="")
    source_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=DealStatus.UNCONFIRMED.value, index=True)
    confirm_token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the counterparty's link token
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_note: Mapped[str] = mapped_column(Text, default="")  # the counterparty's remark / dispute reason
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))  # likely duplicate (same pair, kind, event)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    evidence: Mapped[list[DealEvidence]] = relationship(back_populates="deal", cascade="all, delete-orphan", order_by="DealEvidence.id")

    @property
    def status_label(self) -> str:
        return DEAL_STATUS_LABELS[DealStatus(self.status)]


class DealEvidence(db.Model):
    """佐证材料: a signed page or a photo (PDF / image, checked by content)."""

    __tablename__ = "deal_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deal: Mapped[Deal] = relationship(back_populates="evidence")
    file: Mapped[StoredFile] = relationship()


# ---- lasting mechanisms (合作机制) ---------------------------------------------------------------


class MechanismKind(StrEnum):
    ALLIANCE = "alliance"  # 产业联盟
    JOINT_LAB = "joint_lab"  # 联合实验室
    SUPPLY = "supply"  # 长期供货协议
    COOPERATION = "cooperation"  # 长期合作协议
    PROGRAMME = "programme"  # 常态化活动 / 项目
    OTHER = "other"  # 其他


MECHANISM_KIND_LABELS = {
    MechanismKind.ALLIANCE: N_("产业联盟"),
    MechanismKind.JOINT_LAB: N_("联合实验室"),
    MechanismKind.SUPPLY: N_("长期供货协议"),
    MechanismKind.COOPERATION: N_("长期合作协议"),
    MechanismKind.PROGRAMME: N_("常态化对接活动"),
    MechanismKind.OTHER: N_("其他"),
}


class Mechanism(db.Model):
    """合作机制: formed at or after the event; its stability is what its members answer later."""

    __tablename__ = "mechanisms"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # MechanismKind
    description: Mapped[str] = mapped_column(Text, default="")
    formed_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[Event] = relationship()
    members: Mapped[list[MechanismMember]] = relationship(back_populates="mechanism", cascade="all, delete-orphan", order_by="MechanismMember.id")


class MechanismMember(db.Model):
    """A member organisation of a mechanism, asked by mail whether it is still active."""

    __tablename__ = "mechanism_members"
    __table_args__ = (UniqueConstraint("mechanism_id", "email", name="mechanism_member_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mechanism_id: Mapped[int] = mapped_column(ForeignKey("mechanisms.id", ondelete="CASCADE"), index=True)
    org_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(254))

    mechanism: Mapped[Mechanism] = relationship(back_populates="members")


class MechanismCheck(db.Model):
    """One follow-up question to one member: wave 3 or 6 (months after the event's last day).

    The row is created when the question is sent (unique per member and wave, so a job that
    runs twice asks once); ``active`` stays NULL until the member answers by its link.
    """

    __tablename__ = "mechanism_checks"
    __table_args__ = (UniqueConstraint("member_id", "wave", name="mechanism_check_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mechanism_id: Mapped[int] = mapped_column(ForeignKey("mechanisms.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("mechanism_members.id", ondelete="CASCADE"), index=True)
    wave: Mapped[int] = mapped_column(Integer)  # months: 3 or 6
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")

    member: Mapped[MechanismMember] = relationship()


# ---- satisfaction surveys (满意度调查) ------------------------------------------------------------


class QuestionnaireStatus(StrEnum):
    DRAFT = "draft"  # 草稿
    PUBLISHED = "published"  # 使用中 (invitations are sent with this version)
    RETIRED = "retired"  # 已停用 (kept: answers point at it)


class Questionnaire(db.Model):
    """问卷: one version of a campaign's questionnaire; a published version is never edited.

    ``invite_org_types`` lists who is invited besides SMEs and start-ups' defaults;
    ``open_days`` is how long a link stays answerable after the event's last day;
    ``reminder_days`` when non-respondents are reminded (days after the invitation).
    """

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("campaign_id", "version", name="questionnaire_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=QuestionnaireStatus.DRAFT.value)
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    invite_org_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    open_days: Mapped[int] = mapped_column(Integer, default=30)
    reminder_days: Mapped[list[Any]] = mapped_column(JSON, default=list)  # e.g. [7, 21]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    campaign: Mapped[Campaign] = relationship()
    questions: Mapped[list[SurveyQuestion]] = relationship(back_populates="questionnaire", cascade="all, delete-orphan", order_by="SurveyQuestion.position")


class SurveyQuestionKind(StrEnum):
    SCALE5 = "scale5"  # 1–5 分
    NPS = "nps"  # 0–10 推荐意愿
    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    TEXT = "text"  # 文字


class SurveyQuestion(db.Model):
    """A question of one questionnaire version; ``key`` names the well-known ones the score reads
    (``overall`` satisfaction, ``nps``), so a new version keeps them comparable."""

    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(20))  # SurveyQuestionKind
    label: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str] = mapped_column(String(300), default="")
    choices: Mapped[list[Any]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=True)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")


class SurveyInvitation(db.Model):
    """A personal survey link for one checked-in registration (one per event and registration)."""

    __tablename__ = "survey_invitations"
    __table_args__ = (UniqueConstraint("event_id", "registration_id", name="survey_invitation_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    questionnaire: Mapped[Questionnaire] = relationship()
    response: Mapped[SurveyResponse | None] = relationship(back_populates="invitation", uselist=False)


class SurveyResponse(db.Model):
    """The one answer of one invitation (unique), editable until the survey closes."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id", ondelete="CASCADE"), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # str(question id) → value
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    invitation: Mapped[SurveyInvitation] = relationship(back_populates="response")


# ---- weights, comments, finalisation ------------------------------------------------------------


class AssessmentSettings(db.Model):
    """The campaign's assessment: metric weights (organiser), publication of results to hosts."""

    __tablename__ = "assessment_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # metric key → weight
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # hosts see their own result and rank
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()


class EventAssessment(db.Model):
    """The third-party assessor's comment and finalisation of one event; ``figures`` freezes the
    raw metrics at finalisation so a later change is visible, not silent."""

    __tablename__ = "event_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
