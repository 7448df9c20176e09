"""The road-show schedule of an event: sessions and panels, the draft, automatic placement, hand
edits, publication with calendar mail, and what the public agenda and run sheets read.

The pure solver lives in :mod:`eventhub.roadshow.scheduling`; this module turns the models into
its values and stores its answers. Rules kept here (views only parse and render):

* **Sessions.** A session lies within the event's days, ends after it starts, has at least one
  slot, its breaks lie inside it, its track is one of the call's fields (or empty = any), and it has
  a room or an online channel. Two sessions in the same *physical* room never overlap (online
  channels are not rooms). A panel member may sit on two overlapping sessions — the host is warned,
  because the solver will then never use both sessions at the same time.
* **Versions.** An event has at most one draft and at most one published version. Every change
  (automatic run, move, swap, a session's times) goes into the draft; when the schedule is
  published, the host's next change starts a new draft copied from it, with every copied placement
  pinned (it is what people already have in their calendars; "unpin all" lets the solver re-plan).
* **Hand edits.** A move or swap is checked with :func:`scheduling.check`; hard errors that touch
  the moved projects are refused (nothing saved), warnings (a track mismatch) are saved and shown.
  A project placed by hand becomes pinned, so the next automatic run keeps it.
* **Publication.** The draft becomes the published version and the previous one is superseded.
  A project keeps its iCalendar UID across versions; its SEQUENCE rises when its slot (time, or
  the session's room / title / channel) changed; a project taken out is sent a cancellation with
  the same UID and a higher SEQUENCE. Only the presenters (contact and presenters' e-mails) of
  changed projects and the panel members of sessions with a change are mailed, each mail keyed
  so a retry or a double click never sends it twice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import icalendar
from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eventhub.core import audit
from eventhub.core.i18n import join_list
from eventhub.core.timeutil import SHANGHAI, to_shanghai, utcnow
from eventhub.core.urls import external_url
from eventhub.core.validators import check_mobile
from eventhub.events.content import PublicSession, publication
from eventhub.events.models import Event, SessionKind, new_uid
from eventhub.events.public import finish_calendar, new_calendar
from eventhub.extensions import db
from eventhub.roadshow import calls, scheduling
from eventhub.roadshow.models import (
    ApplicationStatus,
    PanelMember,
    PanelRole,
    Placement,
    ProjectApplication,
    RoadshowSession,
    ScheduleStatus,
    ScheduleVersion,
)

TITLE_MAX = 200
ROOM_MAX = 200
URL_MAX = 500
CHAIR_MAX = 50
SLOT_MIN, SLOT_MAX = 5, 240  # minutes
BREAKS_MAX = 10
SESSION_FIELDS = ("title", "room", "online_url", "day", "start_time", "end_time", "slot_minutes", "breaks", "track", "chair_name", "event_session_id")
TIME_LIMIT = 4.0  # seconds for the solver (the bound is 5 s for 500 projects × 20 rooms)

ACTION_LABELS = {
    "roadshow_session.create": "新增路演场次",
    "roadshow_session.update": "修改路演场次",
    "roadshow_session.delete": "删除路演场次",
    "roadshow_panel.add": "添加评委/投资人",
    "roadshow_panel.remove": "移除评委/投资人",
    "roadshow_schedule.auto": "自动排期",
    "roadshow_schedule.move": "调整项目时段",
    "roadshow_schedule.swap": "交换项目时段",
    "roadshow_schedule.unpin": "解除固定",
    "roadshow_schedule.publish": "发布日程",
}


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class ScheduleError(ValueError):
    """A refused change: ``errors`` maps a form field (or "") to a Chinese message; ``conflicts``
    are the solver's findings when a hand edit broke a hard rule."""

    def __init__(self, errors: Mapping[str, str] | str, conflicts: Sequence[scheduling.Conflict] = ()) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        self.conflicts = list(conflicts)
        super().__init__("；".join(self.errors.values()))


# ==== sessions ====================================================================================


def sessions_of(event: Event) -> list[RoadshowSession]:
    """The event's road-show sessions by day, start time, room."""
    stmt = select(RoadshowSession).where(RoadshowSession.event_id == event.id)
    return list(db.session.scalars(stmt.order_by(RoadshowSession.day, RoadshowSession.start_time, RoadshowSession.room, RoadshowSession.id)))


def get_session(event: Event, session_id: int) -> RoadshowSession | None:
    session = db.session.get(RoadshowSession, session_id)
    return session if session is not None and session.event_id == event.id else None


def agenda_sessions(event: Event) -> list[PublicSession]:
    """Sessions of kind 路演 in the approved plan: what a road-show session may be linked to."""
    pub = publication(event)
    return [s for s in pub.sessions if s.kind == SessionKind.ROADSHOW.value] if pub is not None else []


def track_choices(event: Event) -> list[str]:
    """The call's fields (what applicants chose from), else the approved plan's need fields."""
    call = calls.get_call(event)
    if call is not None and call.fields:
        return list(call.fields)
    return calls.need_fields(publication(event))


def room_key(room: str) -> str:
    """Rooms compare without case and white space ("一号 厅" and "一号厅" are one room)."""
    return re.sub(r"\s+", "", room or "").casefold()


def _parse_time(value: Any) -> time | None:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = str(value or "").strip().replace("：", ":")
    try:
        return time.fromisoformat(text).replace(second=0, microsecond=0) if text else None
    except ValueError:
        return None


def parse_breaks(text: Any) -> tuple[list[list[str]], str | None]:
    """Breaks typed one per line (or separated by ";" / "，"), "10:30-10:45" → ``[["10:30", "10:45"]]``."""
    items = [f"{a}-{b}" for a, b in text] if isinstance(text, list) else [p.strip() for p in re.split(r"[\n;；,，、]+", str(text or "")) if p.strip()]
    if len(items) > BREAKS_MAX:
        return [], _("休息时段最多 %(n)d 个。", n=BREAKS_MAX)
    out: list[list[str]] = []
    for item in items:
        parts = re.split(r"\s*(?:-|–|—|~|～|至|到)\s*", item)
        start, end = (_parse_time(parts[0]), _parse_time(parts[1])) if len(parts) == 2 else (None, None)
        if start is None or end is None:
            return [], _("休息时段“%(item)s”格式不正确，应为 10:30-10:45。", item=item)
        if end <= start:
            return [], _("休息时段“%(item)s”的结束时间应晚于开始时间。", item=item)
        out.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    out.sort()
    return out, None


