"""Demonstration bases (双创示范基地). Only enterprise-type bases may host a theme day."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import gettext
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventhub.core.i18n import N_
from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db

if TYPE_CHECKING:
    from eventhub.auth.models import User


class Direction(StrEnum):
    """示范基地的方向."""

    EMPLOYMENT = "创业就业"
    INTEGRATED = "融通创新"
    LEAN = "精益创业"
    GLOBAL = "全球化创业"


class BaseType(StrEnum):
    """示范基地的类型."""

    REGION = "region"  # 区域示范基地
    ENTERPRISE = "enterprise"  # 企业示范基地
    UNIVERSITY = "university"  # 高校示范基地
    INSTITUTE = "institute"  # 科研院所示范基地


BASE_TYPE_LABELS = {
    BaseType.REGION: N_("区域示范基地"),
    BaseType.ENTERPRISE: N_("企业示范基地"),
    BaseType.UNIVERSITY: N_("高校示范基地"),
    BaseType.INSTITUTE: N_("科研院所示范基地"),
}


class DemonstrationBase(db.Model):
    """双创示范基地."""

    __tablename__ = "bases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(50))  # 简称, used in plan titles
    batch: Mapped[int] = mapped_column(Integer, index=True)
    direction: Mapped[str] = mapped_column(String(20), index=True)
    base_type: Mapped[str] = mapped_column(String(20), index=True)
    province: Mapped[str] = mapped_column(String(50), index=True)
    source: Mapped[str | None] = mapped_column(String(200))  # the State Council document that named it
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="base")

    @property
    def can_host(self) -> bool:
        """The notice limits hosting a theme day to enterprise-type bases."""
        return self.base_type == BaseType.ENTERPRISE.value

    @property
    def type_label(self) -> str:
        return gettext(BASE_TYPE_LABELS[BaseType(self.base_type)])

    @property
    def display_short_name(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<DemonstrationBase {self.name}>"
