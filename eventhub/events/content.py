"""What a detailed plan says, frozen: the version snapshot and the approved publication.

The working copy (rows in ``detail_plans``, ``event_sessions``, ``tech_needs``…) is what the
host edits. Every submission freezes it into a JSON snapshot (:func:`build_snapshot`). Public
pages, feeds and the answer form read only the *approved* snapshot (:func:`publication`), so a
draft never leaks, even while the host revises an approved plan.

At approval :func:`publish_version` gives sessions their iCalendar SEQUENCE: a session whose
content changed since the previous approved version gets SEQUENCE + 1; a session that is gone
is kept in ``cancelled_sessions`` (STATUS:CANCELLED) so subscribed calendars drop it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from eventhub.core.timeutil import SHANGHAI, as_utc
from eventhub.events.models import (
    APPROVAL_MODE_LABELS,
    RESOURCE_KIND_LABELS,
    SESSION_ACCESS_LABELS,
    SESSION_KIND_LABELS,
    ApprovalMode,
    DetailPlan,
    Event,
    EventSession,
    ResourceKind,
    SessionAccess,
    SessionKind,
)
from eventhub.extensions import db

SNAPSHOT_FORMAT = 1

# Session fields whose change makes calendar clients update the entry (SEQUENCE + 1).
SESSION_ICAL_FIELDS = ("title", "kind", "day", "start", "end", "venue", "online_url", "access", "description")


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def session_dict(session: EventSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "uid": session.uid,
        "sequence": session.sequence,
        "title": session.title,
        "kind": session.kind,
        "day": session.day.isoformat(),
        "start": session.start_time.strftime("%H:%M"),
        "end": session.end_time.strftime("%H:%M"),
        "venue": session.venue,
        "online_url": session.online_url,
        "access": session.access,
        "content_types": list(session.content_types or []),
        "description": session.description,
        "capacity": session.capacity,
    }


def build_snapshot(plan: DetailPlan) -> dict[str, Any]:
    """The whole working copy as JSON-safe data (stored in a ``DetailPlanVersion``)."""
    event = plan.event
    return {
        "format": SNAPSHOT_FORMAT,
        "title": detail_plan_title(event),
        "goals": plan.goals,
        "venue": plan.venue,
        "emergency_plan": plan.emergency_plan,
        "registration": {
            "capacity": plan.registration_capacity,
            "opens_at": _iso(plan.registration_opens_at),
            "closes_at": _iso(plan.registration_closes_at),
            "approval_mode": plan.approval_mode,
        },
        "sessions": [session_dict(s) for s in plan.sessions],
        "bases": [{"base_id": b.base_id, "name": b.base.name, "short_name": b.base.display_short_name, "role": b.role} for b in plan.bases],
        "needs": [
            {
                "id": n.id,
                "title": n.title,
                "field": n.field,
                "description": n.description,
                "expected_result": n.expected_result,
                "budget_min": n.budget_min,
                "budget_max": n.budget_max,
                "response_deadline": _iso(n.response_deadline),
            }
            for n in plan.needs
        ],
        "resources": [{"id": r.id, "name": r.name, "kind": r.kind, "description": r.description, "access_terms": r.access_terms} for r in plan.resources],
        "attachments": [{"id": a.id, "file_id": a.file_id, "title": a.title, "filename": a.file.original_name, "size": a.file.size} for a in plan.attachments],
        "cancelled_sessions": [],
    }


def detail_plan_title(event: Event) -> str:
    """“{简称}融通创新主题日活动方案” — the short name comes from the registry."""
    base = event.host_base
    short = (base.short_name or "").strip() if base is not None else ""
    return f"{short}融通创新主题日活动方案" if short else "融通创新主题日活动方案"


# ---- approval ---------------------------------------------------------------------------


def _ical_key(session: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(session.get(name) for name in SESSION_ICAL_FIELDS)


def publish_version(plan: DetailPlan, snapshot: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The snapshot as it will be published: SEQUENCE raised where sessions changed, removed ones cancelled.

    Also writes the new SEQUENCE back to the ``EventSession`` rows, so the next version starts
    from it. The caller stores the returned dict on the approved version.
    """
    published = dict(snapshot)
    before = {s["uid"]: s for s in (previous or {}).get("sessions", [])}
    rows = {s.uid: s for s in plan.sessions}
    sessions = []
    for item in snapshot.get("sessions", []):
        item = dict(item)
        old = before.get(item["uid"])
        sequence = max(int(item.get("sequence") or 0), int(old["sequence"]) if old else 0)
        if old is not None and _ical_key(old) != _ical_key(item):
            sequence += 1
        item["sequence"] = sequence
        row = rows.get(item["uid"])
        if row is not None and row.sequence != sequence:
            row.sequence = sequence
        sessions.append(item)
    published["sessions"] = sessions
    now_uids = {s["uid"] for s in sessions}
    cancelled = [c for c in (previous or {}).get("cancelled_sessions", []) if c["uid"] not in now_uids]
    for uid, old in before.items():
        if uid not in now_uids:
            gone = dict(old)
            gone["sequence"] = int(old.get("sequence") or 0) + 1
            cancelled.append(gone)
    published["cancelled_sessions"] = cancelled
    return published


# ---- reading the publication --------------------------------------------------------------


@dataclass(frozen=True)
class PublicSession:
    id: int
    uid: str
    sequence: int
    title: str
    kind: str
    day: date
    start: time
    end: time
    venue: str
    online_url: str
    access: str
    content_types: list[str]
    description: str
    capacity: int | None

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.day, self.start, tzinfo=SHANGHAI)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.day, self.end, tzinfo=SHANGHAI)

    @property
    def kind_label(self) -> str:
        return SESSION_KIND_LABELS.get(SessionKind(self.kind), self.kind)

    @property
    def access_label(self) -> str:
        return SESSION_ACCESS_LABELS.get(SessionAccess(self.access), self.access)

    @property
    def is_open(self) -> bool:
        return self.access == SessionAccess.OPEN.value