def breaks_text(breaks: Sequence[Sequence[str]] | None) -> str:
    return "\n".join(f"{a}-{b}" for a, b in breaks or [])


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=SHANGHAI).astimezone(UTC)


def session_bounds(session: RoadshowSession) -> tuple[datetime, datetime]:
    """The session's start and end as aware UTC."""
    return _local(session.day, session.start_time), _local(session.day, session.end_time)


def session_slots(session: RoadshowSession, panel: Iterable[str] | None = None) -> list[scheduling.Slot]:
    """The session cut into slots (ids "{session_id}:{n}"); ``panel`` are user ids as strings."""
    start, end = session_bounds(session)
    if end <= start or session.slot_minutes <= 0:
        return []
    breaks = [(_local(session.day, time.fromisoformat(a)), _local(session.day, time.fromisoformat(b))) for a, b in session.breaks or []]
    members = [str(m.user_id) for m in session.panel] if panel is None else list(panel)
    return scheduling.make_slots(session.id, session.room or session.online_url, session.track or None, start, end, session.slot_minutes, breaks, members)


def clean_session(event: Event, data: Mapping[str, Any], *, session: RoadshowSession | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a session's fields; returns normalised values and errors keyed by form field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    values["title"] = str(data.get("title") or "").strip()
    if not values["title"]:
        errors["title"] = _("请填写场次名称。")
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = _("场次名称最多 %(n)d 个字符。", n=TITLE_MAX)
    values["room"] = str(data.get("room") or "").strip()
    values["online_url"] = str(data.get("online_url") or "").strip()
    if len(values["room"]) > ROOM_MAX:
        errors["room"] = _("会场名称最多 %(n)d 个字符。", n=ROOM_MAX)
    if values["online_url"] and (len(values["online_url"]) > URL_MAX or not re.match(r"^https?://\S+$", values["online_url"])):
        errors["online_url"] = _("线上链接应以 http:// 或 https:// 开头。")
    if not values["room"] and not values["online_url"]:
        errors["room"] = _("请填写会场，或填写线上直播链接。")
    days = calls.event_days(event)
    raw_day = data.get("day")
    try:
        values["day"] = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day or "").strip())
    except ValueError:
        values["day"] = None
    if values["day"] not in days:
        errors["day"] = _("请选择活动日期内的一天（%(days)s）。", days=join_list(d.isoformat() for d in days))
    values["start_time"] = _parse_time(data.get("start_time"))
    values["end_time"] = _parse_time(data.get("end_time"))
    if values["start_time"] is None:
        errors["start_time"] = _("请填写开始时间（如 14:00）。")
    if values["end_time"] is None:
        errors["end_time"] = _("请填写结束时间（如 17:30）。")
    elif values["start_time"] is not None and values["end_time"] <= values["start_time"]:
        errors["end_time"] = _("结束时间应晚于开始时间。")
    try:
        values["slot_minutes"] = int(str(data.get("slot_minutes") or "").strip())
    except ValueError:
        values["slot_minutes"] = None
    if values["slot_minutes"] is None or not SLOT_MIN <= values["slot_minutes"] <= SLOT_MAX:
        errors["slot_minutes"] = _("每个项目的时长应在 %(low)d–%(high)d 分钟之间。", low=SLOT_MIN, high=SLOT_MAX)
    values["breaks"], break_error = parse_breaks(data.get("breaks"))
    if break_error:
        errors["breaks"] = break_error
    elif values["start_time"] and values["end_time"] and "end_time" not in errors:
        for a, b in values["breaks"]:
            if time.fromisoformat(a) < values["start_time"] or time.fromisoformat(b) > values["end_time"]:
                errors["breaks"] = _("休息时段 %(a)s-%(b)s 不在场次时间内。", a=a, b=b)
                break
    values["track"] = str(data.get("track") or "").strip()
    if values["track"] and values["track"] not in track_choices(event) and not (session is not None and session.track == values["track"]):
        errors["track"] = _("请从征集的技术领域中选择赛道，或留空（不限）。")
    values["chair_name"] = str(data.get("chair_name") or "").strip()
    if len(values["chair_name"]) > CHAIR_MAX:
        errors["chair_name"] = _("主持人姓名最多 %(n)d 个字符。", n=CHAIR_MAX)
    raw_link = str(data.get("event_session_id") or "").strip()
    values["event_session_id"] = None
    if raw_link:
        allowed = {s.id for s in agenda_sessions(event)}
        if raw_link.isdigit() and int(raw_link) in allowed:
            values["event_session_id"] = int(raw_link)
        else:
            errors["event_session_id"] = _("只能关联已审核通过的活动方案中的路演议程。")
    if not errors:
        probe = RoadshowSession(
            id=0,
            event_id=event.id,
            day=values["day"],
            start_time=values["start_time"],
            end_time=values["end_time"],
            slot_minutes=values["slot_minutes"],
            breaks=values["breaks"],
            room="",
            track="",
        )
        if not session_slots(probe, panel=()):
            errors["slot_minutes"] = _("按此时长，场次内排不下任何一个项目。")
        clash = room_clash(event, values["room"], values["day"], values["start_time"], values["end_time"], exclude_id=session.id if session else None)
        if clash is not None:
            errors["room"] = _(
                "会场“%(room)s”在 %(day)s %(start)s–%(end)s 已有场次“%(title)s”，同一会场的场次时间不能重叠。",
                room=clash.room,
                day=clash.day.isoformat(),
                start=clash.start_time.strftime("%H:%M"),
                end=clash.end_time.strftime("%H:%M"),
                title=clash.title,
            )
    return values, errors


