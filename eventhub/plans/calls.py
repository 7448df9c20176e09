"""A "call" (征集): a deadline with per-base extensions, 字数 limits, numbered versions.

The preliminary plan (about 800 字, due 30 June) is the first call; later calls of the same
shape (a 3,000-字 work plan due 30 April, applications…) reuse these functions with their own
``call_key``. Nothing here knows about plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, select

from eventhub.core import audit
from eventhub.core.timeutil import as_utc, format_local, is_on_time, utcnow
from eventhub.core.wordcount import count_zishu
from eventhub.extensions import db
from eventhub.plans.models import DeadlineExtension


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, tests of services) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class CallError(ValueError):
    """A call rule was broken; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Call:
    """One call for submissions: its key, general deadline and 字数 limits."""

    key: str
    title: str
    deadline: datetime
    zishu_target: int | None = None
    zishu_min: int | None = None
    zishu_max: int | None = None

    def effective_deadline(self, base_id: int) -> datetime:
        return effective_deadline(self.key, base_id, self.deadline)

    def is_open(self, base_id: int, now: datetime | None = None) -> bool:
        return is_open(self.key, base_id, self.deadline, now)

    def check_open(self, base_id: int, now: datetime | None = None) -> None:
        check_open(self.key, base_id, self.deadline, now)

    def is_late(self, now: datetime | None = None) -> bool:
        return is_late(self.deadline, now)

    def zishu_errors(self, text: str | None) -> list[str]:
        return zishu_errors(text, self.zishu_min, self.zishu_max)


# ---- deadlines ----------------------------------------------------------------


def get_extension(call_key: str, base_id: int) -> DeadlineExtension | None:
    return db.session.scalar(select(DeadlineExtension).where(DeadlineExtension.call_key == call_key, DeadlineExtension.base_id == base_id))


def effective_deadline(call_key: str, base_id: int, general_deadline: datetime) -> datetime:
    """The general deadline, or this base's extension when it is later."""
    extension = get_extension(call_key, base_id)
    if extension is not None and as_utc(extension.until) > as_utc(general_deadline):
        return as_utc(extension.until)
    return as_utc(general_deadline)


def is_open(call_key: str, base_id: int, general_deadline: datetime, now: datetime | None = None) -> bool:
    """True while ``now`` is at or before the base's effective deadline (to the second)."""
    return is_on_time(effective_deadline(call_key, base_id, general_deadline), now or utcnow())


def is_late(general_deadline: datetime, now: datetime | None = None) -> bool:
    """True after the general deadline (a submission then can only be under an extension)."""
    return not is_on_time(general_deadline, now or utcnow())


def deadline_text(deadline: datetime) -> str:
    """``截止时间为 2027-06-30 23:59（北京时间）``."""
    return _("截止时间为 %(when)s（北京时间）", when=format_local(deadline))


def closed_message(deadline: datetime) -> str:
    return _("已过截止时间，不能再提交或修改。%(deadline)s", deadline=deadline_text(deadline))


def check_open(call_key: str, base_id: int, general_deadline: datetime, now: datetime | None = None) -> None:
    """Raise :class:`CallError` naming the deadline (Beijing time) when the call is closed for the base."""
    deadline = effective_deadline(call_key, base_id, general_deadline)
    if not is_on_time(deadline, now or utcnow()):
        raise CallError(closed_message(deadline))


def grant_extension(call_key: str, base_id: int, until: datetime, reason: str, actor: Any, now: datetime | None = None) -> DeadlineExtension:
    """Give one base until ``until`` (aware) to submit; a reason is required; audited.

    A second grant for the same base replaces the first (the audit log keeps both).
    """
    reason = (reason or "").strip()
    if not reason:
        raise CallError(_("请填写延期理由"), "reason")
    if until.tzinfo is None:
        raise CallError(_("延期时间缺少时区"), "until")
    if not is_on_time(until, now or utcnow()):
        raise CallError(_("延期截止时间必须晚于当前时间"), "until")
    extension = get_extension(call_key, base_id)
    before = None
    if extension is None:
        extension = DeadlineExtension(call_key=call_key, base_id=base_id, until=until, reason=reason)
        db.session.add(extension)
    else:
        before = {"until": extension.until, "reason": extension.reason}
        extension.until = until
        extension.reason = reason
    extension.granted_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "deadline.extend", extension, before=before, after={"call_key": call_key, "base_id": base_id, "until": as_utc(until), "reason": reason}, actor=actor
    )
    return extension


def list_extensions(call_key: str) -> list[DeadlineExtension]:
    return list(db.session.scalars(select(DeadlineExtension).where(DeadlineExtension.call_key == call_key).order_by(DeadlineExtension.created_at)))


# ---- 字数 -----------------------------------------------------------------------


def zishu_errors(text: str | None, minimum: int | None, maximum: int | None) -> list[str]:
    """Chinese messages when the 字数 of ``text`` is outside [minimum, maximum] (empty when fine)."""
    count = count_zishu(text)
    if minimum is not None and count < minimum:
        return [_("正文字数为 %(count)d，少于下限 %(min)d 字", count=count, min=minimum)]
    if maximum is not None and count > maximum:
        return [_("正文字数为 %(count)d，超过上限 %(max)d 字", count=count, max=maximum)]
    return []


# ---- versions -------------------------------------------------------------------


def next_version_number(number_column: Any, *criteria: Any) -> int:
    """1 + the highest existing number among rows matching ``criteria`` (1 for the first)."""
    return (db.session.scalar(select(func.max(number_column)).where(*criteria)) or 0) + 1
