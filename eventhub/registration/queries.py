"""Read side of the host's registration pages (报名管理): the filtered list, counts, places, export.

Nothing here writes (the export's audit row is added by the view, which commits it): the list page
may be reloaded freely. Filters come from the URL (:func:`filters_from_args`) so a filtered list
can be bookmarked, paged and exported exactly as seen.

Places are read from the quota rows the registration services keep (``used`` = confirmed places),
with the capacity the approved plan gives; before the first registration there is no quota row
and nothing is used.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import selectinload

from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import format_local
from eventhub.events.content import Publication, publication
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import questions as q
from eventhub.registration.models import (
    ORG_TYPE_LABELS,
    REGISTRATION_STATUS_LABELS,
    OrgType,
    Registration,
    RegistrationQuota,
    RegistrationStatus,
    Ticket,
)

PER_PAGE = 50
SEARCH_MAX = 100
STATUS_ORDER = [
    s.value
    for s in (
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.PENDING,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.DECLINED,
        RegistrationStatus.CANCELLED,
    )
]
SORTS = {
    "newest": (Registration.created_at.desc(), Registration.id.desc()),
    "oldest": (Registration.created_at, Registration.id),
    "name": (Registration.name, Registration.id),
    "organisation": (Registration.organisation, Registration.id),
    "status": (Registration.status, Registration.created_at, Registration.id),
}
SORT_LABELS = {"newest": "最新报名在前", "oldest": "最早报名在前", "name": "按姓名", "organisation": "按单位", "status": "按状态"}


@dataclass
class Filters:
    """What the list shows: a search term and filters (all optional), the order and the page."""

    q: str = ""
    status: str = ""
    org_type: str = ""
    session_id: int | None = None
    reapproval: bool = False
    sort: str = "newest"
    page: int = 1

    def as_args(self) -> dict[str, Any]:
        """The filters as URL arguments (empty ones left out), e.g. for the export link."""
        args: dict[str, Any] = {"q": self.q, "status": self.status, "org_type": self.org_type, "session": self.session_id or "", "sort": self.sort}
        if self.reapproval:
            args["reapproval"] = "1"
        return {k: v for k, v in args.items() if v not in ("", None) and not (k == "sort" and v == "newest")}

    @property
    def active(self) -> bool:
        return bool(self.q or self.status or self.org_type or self.session_id or self.reapproval)


def filters_from_args(args: Mapping[str, str]) -> Filters:
    """Parse the list's URL arguments; unknown values are ignored rather than refused (it is a GET)."""
    status = args.get("status", "")
    org_type = args.get("org_type", "")
    sort = args.get("sort", "newest")
    try:
        session_id: int | None = int(args.get("session", "") or 0) or None
    except ValueError:
        session_id = None
    try:
        page = max(1, int(args.get("page", "1") or 1))
    except ValueError:
        page = 1
    return Filters(
        q=" ".join((args.get("q") or "").split())[:SEARCH_MAX],
        status=status if status in STATUS_ORDER else "",
        org_type=org_type if org_type in {t.value for t in OrgType} else "",
        session_id=session_id,
        reapproval=args.get("reapproval") in ("1", "on", "true"),
        sort=sort if sort in SORTS else "newest",
        page=page,
    )