def room_clash(event: Event, room: str, day: date, start: time, end: time, *, exclude_id: int | None = None) -> RoadshowSession | None:
    """Another session of the event in the same physical room whose time overlaps (online channels never clash)."""
    key = room_key(room)
    if not key:
        return None
    for other in sessions_of(event):
        if other.id == exclude_id or other.day != day or room_key(other.room) != key:
            continue
        if other.start_time < end and start < other.end_time:
            return other
    return None


def _session_dict(session: RoadshowSession) -> dict[str, Any]:
    return {
        "title": session.title,
        "room": session.room,
        "online_url": session.online_url,
        "track": session.track,
        "day": session.day.isoformat() if session.day else None,
        "start_time": session.start_time.strftime("%H:%M") if session.start_time else None,
        "end_time": session.end_time.strftime("%H:%M") if session.end_time else None,
        "slot_minutes": session.slot_minutes,
        "breaks": session.breaks,
        "chair_name": session.chair_name,
        "event_session_id": session.event_session_id,
    }


def save_session(event: Event, data: Mapping[str, Any], actor: Any, session: RoadshowSession | None = None) -> RoadshowSession:
    """Create or update a session (raises ScheduleError with field errors). When the times change,
    the draft's placements in it keep their slot number where the slot still exists; the others
    are taken out (they show as unplaced). The published version is never touched."""
    values, errors = clean_session(event, data, session=session)
    if errors:
        raise ScheduleError(errors)
    before = _session_dict(session) if session is not None else None
    old_slots = session_slots(session, panel=()) if session is not None else []
    if session is None:
        session = RoadshowSession(event_id=event.id, **values)
        db.session.add(session)
        db.session.flush()
        audit.record("roadshow_session.create", session, after=_session_dict(session), actor=actor)
        return session
    for name, value in values.items():
        setattr(session, name, value)
    db.session.flush()
    new_slots = session_slots(session, panel=())
    if [(s.start, s.end) for s in old_slots] != [(s.start, s.end) for s in new_slots]:
        _remap_draft(event, session, old_slots, new_slots, actor)
    after = _session_dict(session)
    if after != before:
        audit.record("roadshow_session.update", session, before=before, after=after, actor=actor)
    return session


def _remap_draft(event: Event, session: RoadshowSession, old: list[scheduling.Slot], new: list[scheduling.Slot], actor: Any) -> None:
    published = current_published(event)
    if get_draft(event) is None and (published is None or not any(p.session_id == session.id for p in published.placements)):
        return
    draft = ensure_draft(event, actor)
    number_of = {s.start: n for n, s in enumerate(old)}
    wanted = _wanted(draft)
    for placement in draft.placements:
        if placement.session_id != session.id:
            continue
        n = number_of.get(placement.starts_at)
        if n is None or n >= len(new):
            wanted.pop(placement.application_id)
        else:
            wanted[placement.application_id] = (session.id, new[n].start, new[n].end)
    _set_placements(draft, wanted, {p.application_id for p in draft.placements if p.pinned})


def can_delete_session(event: Event, session: RoadshowSession) -> bool:
    """A session used by the published schedule cannot be deleted (take its projects out and publish first)."""
    published = current_published(event)
    return published is None or not any(p.session_id == session.id for p in published.placements)


def delete_session(event: Event, session: RoadshowSession, actor: Any) -> None:
    if not can_delete_session(event, session):
        raise ScheduleError(_("已发布的日程中还有项目安排在该场次，请先在草稿中移出这些项目并重新发布，再删除场次。"))
    audit.record("roadshow_session.delete", session, before=_session_dict(session), actor=actor)
    db.session.delete(session)
    db.session.flush()
    draft = get_draft(event)
    if draft is not None:
        db.session.expire(draft, ["placements"])


# ==== panels ======================================================================================

ROLES_FOR = {
    PanelRole.JUDGE.value: ("reviewer",),  # 评委: experts (they score in the judging engine)
    PanelRole.INVESTOR.value: ("participant", "reviewer"),  # 投资人: investors registered as participants, or experts
}


def find_user(email: str) -> Any:
    from eventhub.auth.models import User

    address = (email or "").strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == address)) if address else None


def add_panel_member(session: RoadshowSession, user: Any, role: str, actor: Any) -> PanelMember:
    """Put ``user`` on the panel: a judge must be a reviewer; an investor a participant or reviewer."""
    if role not in ROLES_FOR:
        raise ScheduleError({"role": _("请选择评委或投资人。")})
    if user is None or not user.active:
        raise ScheduleError({"email": _("找不到该邮箱对应的有效账号。")})
    if user.role not in ROLES_FOR[role]:
        message = _("评委须为评审专家账号。") if role == PanelRole.JUDGE.value else _("投资人须为参与者或评审专家账号。")
        raise ScheduleError({"email": message})
    if any(m.user_id == user.id for m in session.panel):
        raise ScheduleError({"email": _("%(name)s 已在本场次的评审团中。", name=user.name)})
    member = PanelMember(session=session, user_id=user.id, role=role)
    db.session.add(member)
    db.session.flush()
    audit.record("roadshow_panel.add", session, after={"user": user.email, "role": role}, actor=actor)
    return member


def remove_panel_member(member: PanelMember, actor: Any) -> None:
    session = member.session
    audit.record("roadshow_panel.remove", session, before={"user": member.user.email, "role": member.role}, actor=actor)
    session.panel.remove(member)
    db.session.flush()


@dataclass(frozen=True)
class PanelOverlap:
    """A panel member on two sessions whose times overlap: the solver never uses both at once."""

    user: Any
    first: RoadshowSession
    second: RoadshowSession