@dataclass(frozen=True)
class PublicNeed:
    id: int
    title: str
    field: str
    description: str
    expected_result: str
    budget_min: int | None
    budget_max: int | None
    response_deadline: datetime | None

    @property
    def budget_label(self) -> str:
        if self.budget_min is None and self.budget_max is None:
            return "面议"
        if self.budget_min is not None and self.budget_max is not None:
            return f"{self.budget_min}–{self.budget_max} 万元" if self.budget_min != self.budget_max else f"{self.budget_min} 万元"
        if self.budget_min is not None:
            return f"{self.budget_min} 万元以上"
        return f"{self.budget_max} 万元以内"


@dataclass(frozen=True)
class PublicResource:
    id: int
    name: str
    kind: str
    description: str
    access_terms: str

    @property
    def kind_label(self) -> str:
        return RESOURCE_KIND_LABELS.get(ResourceKind(self.kind), self.kind)


@dataclass(frozen=True)
class PublicBase:
    base_id: int
    name: str
    short_name: str
    role: str


@dataclass(frozen=True)
class Publication:
    """The approved detailed plan of one event, as the public may see it."""

    version_number: int
    title: str
    goals: str
    venue: str
    registration_capacity: int | None
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    approval_mode: str
    sessions: list[PublicSession] = field(default_factory=list)
    cancelled_sessions: list[PublicSession] = field(default_factory=list)
    bases: list[PublicBase] = field(default_factory=list)
    needs: list[PublicNeed] = field(default_factory=list)
    resources: list[PublicResource] = field(default_factory=list)

    @property
    def approval_mode_label(self) -> str:
        return APPROVAL_MODE_LABELS.get(ApprovalMode(self.approval_mode), self.approval_mode)

    def need(self, need_id: int) -> PublicNeed | None:
        return next((n for n in self.needs if n.id == need_id), None)

    def session(self, session_id: int) -> PublicSession | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    @property
    def content_types(self) -> list[str]:
        seen: list[str] = []
        for s in self.sessions:
            for c in s.content_types:
                if c not in seen:
                    seen.append(c)
        return seen


def _dt(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def _session(item: dict[str, Any]) -> PublicSession:
    return PublicSession(
        id=int(item["id"]),
        uid=item["uid"],
        sequence=int(item.get("sequence") or 0),
        title=item["title"],
        kind=item["kind"],
        day=date.fromisoformat(item["day"]),
        start=time.fromisoformat(item["start"]),
        end=time.fromisoformat(item["end"]),
        venue=item.get("venue") or "",
        online_url=item.get("online_url") or "",
        access=item.get("access") or SessionAccess.OPEN.value,
        content_types=list(item.get("content_types") or []),
        description=item.get("description") or "",
        capacity=item.get("capacity"),
    )


def from_snapshot(number: int, snap: dict[str, Any]) -> Publication:
    registration = snap.get("registration") or {}
    return Publication(
        version_number=number,
        title=snap.get("title") or "",
        goals=snap.get("goals") or "",
        venue=snap.get("venue") or "",
        registration_capacity=registration.get("capacity"),
        registration_opens_at=_dt(registration.get("opens_at")),
        registration_closes_at=_dt(registration.get("closes_at")),
        approval_mode=registration.get("approval_mode") or ApprovalMode.AUTOMATIC.value,
        sessions=sorted((_session(s) for s in snap.get("sessions", [])), key=lambda s: (s.day, s.start, s.id)),
        cancelled_sessions=[_session(s) for s in snap.get("cancelled_sessions", [])],
        bases=[PublicBase(int(b["base_id"]), b["name"], b.get("short_name") or b["name"], b.get("role") or "") for b in snap.get("bases", [])],
        needs=[
            PublicNeed(
                id=int(n["id"]),
                title=n["title"],
                field=n.get("field") or "",
                description=n.get("description") or "",
                expected_result=n.get("expected_result") or "",
                budget_min=n.get("budget_min"),
                budget_max=n.get("budget_max"),
                response_deadline=_dt(n.get("response_deadline")),
            )
            for n in snap.get("needs", [])
        ],
        resources=[
            PublicResource(int(r["id"]), r["name"], r["kind"], r.get("description") or "", r.get("access_terms") or "") for r in snap.get("resources", [])
        ],
    )


def publication(event: Event) -> Publication | None:
    """The approved content of ``event`` (``None`` when nothing is approved or the event is withdrawn)."""
    from eventhub.events.models import DetailPlanVersion, EventStatus

    if event.status != EventStatus.SCHEDULED.value:
        return None
    plan = getattr(event, "detail_plan", None)
    if plan is None or plan.approved_version_number is None:
        return None
    version = db.session.scalar(
        db.select(DetailPlanVersion).where(DetailPlanVersion.plan_id == plan.id, DetailPlanVersion.number == plan.approved_version_number)
    )
    if version is None:
        return None
    return from_snapshot(version.number, version.snapshot)


def approved_snapshot(plan: DetailPlan) -> dict[str, Any] | None:
    """The raw published dict of the approved version (for the next approval's comparison)."""
    from eventhub.events.models import DetailPlanVersion

    if plan.approved_version_number is None:
        return None
    version = db.session.scalar(
        db.select(DetailPlanVersion).where(DetailPlanVersion.plan_id == plan.id, DetailPlanVersion.number == plan.approved_version_number)
    )
    return dict(version.snapshot) if version is not None else None