def _in_session(session_id: int) -> Any:
    """``session_id`` is in the registration's JSON list of sessions (per database)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(Registration.session_ids, JSONB).contains([session_id])
    items = func.json_each(Registration.session_ids).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == session_id))


def _search(term: str) -> Any:
    """Name, organisation, e-mail or ticket number contain the term; a term with 3+ digits also matches mobiles."""
    conditions = [
        Registration.name.icontains(term, autoescape=True),
        Registration.organisation.icontains(term, autoescape=True),
        Registration.email.icontains(term, autoescape=True),
        Registration.id.in_(select(Ticket.registration_id).where(Ticket.code.icontains(term.replace(" ", ""), autoescape=True))),
    ]
    digits = re.sub(r"[\s\-+]", "", term)
    if digits.isdigit() and len(digits) >= 3:
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        conditions.append(Registration.mobile.contains(digits, autoescape=True))
    return or_(*conditions)


def registration_query(event: Event, filters: Filters) -> Select[tuple[Registration]]:
    """The event's registrations matching ``filters``, in the chosen order."""
    query = select(Registration).where(Registration.event_id == event.id)
    if filters.q:
        query = query.where(_search(filters.q))
    if filters.status:
        query = query.where(Registration.status == filters.status)
    if filters.org_type:
        query = query.where(Registration.org_type == filters.org_type)
    if filters.session_id:
        query = query.where(_in_session(filters.session_id))
    if filters.reapproval:
        query = query.where(and_(Registration.needs_reapproval.is_(True), Registration.status == RegistrationStatus.CONFIRMED.value))
    return query.order_by(*SORTS[filters.sort])


def page_of(event: Event, filters: Filters) -> Any:
    """One page (50 rows) of the filtered list (Flask-SQLAlchemy pagination)."""
    return db.paginate(registration_query(event, filters), page=filters.page, per_page=PER_PAGE, error_out=False)


def registrations_by_ids(event: Event, ids: list[int]) -> list[Registration]:
    """The event's registrations among ``ids`` (ids of other events are ignored), by id."""
    if not ids:
        return []
    query = select(Registration).where(Registration.event_id == event.id, Registration.id.in_(ids)).order_by(Registration.id)
    return list(db.session.scalars(query))


# ---- counts and places ----------------------------------------------------------------------------


@dataclass
class Counts:
    """Registrations of one event by status and by organisation type × status."""

    by_status: dict[str, int] = field(default_factory=dict)
    by_org: dict[str, dict[str, int]] = field(default_factory=dict)
    needs_reapproval: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def org_rows(self) -> list[tuple[str, str, dict[str, int], int]]:
        """(org type, label, counts by status, active total) for every type with a registration."""
        rows = []
        for org_type in OrgType:
            counts = self.by_org.get(org_type.value)
            if counts:
                active = sum(counts.get(s, 0) for s in (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED))
                rows.append((org_type.value, ORG_TYPE_LABELS[org_type], counts, active))
        return rows


def counts(event: Event) -> Counts:
    """One GROUP BY over the event's registrations."""
    result = Counts(by_status={s: 0 for s in STATUS_ORDER})
    query = (
        select(Registration.org_type, Registration.status, func.count())
        .where(Registration.event_id == event.id)
        .group_by(Registration.org_type, Registration.status)
    )
    for org_type, status, number in db.session.execute(query):
        result.by_status[status] = result.by_status.get(status, 0) + number
        result.by_org.setdefault(org_type, {})[status] = number
    result.needs_reapproval = (
        db.session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED.value, Registration.needs_reapproval.is_(True))
        )
        or 0
    )
    return result


@dataclass
class Places:
    """Capacity (None = no limit) and places taken of the event or one session."""

    title: str
    capacity: int | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.used)


def places(event: Event, pub: Publication | None = None) -> list[Places]:
    """The event's places first, then each session with its own capacity (from the approved plan)."""
    pub = pub if pub is not None else publication(event)
    if pub is None:
        return []
    rows = {row.session_id: row for row in db.session.scalars(select(RegistrationQuota).where(RegistrationQuota.event_id == event.id))}
    confirmed = db.session.scalar(
        select(func.count()).select_from(Registration).where(Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED.value)
    )
    event_row = rows.get(None)
    out = [Places("", pub.registration_capacity, event_row.used if event_row is not None else confirmed or 0)]
    for session in pub.sessions:
        if session.capacity is not None:
            row = rows.get(session.id)
            out.append(Places(session.title, session.capacity, row.used if row is not None else 0))
    return out