def panel_overlaps(event: Event, sessions: Sequence[RoadshowSession] | None = None) -> list[PanelOverlap]:
    sessions = sessions_of(event) if sessions is None else sessions
    by_user: dict[int, list[tuple[RoadshowSession, Any]]] = defaultdict(list)
    for session in sessions:
        for member in session.panel:
            by_user[member.user_id].append((session, member.user))
    out: list[PanelOverlap] = []
    for entries in by_user.values():
        for i, (a, user) in enumerate(entries):
            a_start, a_end = session_bounds(a)
            for b, _user in entries[i + 1 :]:
                b_start, b_end = session_bounds(b)
                if a_start < b_end and b_start < a_end:
                    out.append(PanelOverlap(user, a, b))
    return out


# ==== models → solver =============================================================================


def slots_for(event: Event, sessions: Sequence[RoadshowSession] | None = None) -> list[scheduling.Slot]:
    """Every slot of the event's sessions, in session order."""
    return [slot for session in (sessions_of(event) if sessions is None else sessions) for slot in session_slots(session)]


def shortlisted(event: Event) -> list[ProjectApplication]:
    """Shortlisted applications in priority order: the pre-screen ranking when there is one, then by submission."""
    apps = list(
        db.session.scalars(
            select(ProjectApplication)
            .where(ProjectApplication.event_id == event.id, ProjectApplication.status == ApplicationStatus.SHORTLISTED.value)
            .order_by(ProjectApplication.id)
        )
    )
    call = calls.get_call(event)
    ranking = calls.prescreen_ranking(call) if call is not None and call.prescreen_round_id else {}
    if ranking:
        apps.sort(
            key=lambda a: (ranking.get(a.id) is None or ranking[a.id].rank is None, ranking[a.id].rank if a.id in ranking and ranking[a.id].rank else 0, a.id)
        )
    return apps


def person_key(mobile: str) -> str:
    """A presenter is recognised by the normalised mobile number (one person, several projects)."""
    try:
        return check_mobile(mobile)
    except ValueError:
        return re.sub(r"\D", "", mobile or "")


def presenter_keys(application: ProjectApplication) -> frozenset[str]:
    keys = {person_key(p.get("mobile", "")) for p in application.presenters or []}
    keys.discard("")
    return frozenset(keys or {person_key(application.contact_mobile) or f"application-{application.id}"})


def unavailable_of(application: ProjectApplication) -> tuple[tuple[datetime, datetime], ...]:
    out = []
    for pair in application.unavailable or []:
        try:
            start, end = (datetime.fromisoformat(v) for v in pair)
        except (TypeError, ValueError):
            continue
        if start.tzinfo is None:
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
        out.append((start, end))
    return tuple(out)


def slot_index(slots: Iterable[scheduling.Slot]) -> dict[tuple[Hashable, datetime], scheduling.Slot]:
    """(session id, start) → slot: how a stored placement finds its slot."""
    return {(s.session_id, s.start): s for s in slots}


def placement_slot_ids(version: ScheduleVersion | None, slots: Iterable[scheduling.Slot]) -> dict[int, Hashable]:
    """application id → slot id of a version's placements (a placement whose slot no longer exists
    gets a synthetic id, which :func:`scheduling.check` reports as an unknown slot)."""
    if version is None:
        return {}
    index = slot_index(slots)
    out: dict[int, Hashable] = {}
    for p in version.placements:
        slot = index.get((p.session_id, p.starts_at))
        out[p.application_id] = slot.id if slot is not None else f"{p.session_id}:?{p.id}"
    return out


def projects_for(
    event: Event, applications: Sequence[ProjectApplication] | None = None, slots: Sequence[scheduling.Slot] | None = None
) -> list[scheduling.Project]:
    """Shortlisted projects as solver values, in priority order, with the draft's pins."""
    applications = shortlisted(event) if applications is None else applications
    draft = get_draft(event)
    pins: dict[int, Hashable] = {}
    if draft is not None:
        index = slot_index(slots_for(event) if slots is None else slots)
        for p in draft.placements:
            slot = index.get((p.session_id, p.starts_at))
            if p.pinned and slot is not None:
                pins[p.application_id] = slot.id
    return [
        scheduling.Project(
            id=a.id,
            presenters=presenter_keys(a),
            field=a.field or None,
            unavailable=unavailable_of(a),
            pinned_slot=pins.get(a.id),
        )
        for a in applications
    ]


# ==== versions ====================================================================================


def versions(event: Event) -> list[ScheduleVersion]:
    return list(db.session.scalars(select(ScheduleVersion).where(ScheduleVersion.event_id == event.id).order_by(ScheduleVersion.number.desc())))


def get_draft(event: Event) -> ScheduleVersion | None:
    stmt = select(ScheduleVersion).where(ScheduleVersion.event_id == event.id, ScheduleVersion.status == ScheduleStatus.DRAFT.value)
    return db.session.scalar(stmt.order_by(ScheduleVersion.number.desc()).limit(1))


def current_published(event: Event) -> ScheduleVersion | None:
    stmt = select(ScheduleVersion).where(ScheduleVersion.event_id == event.id, ScheduleVersion.status == ScheduleStatus.PUBLISHED.value)
    return db.session.scalar(stmt.order_by(ScheduleVersion.number.desc()).limit(1))


def ensure_draft(event: Event, actor: Any = None) -> ScheduleVersion:
    """The event's draft, created on the first change: empty, or a pinned copy of the published version.

    The decision and the new number come from one read of the event's versions. Two hosts
    starting at the same moment then insert the same number; the unique (event, number)
    constraint refuses the second, which reads again and works on the winner's draft. (Reading
    "no draft" and then ``max + 1`` in a second statement let a host that saw the other's
    commit in between open a second draft.)
    """
    for _attempt in range(3):
        existing = versions(event)
        draft = next((v for v in existing if v.status == ScheduleStatus.DRAFT.value), None)
        if draft is not None:
            return draft
        published = next((v for v in existing if v.status == ScheduleStatus.PUBLISHED.value), None)
        draft = ScheduleVersion(event_id=event.id, number=(existing[0].number + 1) if existing else 1, status=ScheduleStatus.DRAFT.value, report={})
        if published is not None:
            for p in published.placements:
                draft.placements.append(
                    Placement(
                        application_id=p.application_id,
                        session_id=p.session_id,
                        starts_at=p.starts_at,
                        ends_at=p.ends_at,
                        pinned=True,
                        uid=p.uid,
                        sequence=p.sequence,
                    )
                )
        try:
            with db.session.begin_nested():
                db.session.add(draft)
        except IntegrityError:
            continue  # another host opened this draft a moment ago: read again and use theirs
        return draft
    raise RuntimeError(f"could not open a schedule draft for event {event.id}")


