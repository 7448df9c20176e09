"""The live check-in dashboard's numbers and the attendance export (签到看板、签到名单导出).

Every figure is one GROUP BY over the event's rows, so the page (polled every 10 s) costs a
handful of index scans however many people have arrived, on SQLite as on PostgreSQL:

* **checked in / confirmed** — *people*: distinct tickets of currently confirmed registrations
  with at least one check-in on any of the event's lists (a person checked in at the door and
  again at a session counts once); per list, the check-ins on that list against the confirmed
  registrations it admits (all of them for the whole-event list, those who chose the session for
  a session list);
* **by organisation type** — people, as above, grouped by the registration's ``org_type``;
* **by gate** and **per 15 minutes** — *check-ins* (签到人次, one per ticket and list): what the
  doors handled, which is what staffing decisions need. The 15-minute bucket is computed in SQL
  from the epoch seconds (``strftime('%s')`` on SQLite, ``extract(epoch)`` on PostgreSQL) and
  grouped there; Beijing has no daylight saving time and is a whole number of hours from UTC,
  so a UTC quarter hour is a Beijing quarter hour;
* **the latest scans** and **the offline-sync conflicts**: a scan whose check-in was taken over
  by an earlier offline scan (``superseded``) and an offline scan that found the ticket already
  checked in earlier (``offline`` and ``already``). Live ``already`` scans (someone showed the
  same QR twice) are counted, not listed as conflicts: the scanner told the staff member then.

Everything returned is JSON-ready (times as ISO 8601 in Beijing time and as short Beijing
wall-clock text), so the page and its JSON endpoint share one function.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import Integer, and_, cast, extract, func, or_, select

from eventhub.auth.models import User
from eventhub.checkin import services as checkin
from eventhub.checkin.models import Checkin, CheckinList, CheckinScan
from eventhub.core.spreadsheets import safe_cell as _safe_cell
from eventhub.core.timeutil import format_local, to_shanghai, utcnow
from eventhub.events.models import Event, EventSession
from eventhub.extensions import db
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType, Registration, RegistrationStatus, Ticket

BUCKET_SECONDS = 15 * 60
MAX_FILLED_BUCKETS = 96  # up to a day of quarter hours is shown with the empty ones; longer spans only where something happened
LATEST_SCANS = 20
CONFLICTS_SHOWN = 50

# Result codes of CheckinScan.result → Chinese label (the scanner's own reason codes, see checkin.services).
RESULT_LABELS = {
    checkin.OK: "签到成功",
    checkin.ALREADY: "已签到（重复扫码）",
    checkin.SUPERSEDED: "被更早的离线扫码取代",
    checkin.PENDING: "处理中",
    "malformed": "无法识别的二维码",
    "unsupported_version": "不支持的票据版本",
    "unknown_key": "未知签名密钥",
    "invalid_signature": "签名无效",
    "other_event": "其他活动的票",
    "revoked": "票已作废",
    checkin.NOT_FOUND: "票不存在",
    checkin.CANCELLED: "报名已取消",
    checkin.NOT_APPROVED: "报名未确认",
    checkin.WRONG_SESSION: "未报名该场次",
}
RESULT_TONES = {checkin.OK: "success", checkin.ALREADY: "warning", checkin.SUPERSEDED: "secondary"}  # the rest: danger


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, tests of the service) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


def _iso(value: datetime | None) -> str | None:
    return to_shanghai(value).isoformat(timespec="seconds") if value is not None else None


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def result_label(code: str) -> str:
    return _(RESULT_LABELS[code]) if code in RESULT_LABELS else code


def result_tone(code: str) -> str:
    return RESULT_TONES.get(code, "danger")


# ---- SQL building blocks -----------------------------------------------------------------------


def _bucket_expression(column: Any) -> Any:
    """The 15-minute bucket number (epoch seconds // 900) of a timestamp column, in SQL.

    SQLite stores the UTC wall-clock text (``UTCDateTime``), which ``strftime('%s')`` reads as
    UTC; PostgreSQL's ``timestamptz`` gives the epoch directly.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer) // BUCKET_SECONDS
    return cast(func.floor(extract("epoch", column) / BUCKET_SECONDS), Integer)


def _confirmed(event: Event) -> Any:
    return and_(Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED.value)


def _names(user_ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


# ---- the figures -------------------------------------------------------------------------------


def totals_by_org_type(event: Event) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Overall people checked in / confirmed, and the same per organisation type (every type listed)."""
    confirmed = dict(db.session.execute(select(Registration.org_type, func.count()).where(_confirmed(event)).group_by(Registration.org_type)).all())
    arrived = dict(
        db.session.execute(
            select(Registration.org_type, func.count(func.distinct(Checkin.ticket_id)))
            .select_from(Checkin)
            .join(Ticket, Ticket.id == Checkin.ticket_id)
            .join(Registration, Registration.id == Ticket.registration_id)
            .where(Checkin.event_id == event.id, _confirmed(event))
            .group_by(Registration.org_type)
        ).all()
    )
    rows = []
    for org_type in OrgType:
        total, done = int(confirmed.get(org_type.value, 0)), int(arrived.get(org_type.value, 0))
        rows.append({"key": org_type.value, "label": _(ORG_TYPE_LABELS[org_type]), "confirmed": total, "checked_in": done, "percent": _percent(done, total)})
    total, done = sum(r["confirmed"] for r in rows), sum(r["checked_in"] for r in rows)
    return {"confirmed": total, "checked_in": done, "percent": _percent(done, total)}, rows


def _session_demand(event: Event) -> dict[int, int]:
    """Confirmed registrations per chosen session (``session_ids`` is a JSON list: counted here,
    one narrow column read, rather than with each database's own JSON functions)."""
    demand: dict[int, int] = defaultdict(int)
    for (session_ids,) in db.session.execute(select(Registration.session_ids).where(_confirmed(event))):
        for sid in set(session_ids or []):
            demand[int(sid)] += 1
    return demand


def by_list(event: Event, confirmed_total: int) -> list[dict[str, Any]]:
    """Each check-in list (whole event first, then sessions in agenda order), including sessions
    that have no list yet (nobody scanned for them), with check-ins against those admitted."""
    lists = checkin.event_lists(event)
    counts = dict(db.session.execute(select(Checkin.list_id, func.count()).where(Checkin.event_id == event.id).group_by(Checkin.list_id)).all())
    sessions = list(db.session.scalars(select(EventSession).where(EventSession.event_id == event.id).order_by(EventSession.day, EventSession.start_time)))
    demand = _session_demand(event) if sessions or any(lst.session_id for lst in lists) else {}
    rows: list[dict[str, Any]] = []
    whole = next((lst for lst in lists if lst.session_id is None), None)
    done = int(counts.get(whole.id, 0)) if whole else 0
    rows.append(
        {
            "id": whole.id if whole else None,
            "session_id": None,
            "name": _("全场签到"),
            "confirmed": confirmed_total,
            "checked_in": done,
            "percent": _percent(done, confirmed_total),
        }
    )
    by_session = {lst.session_id: lst for lst in lists if lst.session_id is not None}
    for session in sessions:
        lst = by_session.pop(session.id, None)
        done, total = (int(counts.get(lst.id, 0)) if lst else 0), demand.get(session.id, 0)
        rows.append(
            {
                "id": lst.id if lst else None,
                "session_id": session.id,
                "name": session.title,
                "confirmed": total,
                "checked_in": done,
                "percent": _percent(done, total),
            }
        )
    for session_id, lst in by_session.items():  # a list whose session row is gone: still show what was scanned on it
        done, total = int(counts.get(lst.id, 0)), demand.get(session_id, 0)
        rows.append({"id": lst.id, "session_id": session_id, "name": lst.name, "confirmed": total, "checked_in": done, "percent": _percent(done, total)})
    return rows


def by_gate(event: Event) -> list[dict[str, Any]]:
    """Check-ins and distinct people per gate, busiest first; ``bar`` is the share of the busiest."""
    rows = db.session.execute(
        select(Checkin.gate, func.count(), func.count(func.distinct(Checkin.ticket_id))).where(Checkin.event_id == event.id).group_by(Checkin.gate)
    ).all()
    top = max((int(n) for _gate, n, _people in rows), default=0)
    out = [
        {"gate": gate or "", "label": gate or _("未指定入口"), "checkins": int(n), "people": int(people), "bar": _percent(int(n), top)}
        for gate, n, people in rows
    ]
    return sorted(out, key=lambda r: (-r["checkins"], r["gate"]))


def per_quarter_hour(event: Event) -> list[dict[str, Any]]:
    """Check-ins per 15 minutes (Beijing time), oldest first; quiet quarter hours in between are
    shown as 0 when the whole span is at most a day."""
    bucket = _bucket_expression(Checkin.checked_in_at).label("bucket")
    counted = {
        int(b): int(n) for b, n in db.session.execute(select(bucket, func.count()).where(Checkin.event_id == event.id).group_by(bucket).order_by(bucket)).all()
    }
    if not counted:
        return []
    first, last = min(counted), max(counted)
    numbers = range(first, last + 1) if last - first < MAX_FILLED_BUCKETS else sorted(counted)
    top = max(counted.values())
    out = []
    for number in numbers:
        start = datetime.fromtimestamp(number * BUCKET_SECONDS, UTC)
        end = start + timedelta(seconds=BUCKET_SECONDS)
        n = counted.get(number, 0)
        out.append(
            {
                "start": _iso(start),
                "label": f"{format_local(start, '%m-%d %H:%M')}–{format_local(end, '%H:%M')}",
                "checkins": n,
                "bar": _percent(n, top),
            }
        )
    return out


def _ticket_people(event: Event, codes: set[str | None]) -> dict[str, tuple[str, str]]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    rows = db.session.execute(
        select(Ticket.code, Registration.name, Registration.organisation)
        .join(Registration, Registration.id == Ticket.registration_id)
        .where(Ticket.event_id == event.id, Ticket.code.in_(codes))
    ).all()
    return {code: (name, organisation) for code, name, organisation in rows}


def _scan_dict(scan: CheckinScan, people: dict[str, tuple[str, str]], staff: dict[int, str], lists: dict[int, str]) -> dict[str, Any]:
    name, organisation = people.get(scan.ticket_code or "", ("", ""))
    return {
        "id": scan.id,
        "scan_id": scan.scan_id,
        "at": _iso(scan.scanned_at),
        "at_local": format_local(scan.scanned_at, "%m-%d %H:%M:%S"),
        "received_local": format_local(scan.received_at, "%m-%d %H:%M:%S"),
        "result": scan.result,
        "result_label": result_label(scan.result),
        "tone": result_tone(scan.result),
        "ticket": scan.ticket_code or "",
        "name": name,
        "organisation": organisation,
        "gate": scan.gate,
        "staff": staff.get(scan.staff_id or 0, ""),
        "list": lists.get(scan.list_id or 0, ""),
        "offline": bool(scan.offline),
    }


def _list_names(event: Event) -> dict[int, str]:
    return {lst.id: (_("全场签到") if lst.session_id is None else lst.name) for lst in checkin.event_lists(event)}


def latest_scans(event: Event, limit: int = LATEST_SCANS) -> list[dict[str, Any]]:
    """The last scans received, newest first, whatever their result."""
    scans = list(db.session.scalars(select(CheckinScan).where(CheckinScan.event_id == event.id).order_by(CheckinScan.id.desc()).limit(limit)))
    people, staff, lists = _ticket_people(event, {s.ticket_code for s in scans}), _names({s.staff_id for s in scans}), _list_names(event)
    return [_scan_dict(s, people, staff, lists) for s in scans]


def _conflict_condition(event: Event) -> Any:
    return and_(
        CheckinScan.event_id == event.id,
        or_(CheckinScan.result == checkin.SUPERSEDED, and_(CheckinScan.offline.is_(True), CheckinScan.result == checkin.ALREADY)),
    )


def conflicts(event: Event, limit: int = CONFLICTS_SHOWN) -> tuple[int, list[dict[str, Any]]]:
    """Offline-sync conflicts (newest first) with the check-in that stands for each ticket."""
    total = db.session.scalar(select(func.count()).select_from(CheckinScan).where(_conflict_condition(event))) or 0
    scans = list(
        db.session.scalars(select(CheckinScan).where(_conflict_condition(event)).order_by(CheckinScan.scanned_at.desc(), CheckinScan.id.desc()).limit(limit))
    )
    codes = {s.ticket_code for s in scans if s.ticket_code}
    winners: dict[tuple[str, int], Checkin] = {}
    if codes:
        for code, row in db.session.execute(
            select(Ticket.code, Checkin).join(Ticket, Ticket.id == Checkin.ticket_id).where(Checkin.event_id == event.id, Ticket.code.in_(codes))
        ).all():
            winners[(code, row.list_id)] = row
    staff = _names({s.staff_id for s in scans} | {w.staff_id for w in winners.values()})
    people, lists = _ticket_people(event, codes), _list_names(event)
    out = []
    for scan in scans:
        item = _scan_dict(scan, people, staff, lists)
        winner = winners.get((scan.ticket_code or "", scan.list_id or 0))
        item["kind"] = "superseded" if scan.result == checkin.SUPERSEDED else "double"
        item["kind_label"] = _("被更早的离线扫码取代") if scan.result == checkin.SUPERSEDED else _("离线重复扫码")
        item["kept"] = (
            {
                "at": _iso(winner.checked_in_at),
                "at_local": format_local(winner.checked_in_at, "%m-%d %H:%M:%S"),
                "gate": winner.gate,
                "staff": staff.get(winner.staff_id or 0, ""),
            }
            if winner is not None
            else None
        )
        out.append(item)
    return int(total), out


def snapshot(event: Event) -> dict[str, Any]:
    """Everything the dashboard shows, JSON-ready (the page renders it; the endpoint returns it)."""
    totals, org_types = totals_by_org_type(event)
    conflict_count, conflict_rows = conflicts(event)
    repeats = db.session.scalar(select(func.count()).select_from(CheckinScan).where(CheckinScan.event_id == event.id, CheckinScan.result == checkin.ALREADY))
    scans_total = db.session.scalar(select(func.count()).select_from(CheckinScan).where(CheckinScan.event_id == event.id))
    now = utcnow()
    return {
        "event_id": event.id,
        "generated_at": _iso(now),
        "generated_local": format_local(now, "%H:%M:%S"),
        "totals": {**totals, "repeat_scans": int(repeats or 0), "scans": int(scans_total or 0), "conflicts": conflict_count},
        "lists": by_list(event, totals["confirmed"]),
        "org_types": org_types,
        "gates": by_gate(event),
        "buckets": per_quarter_hour(event),
        "scans": latest_scans(event),
        "conflicts": conflict_rows,
    }


# ---- attendance export -------------------------------------------------------------------------

ATTENDANCE_HEADER = [
    "报名编号",
    "姓名",
    "单位",
    "单位类型",
    "职务",
    "手机",
    "邮箱",
    "报名场次",
    "是否签到",
    "首次签到时间（北京时间）",
    "入口",
    "签到人员",
    "签到清单",
    "签到次数",
]


def attendance_rows(event: Event) -> list[list[Any]]:
    """One row per confirmed registration: its first check-in (any list) and how many it has."""
    registrations = list(db.session.scalars(select(Registration).where(_confirmed(event)).order_by(Registration.id)))
    ticket_of = dict(db.session.execute(select(Ticket.registration_id, Ticket.id).where(Ticket.event_id == event.id)).all())
    first: dict[int, Checkin] = {}
    count: dict[int, int] = defaultdict(int)
    for row in db.session.scalars(select(Checkin).where(Checkin.event_id == event.id).order_by(Checkin.checked_in_at, Checkin.id)):
        first.setdefault(row.ticket_id, row)
        count[row.ticket_id] += 1
    staff = _names({c.staff_id for c in first.values()})
    lists = _list_names(event)
    sessions = dict(db.session.execute(select(EventSession.id, EventSession.title).where(EventSession.event_id == event.id)).all())
    out = []
    for r in registrations:
        ticket_id = ticket_of.get(r.id)
        c = first.get(ticket_id) if ticket_id is not None else None
        out.append(
            [
                r.id,
                r.name,
                r.organisation,
                _(ORG_TYPE_LABELS[OrgType(r.org_type)]) if r.org_type in OrgType._value2member_map_ else r.org_type,
                r.position,
                r.mobile,
                r.email,
                "；".join(sessions.get(int(sid), f"#{sid}") for sid in r.session_ids or []),
                _("是") if c else _("否"),
                format_local(c.checked_in_at, "%Y-%m-%d %H:%M:%S") if c else "",
                c.gate if c else "",
                staff.get(c.staff_id or 0, "") if c else "",
                lists.get(c.list_id, "") if c else "",
                count.get(ticket_id, 0) if ticket_id is not None else 0,
            ]
        )
    return out


def attendance_xlsx(event: Event, rows: list[list[Any]]) -> bytes:
    """The attendance list as one sheet (full contacts: organisers and the event's host only)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "签到名单"
    sheet.append([_(h) for h in ATTENDANCE_HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe_cell(v) for v in row])
    widths = {"A": 10, "B": 12, "C": 30, "D": 12, "E": 14, "F": 14, "G": 26, "H": 30, "I": 10, "J": 22, "K": 12, "L": 12, "M": 16, "N": 10}
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def list_name(row: CheckinList | None) -> str:
    """How a staff member's list reads: the whole event unless a session list is set."""
    if row is None or row.session_id is None:
        return _("全场签到")
    return row.name
