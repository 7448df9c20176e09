"""The record of scheduled job runs, so organisers see what the scheduler did and what failed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eventhub.core.timeutil import UTCDateTime, utcnow
from eventhub.extensions import db


class JobRun(db.Model):
    """One run of a scheduled job (调度任务执行记录)."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="running")  # running / ok / error
    summary: Mapped[str] = mapped_column(String(500), default="")  # e.g. "sent 3, failed 0"
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str] = mapped_column(String(100), default="")  # host:pid of the scheduler process