SlotKey = tuple[int, datetime, datetime]  # (session id, start, end)


def _wanted(draft: ScheduleVersion) -> dict[int, SlotKey]:
    return {p.application_id: (p.session_id, p.starts_at, p.ends_at) for p in draft.placements}


def _key_of(slot: scheduling.Slot) -> SlotKey:
    return (int(slot.session_id), slot.start, slot.end)


def _set_placements(draft: ScheduleVersion, wanted: Mapping[int, SlotKey], pinned: set[int]) -> None:
    """Make the draft's placements exactly ``wanted`` (application id → slot), keeping each project's
    UID/SEQUENCE. Rows that change are deleted before new ones are inserted, so the unique
    (version, session, start) constraint never sees two projects in one slot mid-way."""
    current = {p.application_id: p for p in draft.placements}
    kept: dict[int, tuple[str, int]] = {}
    for app_id, p in current.items():
        key = wanted.get(app_id)
        if key is not None and (p.session_id, p.starts_at, p.ends_at) == key:
            p.pinned = app_id in pinned
            continue
        kept[app_id] = (p.uid, p.sequence)
        draft.placements.remove(p)
    db.session.flush()
    present = {p.application_id for p in draft.placements}
    for app_id, (session_id, start, end) in wanted.items():
        if app_id in present:
            continue
        uid, sequence = kept.get(app_id, (new_uid(), 0))
        draft.placements.append(
            Placement(application_id=app_id, session_id=session_id, starts_at=start, ends_at=end, pinned=app_id in pinned, uid=uid, sequence=sequence)
        )
    db.session.flush()
    db.session.expire(draft, ["placements"])


def auto_schedule(event: Event, actor: Any, *, time_limit: float = TIME_LIMIT) -> scheduling.ScheduleResult:
    """Run the solver on the draft: pinned placements stay (when still valid), the rest is replaced;
    the report (unplaced with reasons, mismatches, load) is stored on the draft."""
    draft = ensure_draft(event, actor)
    sessions = sessions_of(event)
    slots = slots_for(event, sessions)
    applications = shortlisted(event)
    projects = projects_for(event, applications, slots)
    result = scheduling.schedule(slots, projects, time_limit=time_limit)
    slot_by_id = {s.id: s for s in slots}
    pinned = {p.id for p in projects if p.pinned_slot is not None and p.id not in result.dropped_pins}
    _set_placements(draft, {app_id: _key_of(slot_by_id[slot_id]) for app_id, slot_id in result.placements.items()}, pinned)
    names = {a.id: a.project_name for a in applications}
    draft.report = {
        "ran_at": utcnow().isoformat(),
        "by": getattr(actor, "name", None),
        "projects": len(projects),
        "slots": len(slots),
        "placed": result.placed,
        "unplaced": {
            str(app_id): {"code": u.code, "message": u.message, "others": [names.get(o, str(o)) for o in u.others]} for app_id, u in result.unplaced.items()
        },
        "dropped_pins": {str(app_id): c.message for app_id, c in result.dropped_pins.items()},
        "mismatches": result.track_mismatches,
        "load": {str(sid): [result.load.get(sid, 0), result.capacity.get(sid, 0)] for sid in result.capacity},
        "complete": result.complete,
        "elapsed": round(result.elapsed, 3),
    }
    audit.record(
        "roadshow_schedule.auto",
        draft,
        after={"number": draft.number, "placed": result.placed, "unplaced": len(result.unplaced), "mismatches": result.track_mismatches},
        actor=actor,
    )
    return result


# ---- hand edits ---------------------------------------------------------------------------------


@dataclass
class EditContext:
    """What a hand edit is checked against: the slots, the projects and the draft's placements."""

    slots: list[scheduling.Slot]
    projects: list[scheduling.Project]
    placements: dict[int, Hashable]

    @property
    def slot_by_id(self) -> dict[Hashable, scheduling.Slot]:
        return {s.id: s for s in self.slots}


def edit_context(event: Event) -> EditContext:
    slots = slots_for(event)
    draft = get_draft(event) or current_published(event)
    applications = shortlisted(event)
    shortlisted_ids = {a.id for a in applications}
    placements = {k: v for k, v in placement_slot_ids(draft, slots).items() if k in shortlisted_ids}
    return EditContext(slots, projects_for(event, applications, slots), placements)


def conflicts_touching(conflicts: Iterable[scheduling.Conflict], project_ids: Iterable[Hashable]) -> list[scheduling.Conflict]:
    ids = set(project_ids)
    return [c for c in conflicts if ids & set(c.projects)]


def _normal_slot_id(slot_id: Any) -> Hashable | None:
    return None if slot_id in (None, "") else str(slot_id)


def preview_move(ctx: EditContext, application_id: int, slot_id: Any) -> list[scheduling.Conflict]:
    """The conflicts that moving the project into ``slot_id`` (None: out of the schedule) would touch."""
    after = scheduling.move(ctx.placements, application_id, _normal_slot_id(slot_id))
    return conflicts_touching(scheduling.check(after, ctx.slots, ctx.projects), [application_id])


def preview_swap(ctx: EditContext, first: int, second: int) -> list[scheduling.Conflict]:
    after = scheduling.swap(ctx.placements, first, second)
    return conflicts_touching(scheduling.check(after, ctx.slots, ctx.projects), [first, second])