def overview(events: list[Event]) -> dict[int, dict[str, int]]:
    """Event id → registrations by status, for many events in one GROUP BY (the overview page)."""
    out: dict[int, dict[str, int]] = {e.id: {s: 0 for s in STATUS_ORDER} for e in events}
    if not out:
        return out
    query = (
        select(Registration.event_id, Registration.status, func.count())
        .where(Registration.event_id.in_(list(out)))
        .group_by(Registration.event_id, Registration.status)
    )
    for event_id, status, number in db.session.execute(query):
        out[event_id][status] = number
    return out


# ---- what a registration says -----------------------------------------------------------------------


def session_titles(pub: Publication | None, registration: Registration) -> list[str]:
    titles = []
    for sid in registration.session_ids or []:
        session = pub.session(sid) if pub is not None else None
        titles.append(session.title if session is not None else f"#{sid}")
    return titles


def interest_titles(pub: Publication | None, registration: Registration) -> tuple[list[str], list[str]]:
    """Titles of the needs and resources the registrant is interested in."""
    interests = registration.interests or {}
    needs = {n.id: n.title for n in pub.needs} if pub is not None else {}
    resources = {r.id: r.name for r in pub.resources} if pub is not None else {}
    return (
        [needs.get(int(i), f"#{i}") for i in interests.get("needs", [])],
        [resources.get(int(i), f"#{i}") for i in interests.get("resources", [])],
    )


def answer_rows(questions: list[Any], registration: Registration) -> list[tuple[Any, str]]:
    """(question, answer text) for every question, removed ones only when answered."""
    answers = registration.answers or {}
    rows = []
    for question in questions:
        value = answers.get(str(question.id))
        if question.active or value not in (None, "", []):
            rows.append((question, q.format_answer(question, value)))
    return rows


# ---- export -----------------------------------------------------------------------------------------

EXPORT_HEADER = [
    "编号",
    "状态",
    "需重新审核",
    "姓名",
    "单位名称",
    "单位类型",
    "统一社会信用代码",
    "职务",
    "手机号码",
    "电子邮箱",
    "参加场次",
    "感兴趣的技术需求",
    "感兴趣的共享资源",
    "票号",
    "报名时间（北京时间）",
    "确认时间（北京时间）",
    "候补时间（北京时间）",
    "取消时间（北京时间）",
    "承办方说明",
]


def export_rows(event: Event, filters: Filters) -> list[Registration]:
    """Every registration of the filtered list (all pages)."""
    return list(db.session.scalars(registration_query(event, filters).options(selectinload(Registration.ticket))))


def export_xlsx(event: Event, rows: list[Registration]) -> bytes:
    """The filtered list with full contacts and one column per question (the host's own data)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    pub = publication(event)
    questions = q.all_questions(event)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "报名名单"
    sheet.append(EXPORT_HEADER + [question.label if question.active else f"{question.label}（已删除）" for question in questions])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        needs, resources = interest_titles(pub, r)
        answers = r.answers or {}
        values = [
            r.id,
            REGISTRATION_STATUS_LABELS[RegistrationStatus(r.status)],
            "是" if r.needs_reapproval and r.status == RegistrationStatus.CONFIRMED.value else "",
            r.name,
            r.organisation,
            ORG_TYPE_LABELS[OrgType(r.org_type)],
            r.uscc or "",
            r.position,
            r.mobile,
            r.email,
            "；".join(session_titles(pub, r)),
            "；".join(needs),
            "；".join(resources),
            r.ticket.code if r.ticket is not None and r.ticket.revoked_at is None else "",
            format_local(r.created_at),
            format_local(r.confirmed_at),
            format_local(r.waitlisted_at),
            format_local(r.cancelled_at),
            r.host_note,
        ]
        values += [q.format_answer(question, answers.get(str(question.id))) for question in questions]
        sheet.append([_safe_cell(v) for v in values])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 16
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "E2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
