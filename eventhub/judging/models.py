"""Judging engine models (评审引擎)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class RoundStatus(StrEnum):
    SETUP = "setup"  # rubric editable, assignments being made
    SCORING = "scoring"  # rubric frozen, judges score
    CLOSED = "closed"  # results final


class JudgingRound(db.Model):
    """One judging exercise (e.g. the plan review of a campaign); ``key`` names its client."""

    __tablename__ = "judging_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)  # e.g. "plan-review:3"
    title: Mapped[str] = mapped_column(String(200))
    scale_min: Mapped[int] = mapped_column(Integer, default=1)
    scale_max: Mapped[int] = mapped_column(Integer, default=10)
    judges_per_item: Mapped[int] = mapped_column(Integer, default=3)
    disagreement_threshold: Mapped[float] = mapped_column(Float, default=2.0)  # std dev on the scale
    status: Mapped[str] = mapped_column(String(20), default=RoundStatus.SETUP.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    criteria: Mapped[list[Criterion]] = relationship(back_populates="round", order_by="Criterion.position", cascade="all, delete-orphan")
    items: Mapped[list[JudgingItem]] = relationship(back_populates="round", order_by="JudgingItem.id", cascade="all, delete-orphan")


class Criterion(db.Model):
    """评分标准: weight, guidance; the scale is the round's."""

    __tablename__ = "judging_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("judging_rounds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    guidance: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[JudgingRound] = relationship(back_populates="criteria")


class JudgingItem(db.Model):
    """Something judged: the client's object by (ref_type, ref_id), with its conflict bases."""

    __tablename__ = "judging_items"
    __table_args__ = (UniqueConstraint("round_id", "ref_type", "ref_id", name="item_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("judging_rounds.id", ondelete="CASCADE"), index=True)
    ref_type: Mapped[str] = mapped_column(String(40))
    ref_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))  # where a judge reads the item
    conflict_base_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # bases whose people may not judge it
    active: Mapped[bool] = mapped_column(default=True)  # False when the client withdrew the item

    round: Mapped[JudgingRound] = relationship(back_populates="items")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="item", cascade="all, delete-orphan")


class JudgeAffiliation(db.Model):
    """A reviewer's declared tie to a base (employment, advisory role…): a standing conflict."""

    __tablename__ = "judge_affiliations"
    __table_args__ = (UniqueConstraint("user_id", "base_id", name="judge_base"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    CONFLICT = "conflict"  # the judge declared a conflict on this item; kept for the record


class Assignment(db.Model):
    """A judge asked to score an item (by hand or automatically)."""

    __tablename__ = "judging_assignments"
    __table_args__ = (UniqueConstraint("item_id", "judge_id", name="item_judge"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("judging_items.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=AssignmentStatus.ASSIGNED.value)
    source: Mapped[str] = mapped_column(String(10), default="manual")  # manual / auto
    conflict_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[JudgingItem] = relationship(back_populates="assignments")
    sheet: Mapped[ScoreSheet | None] = relationship(back_populates="assignment", uselist=False, cascade="all, delete-orphan")


class ScoreSheet(db.Model):
    """评分表: one per assignment; draft until submitted, then read-only."""

    __tablename__ = "judging_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("judging_assignments.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft / submitted
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="sheet")
    scores: Mapped[list[Score]] = relationship(back_populates="sheet", cascade="all, delete-orphan")


class Score(db.Model):
    __tablename__ = "judging_scores"
    __table_args__ = (UniqueConstraint("sheet_id", "criterion_id", name="sheet_criterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("judging_sheets.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("judging_criteria.id", ondelete="CASCADE"), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")