def errors_of(conflicts: Iterable[scheduling.Conflict]) -> list[scheduling.Conflict]:
    return [c for c in conflicts if c.level == scheduling.ERROR]


def _shortlisted_or_error(ctx: EditContext, application: ProjectApplication) -> None:
    if application.status != ApplicationStatus.SHORTLISTED.value or not any(p.id == application.id for p in ctx.projects):
        raise ScheduleError(_("只有入围项目可以排入日程。"))


def move_placement(event: Event, application: ProjectApplication, slot_id: Any, actor: Any) -> list[scheduling.Conflict]:
    """Move one project into a slot (or out of the schedule with None), pinned. Hard errors touching
    it refuse the move (ScheduleError with the conflicts); warnings are saved and returned."""
    ctx = edit_context(event)
    _shortlisted_or_error(ctx, application)
    slot_id = _normal_slot_id(slot_id)
    if slot_id is not None and slot_id not in ctx.slot_by_id:
        raise ScheduleError(_("所选时段不存在，请刷新页面后重试。"))
    conflicts = preview_move(ctx, application.id, slot_id)
    if errors_of(conflicts):
        raise ScheduleError(_("调整未保存：%(why)s", why="；".join(c.message for c in errors_of(conflicts))), conflicts)
    draft = ensure_draft(event, actor)
    wanted = _wanted(draft)
    pinned = {p.application_id for p in draft.placements if p.pinned}
    if slot_id is None:
        wanted.pop(application.id, None)
        pinned.discard(application.id)
    else:
        wanted[application.id] = _key_of(ctx.slot_by_id[slot_id])
        pinned.add(application.id)
    _set_placements(draft, wanted, pinned)
    before_slot = ctx.placements.get(application.id)
    audit.record("roadshow_schedule.move", application, before={"slot": before_slot}, after={"slot": slot_id, "draft": draft.number}, actor=actor)
    return conflicts


def swap_placements(event: Event, first: ProjectApplication, second: ProjectApplication, actor: Any) -> list[scheduling.Conflict]:
    """Exchange two projects' slots (one may be unplaced), both pinned; refused on hard errors."""
    ctx = edit_context(event)
    _shortlisted_or_error(ctx, first)
    _shortlisted_or_error(ctx, second)
    if first.id == second.id:
        raise ScheduleError(_("请选择另一个项目进行交换。"))
    conflicts = preview_swap(ctx, first.id, second.id)
    if errors_of(conflicts):
        raise ScheduleError(_("交换未保存：%(why)s", why="；".join(c.message for c in errors_of(conflicts))), conflicts)
    draft = ensure_draft(event, actor)
    after = scheduling.swap(ctx.placements, first.id, second.id)
    wanted = _wanted(draft)
    pinned = {p.application_id for p in draft.placements if p.pinned}
    for app in (first, second):
        if app.id in after:
            wanted[app.id] = _key_of(ctx.slot_by_id[after[app.id]])
            pinned.add(app.id)
        else:
            wanted.pop(app.id, None)
            pinned.discard(app.id)
    _set_placements(draft, wanted, pinned)
    audit.record(
        "roadshow_schedule.swap",
        draft,
        before={str(first.id): ctx.placements.get(first.id), str(second.id): ctx.placements.get(second.id)},
        after={str(first.id): after.get(first.id), str(second.id): after.get(second.id)},
        actor=actor,
    )
    return conflicts


def unpin_all(event: Event, actor: Any) -> int:
    draft = get_draft(event)
    if draft is None:
        return 0
    count = 0
    for p in draft.placements:
        if p.pinned:
            p.pinned = False
            count += 1
    audit.record("roadshow_schedule.unpin", draft, after={"unpinned": count}, actor=actor)
    db.session.flush()
    return count


# ==== publication =================================================================================


def _slot_key(p: Placement) -> tuple[int, datetime, datetime]:
    return (p.session_id, p.starts_at, p.ends_at)


def _session_face(session: RoadshowSession) -> dict[str, str]:
    """What a presenter sees of the session: a change here is a change of their slot."""
    return {"title": session.title, "room": session.room, "online_url": session.online_url}


@dataclass
class PublishPlan:
    """What publishing the draft would change and who would be told (shown before confirming)."""

    draft: ScheduleVersion
    previous: ScheduleVersion | None
    changed: list[Placement] = field(default_factory=list)  # new or moved placements (in the draft)
    unchanged: list[Placement] = field(default_factory=list)
    removed: list[Placement] = field(default_factory=list)  # placements of the previous version now gone
    sequences: dict[int, tuple[str, int]] = field(default_factory=dict)  # application id → (uid, sequence) in the draft
    panel: dict[int, tuple[Any, list[RoadshowSession]]] = field(default_factory=dict)  # user id → (user, changed sessions they sit on)

    def recipients(self, application: ProjectApplication) -> list[str]:
        return presenter_emails(application)

    @property
    def presenter_mail_count(self) -> int:
        return sum(len(presenter_emails(p.application)) for p in self.changed + self.removed)


def presenter_emails(application: ProjectApplication) -> list[str]:
    """The contact's and every presenter's e-mail, each once (case-insensitive), contact first."""
    out: list[str] = []
    for address in [application.contact_email] + [p.get("email", "") for p in application.presenters or []]:
        address = (address or "").strip()
        if address and address.lower() not in {a.lower() for a in out}:
            out.append(address)
    return out


def _prior_placement(event: Event, application_id: int, before_number: int) -> Placement | None:
    """The project's latest placement in an earlier published (now superseded) version."""
    stmt = (
        select(Placement)
        .join(ScheduleVersion, Placement.version_id == ScheduleVersion.id)
        .where(
            ScheduleVersion.event_id == event.id,
            ScheduleVersion.number < before_number,
            ScheduleVersion.status != ScheduleStatus.DRAFT.value,
            Placement.application_id == application_id,
        )
        .order_by(ScheduleVersion.number.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def plan_publication(event: Event, draft: ScheduleVersion) -> PublishPlan:
    """Compare the draft with the published version: who changed, which UIDs and SEQUENCEs they get."""
    previous = current_published(event)
    plan = PublishPlan(draft=draft, previous=previous)
    old = {p.application_id: p for p in previous.placements} if previous is not None else {}
    faces = (previous.report or {}).get("sessions", {}) if previous is not None else {}
    sessions = {s.id: s for s in sessions_of(event)}
    changed_sessions: set[int] = set()
    for p in draft.placements:
        before = old.get(p.application_id)
        session = sessions.get(p.session_id)
        if before is not None:
            same = _slot_key(before) == _slot_key(p) and (session is None or faces.get(str(p.session_id), _session_face(session)) == _session_face(session))
            if same:
                plan.unchanged.append(p)
                plan.sequences[p.application_id] = (before.uid, before.sequence)
                continue
            plan.sequences[p.application_id] = (before.uid, before.sequence + 1)
            changed_sessions.update({before.session_id, p.session_id})
        else:
            prior = _prior_placement(event, p.application_id, draft.number)
            # a project taken out earlier was sent a cancellation at prior.sequence + 1
            plan.sequences[p.application_id] = (prior.uid, prior.sequence + 2) if prior is not None else (p.uid, 0)
            changed_sessions.add(p.session_id)
        plan.changed.append(p)
    in_draft = {p.application_id for p in draft.placements}
    for app_id, before in old.items():
        if app_id not in in_draft:
            plan.removed.append(before)
            changed_sessions.add(before.session_id)
    # panel members who joined a session (with projects) since the last publication see it as new
    old_panels = (previous.report or {}).get("panels", {}) if previous is not None else {}
    used = {p.session_id for p in draft.placements}
    for sid, session in sessions.items():
        for member in session.panel:
            joined = member.user_id not in old_panels.get(str(sid), [])
            if sid in changed_sessions or (joined and sid in used):
                entry = plan.panel.setdefault(member.user_id, (member.user, []))
                if session not in entry[1]:
                    entry[1].append(session)
    return plan


ICS_CONTENT_TYPE = "text/calendar; method={method}; charset=utf-8"


def _organizer(event: Event) -> tuple[str, dict[str, str]]:
    base = event.host_base
    address = base.contact_email if base is not None and base.contact_email else "noreply@eventhub.invalid"
    return f"mailto:{address}", {"CN": base.name if base is not None else event.title}


def placement_vevent(
    event: Event, application: ProjectApplication, session: RoadshowSession, start: datetime, end: datetime, uid: str, sequence: int, *, cancelled: bool
) -> icalendar.Event:
    """One project's pitch slot as a VEVENT in Asia/Shanghai."""
    item = icalendar.Event()
    item.add("uid", uid)
    item.add("summary", f"路演：{application.project_name}｜{event.title}")
    item.add("dtstart", start.astimezone(SHANGHAI))
    item.add("dtend", end.astimezone(SHANGHAI))
    item.add("dtstamp", utcnow())
    item.add("sequence", sequence)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    address, params = _organizer(event)
    item.add("organizer", address, parameters=params)
    location = session.room or session.online_url
    if location:
        item.add("location", location)
    lines = [f"{session.title}（{session.room or _('线上')}）", f"{application.org_name} · {application.project_name}"]
    if session.online_url:
        lines.append(f"线上链接：{session.online_url}")
    lines.append(external_url("roadshow.public_agenda", event_id=event.id))
    item.add("description", "\n".join(lines))
    return item


def placement_ics(
    event: Event, application: ProjectApplication, session: RoadshowSession, start: datetime, end: datetime, uid: str, sequence: int, *, cancelled: bool
) -> bytes:
    """A one-event calendar: METHOD:PUBLISH for a (changed) slot, METHOD:CANCEL for a removed one."""
    cal = new_calendar(f"{application.project_name}｜{event.title}")
    if cancelled:
        cal["method"] = "CANCEL"
    cal.add_component(placement_vevent(event, application, session, start, end, uid, sequence, cancelled=cancelled))
    return finish_calendar(cal, [to_shanghai(start).year])


def panel_ics(event: Event, sessions: Sequence[RoadshowSession], order: Mapping[int, list[Placement]], version_number: int) -> bytes:
    """A panel member's changed sessions: one VEVENT per session (UID per session, SEQUENCE = version
    number so it rises with each publication), the run order in the description; a session left
    without projects is CANCELLED."""
    cal = new_calendar(f"路演评审｜{event.title}")
    address, params = _organizer(event)
    for session in sessions:
        start, end = session_bounds(session)
        item = icalendar.Event()
        item.add("uid", f"roadshow-session-{session.id}-{event.uid}")
        item.add("summary", f"路演评审：{session.title}｜{event.title}")
        item.add("dtstart", start.astimezone(SHANGHAI))
        item.add("dtend", end.astimezone(SHANGHAI))
        item.add("dtstamp", utcnow())
        item.add("sequence", version_number)
        item.add("status", "CONFIRMED" if order.get(session.id) else "CANCELLED")
        item.add("organizer", address, parameters=params)
        if session.room or session.online_url:
            item.add("location", session.room or session.online_url)
        lines = [f"{to_shanghai(p.starts_at):%H:%M} {p.application.project_name}（{p.application.org_name}）" for p in order.get(session.id, [])]
        item.add("description", "\n".join(lines))
        cal.add_component(item)
    return finish_calendar(cal, [event.start_date.year])


@dataclass
class PublishOutcome:
    version: ScheduleVersion
    changed: int
    removed: int
    mails: int


def publish(event: Event, draft: ScheduleVersion, actor: Any) -> PublishOutcome:
    """Publish the draft: previous → superseded; UIDs kept, SEQUENCE +1 where the slot changed; mail
    (with an .ics) only the presenters and panel members whose slots changed; audited."""
    if draft.status != ScheduleStatus.DRAFT.value or draft.event_id != event.id:
        raise ScheduleError(_("只能发布草稿。"))
    ctx = edit_context(event)
    hard = errors_of(scheduling.check(ctx.placements, ctx.slots, ctx.projects))
    if hard:
        raise ScheduleError(_("草稿中仍有冲突，请先处理：%(why)s", why="；".join(dict.fromkeys(c.message for c in hard))), hard)
    not_shortlisted = [p for p in draft.placements if p.application.status != ApplicationStatus.SHORTLISTED.value]
    for p in not_shortlisted:  # withdrawn / declined since they were placed: they leave the schedule
        draft.placements.remove(p)
    db.session.flush()
    plan = plan_publication(event, draft)
    for p in draft.placements:
        p.uid, p.sequence = plan.sequences[p.application_id]
    now = utcnow()
    previous = plan.previous
    if previous is not None:
        previous.status = ScheduleStatus.SUPERSEDED.value
        db.session.flush()
    draft.status = ScheduleStatus.PUBLISHED.value
    draft.published_at = now
    draft.published_by_id = getattr(actor, "id", None)
    sessions = {s.id: s for s in sessions_of(event)}
    draft.report = {
        **(draft.report or {}),
        "sessions": {str(sid): _session_face(s) for sid, s in sessions.items()},
        "panels": {str(sid): [m.user_id for m in s.panel] for sid, s in sessions.items()},
        "published": {
            "changed": [p.application_id for p in plan.changed],
            "removed": [p.application_id for p in plan.removed],
            "panel": sorted(plan.panel),
        },
    }
    db.session.flush()
    mails = _send_publication_mail(event, draft, plan, sessions)
    audit.record(
        "roadshow_schedule.publish",
        draft,
        before={"published": previous.number if previous is not None else None},
        after={"number": draft.number, "changed": len(plan.changed), "removed": len(plan.removed), "panel": len(plan.panel), "mails": mails},
        actor=actor,
    )
    return PublishOutcome(draft, len(plan.changed), len(plan.removed), mails)


def _send_publication_mail(event: Event, version: ScheduleVersion, plan: PublishPlan, sessions: Mapping[int, RoadshowSession]) -> int:
    from eventhub.core.mail import send_mail

    sent = 0
    agenda_url = external_url("roadshow.public_agenda", event_id=event.id)
    for p in plan.changed:
        session = sessions[p.session_id]
        data = placement_ics(event, p.application, session, p.starts_at, p.ends_at, p.uid, p.sequence, cancelled=False)
        attachment = ("roadshow.ics", ICS_CONTENT_TYPE.format(method="PUBLISH"), data)
        for n, address in enumerate(presenter_emails(p.application)):
            row = send_mail(
                address,
                "roadshow_schedule_slot",
                key=f"roadshow-schedule:{version.id}:{p.application_id}:{n}",
                locale=p.application.locale,
                attachments=[attachment],
                application=p.application,
                event=event,
                session=session,
                placement=p,
                first=p.sequence == 0,
                agenda_url=agenda_url,
            )
            sent += row is not None
    for before in plan.removed:
        session = sessions.get(before.session_id) or before.session
        data = placement_ics(event, before.application, session, before.starts_at, before.ends_at, before.uid, before.sequence + 1, cancelled=True)
        attachment = ("roadshow-cancelled.ics", ICS_CONTENT_TYPE.format(method="CANCEL"), data)
        for n, address in enumerate(presenter_emails(before.application)):
            row = send_mail(
                address,
                "roadshow_schedule_cancelled",
                key=f"roadshow-schedule:{version.id}:{before.application_id}:{n}",
                locale=before.application.locale,
                attachments=[attachment],
                application=before.application,
                event=event,
                session=session,
                placement=before,
            )
            sent += row is not None
    order: dict[int, list[Placement]] = defaultdict(list)
    for p in sorted(version.placements, key=lambda x: x.starts_at):
        order[p.session_id].append(p)
    for user_id, (user, changed_sessions) in plan.panel.items():
        changed_sessions = sorted(changed_sessions, key=lambda s: (s.day, s.start_time))
        data = panel_ics(event, changed_sessions, order, version.number)
        row = send_mail(
            user.email,
            "roadshow_schedule_panel",
            key=f"roadshow-schedule-panel:{version.id}:{user_id}",
            attachments=[("roadshow-panel.ics", ICS_CONTENT_TYPE.format(method="PUBLISH"), data)],
            user=user,
            event=event,
            sessions=changed_sessions,
            order=order,
            agenda_url=agenda_url,
        )
        sent += row is not None
    return sent


# ==== what pages read =============================================================================


@dataclass
class SlotRow:
    slot: scheduling.Slot
    placement: Placement | None


def session_rows(session: RoadshowSession, version: ScheduleVersion | None) -> list[SlotRow]:
    """Every slot of the session with the version's project in it (None: empty)."""
    by_start = {p.starts_at: p for p in version.placements if p.session_id == session.id} if version is not None else {}
    return [SlotRow(slot, by_start.get(slot.start)) for slot in session_slots(session)]


def stale_placements(session: RoadshowSession, version: ScheduleVersion | None) -> list[Placement]:
    """Placements of the version in this session that match no slot any more (times edited)."""
    if version is None:
        return []
    starts = {s.start for s in session_slots(session)}
    return [p for p in version.placements if p.session_id == session.id and p.starts_at not in starts]


@dataclass
class AgendaSession:
    session: RoadshowSession
    placements: list[Placement]


def public_agenda(event: Event) -> tuple[ScheduleVersion | None, list[tuple[date, list[AgendaSession]]]]:
    """The published version only, by day and session (room); sessions without projects are left out."""
    version = current_published(event)
    if version is None:
        return None, []
    by_session: dict[int, list[Placement]] = defaultdict(list)
    for p in version.placements:
        by_session[p.session_id].append(p)
    days: dict[date, list[AgendaSession]] = defaultdict(list)
    for session in sessions_of(event):
        if by_session.get(session.id):
            days[session.day].append(AgendaSession(session, sorted(by_session[session.id], key=lambda p: p.starts_at)))
    return version, sorted(days.items())
