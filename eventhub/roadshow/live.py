"""Live road shows: scoring on the panel's phones, investor interest (对接意向) and the results.

Rules kept here (views only parse and render):

* **One rubric per event**: a round of the shared judging engine with key ``roadshow-live:<event>``
  (``ProjectCall.live_round_id`` points at it), created with :data:`LIVE_CRITERIA`; the host may edit
  it until scoring starts. Scoring starts by the host's button or, at the latest, when a panel
  member opens the live page on a road-show day (the rubric is then frozen by the engine).
* **Items** are the applications placed in the event's *published* schedule version (ref_type
  ``roadshow_application``); each is assigned to the judges of the panel of the session where it is
  placed (:func:`sync_live_round`), through the engine's ``assign`` so its conflict rules hold: a
  judge tied to a base that *is* the applicant (same name), or who declared a conflict on the item,
  is not assigned (the report says why). A project moved to another session loses the open
  assignments of judges not on its new panel; submitted sheets always stand.
* **Leads**: :func:`mark_interest` creates one :class:`MatchmakingLead` per project and person (a
  panel investor by account, a confirmed registrant by registration); a second click, even at the
  same moment, returns the existing one (unique constraints; on SQLite the write lock is taken up
  front, on PostgreSQL the losing insert is rolled back to a savepoint) and the project's contact is
  mailed once (keyed by project and person).
* **Results** per session come from the engine's ``aggregate`` over the whole round (so per-judge
  normalisation sees all of a judge's sheets), ranked within each session by the engine's order;
  awards are set by the host and shown publicly only after :func:`publish_results`.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.core import audit
from eventhub.core.locking import begin_write
from eventhub.core.permissions import Role
from eventhub.core.timeutil import as_utc, format_local, to_shanghai, utcnow
from eventhub.core.urls import external_url
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import Assignment, AssignmentStatus, JudgingItem, JudgingRound, RoundStatus
from eventhub.registration.models import Registration, RegistrationStatus
from eventhub.roadshow import calls
from eventhub.roadshow.models import (
    ApplicationStatus,
    MatchmakingLead,
    PanelMember,
    PanelRole,
    Placement,
    ProjectApplication,
    ProjectCall,
    RoadshowSession,
    ScheduleStatus,
    ScheduleVersion,
)

LIVE_KEY = "roadshow-live:{event_id}"
REF_TYPE = calls.REF_TYPE  # "roadshow_application", shared with the pre-screen
NOTE_MAX = 500  # a lead's note
AWARD_MAX = 100  # ProjectApplication.award
RATE_LIMIT = "10 per minute; 60 per hour"  # interest POSTs per client IP on the registrant's page (config ROADSHOW_LEAD_RATE_LIMIT)

# 现场路演 default rubric (name, weight, guidance); the host edits it until scoring starts.
LIVE_CRITERIA: list[tuple[str, float, str]] = [
    ("技术先进性", 1.0, "技术是否领先、有自主知识产权或明显壁垒；现场演示与答辩是否可信。"),
    ("市场前景", 1.0, "目标市场与商业模式是否清楚；客户、订单、收入等进展。"),
    ("团队能力", 1.0, "核心团队的专业背景、分工与执行力；现场答辩表现。"),
    ("与承办方产业链契合度", 1.0, "与承办基地产业链、供应链及所发布技术需求的契合程度，是否有望促成合作。"),
]

ACTION_LABELS = {
    "roadshow_live.sync": "同步现场评审分配",
    "roadshow_live.start": "开始现场评分",
    "roadshow_live.awards": "设置奖项",
    "roadshow_live.publish": "公布路演结果",
    "roadshow_live.unpublish": "撤回路演结果",
    "roadshow_lead.create": "登记对接意向",
    "roadshow_lead.export": "导出对接意向",
}


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class LiveError(ValueError):
    """A live-scoring, lead or results step was refused (a Chinese, translatable message)."""


# ---- the published schedule ----------------------------------------------------------------------


def published_version(event: Event) -> ScheduleVersion | None:
    """The event's current published schedule version (the newest, should there be several)."""
    query = (
        select(ScheduleVersion)
        .where(ScheduleVersion.event_id == event.id, ScheduleVersion.status == ScheduleStatus.PUBLISHED.value)
        .order_by(ScheduleVersion.number.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def _live(placement: Placement) -> bool:
    return placement.application.status != ApplicationStatus.WITHDRAWN.value


def published_placements(event: Event) -> list[Placement]:
    """Placements of the published version (withdrawn projects left out), by session then time."""
    version = published_version(event)
    if version is None:
        return []
    rows = db.session.scalars(select(Placement).where(Placement.version_id == version.id).order_by(Placement.session_id, Placement.starts_at, Placement.id))
    return [p for p in rows if _live(p)]


def session_placements(session: RoadshowSession) -> list[Placement]:
    """The session's pitches in the published schedule, in slot order."""
    version = published_version(session.event)
    if version is None:
        return []
    rows = db.session.scalars(
        select(Placement).where(Placement.version_id == version.id, Placement.session_id == session.id).order_by(Placement.starts_at, Placement.id)
    )
    return [p for p in rows if _live(p)]


def placement_of(application: ProjectApplication) -> Placement | None:
    """Where the application is placed in its event's published schedule (None: not placed)."""
    version = published_version(application.event)
    if version is None:
        return None
    return db.session.scalar(select(Placement).where(Placement.version_id == version.id, Placement.application_id == application.id))


def event_sessions(event: Event) -> list[RoadshowSession]:
    query = select(RoadshowSession).where(RoadshowSession.event_id == event.id).order_by(RoadshowSession.day, RoadshowSession.start_time, RoadshowSession.id)
    return list(db.session.scalars(query))


def panel_member(session: RoadshowSession, user: Any) -> PanelMember | None:
    """The user's seat on the session's panel (None: not on it)."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(select(PanelMember).where(PanelMember.session_id == session.id, PanelMember.user_id == user.id))


def _panel_judges(session_ids: Iterable[int]) -> dict[int, list[User]]:
    ids = sorted(set(session_ids))
    out: dict[int, list[User]] = defaultdict(list)
    if not ids:
        return out
    rows = db.session.execute(
        select(PanelMember.session_id, User)
        .join(User, User.id == PanelMember.user_id)
        .where(PanelMember.session_id.in_(ids), PanelMember.role == PanelRole.JUDGE.value)
        .order_by(PanelMember.session_id, User.id)
    )
    for session_id, user in rows:
        out[session_id].append(user)
    return out


# ---- the live round -------------------------------------------------------------------------------


def live_round(event: Event) -> JudgingRound | None:
    """The event's live rubric round, if it exists."""
    call = calls.get_call(event)
    if call is not None and call.live_round_id:
        rnd = judging.get_round(call.live_round_id)
        if rnd is not None:
            return rnd
    return judging.round_by_key(LIVE_KEY.format(event_id=event.id))


def ensure_live_round(event: Event) -> JudgingRound:
    """The event's live round, created with :data:`LIVE_CRITERIA` on first use (caller commits)."""
    call = calls.get_call(event)
    if call is None:
        raise LiveError(_("本活动尚未开启项目征集，没有路演项目可评分。"))
    rnd = judging.get_or_create_round(
        key=LIVE_KEY.format(event_id=event.id), title=_("%(event)s · 现场路演评分", event=event.title), default_criteria=LIVE_CRITERIA, judges_per_item=3
    )
    if call.live_round_id != rnd.id:
        call.live_round_id = rnd.id
        db.session.flush()
    return rnd


def item_url(placement: Placement) -> str:
    return external_url("roadshow.live_session", session_id=placement.session_id) + f"#pitch-{placement.application_id}"


def applicant_bases(applications: Iterable[ProjectApplication]) -> dict[int, list[int]]:
    """Per application: the bases that *are* the applicant (same name) — their people may not judge it."""
    apps = list(applications)
    names = {a.org_name for a in apps if a.org_name}
    by_name: dict[str, list[int]] = defaultdict(list)
    if names:
        for base_id, name in db.session.execute(select(DemonstrationBase.id, DemonstrationBase.name).where(DemonstrationBase.name.in_(names))):
            by_name[name].append(base_id)
    return {a.id: sorted(by_name.get(a.org_name, [])) for a in apps}


@dataclass
class Skipped:
    application: ProjectApplication
    judge: User
    reason: str


@dataclass
class SyncReport:
    """What :func:`sync_live_round` did: ``assigned`` / ``removed`` are (application id, judge id) pairs."""

    round: JudgingRound | None
    items: int = 0
    assigned: list[tuple[int, int]] = field(default_factory=list)
    removed: list[tuple[int, int]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    round_closed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.assigned or self.removed)


def _submitted(assignment: Assignment) -> bool:
    return assignment.sheet is not None and assignment.sheet.status == "submitted"


def sync_live_round(event: Event, actor: Any) -> SyncReport:
    """Bring the live round in step with the published schedule and the panels (caller commits).

    Idempotent: items for the placed applications (others become inactive, their scores kept),
    assignments for the judges of each project's session; judges who may not judge a project
    (engine conflict rules, declared conflicts, accounts that are not active reviewers) are
    reported in ``skipped``. No schedule, or no call: nothing to do (``round`` may be None).
    """
    call = calls.get_call(event)
    placements = published_placements(event)
    if call is None or (not placements and live_round(event) is None):
        return SyncReport(round=live_round(event))
    rnd = ensure_live_round(event)
    bases = applicant_bases(p.application for p in placements)
    specs = [
        judging.ItemSpec(
            ref_type=REF_TYPE,
            ref_id=p.application_id,
            title=f"{p.application.project_name}（{p.application.org_name}）",
            url=item_url(p),
            conflict_base_ids=bases.get(p.application_id, []),
        )
        for p in placements
    ]
    judging.sync_items(rnd, specs)
    report = SyncReport(round=rnd, items=len(specs))
    if rnd.status == RoundStatus.CLOSED.value:
        report.round_closed = True
        return report
    items = {i.ref_id: i for i in rnd.items if i.ref_type == REF_TYPE}
    judges = _panel_judges(p.session_id for p in placements)
    conflict_bases = judging.conflict_bases({u.id: u for us in judges.values() for u in us}.values())
    for p in placements:
        item = items[p.application_id]
        wanted = judges.get(p.session_id, [])
        wanted_ids = {u.id for u in wanted}
        for a in list(item.assignments):
            if a.status == AssignmentStatus.ASSIGNED.value and a.judge_id not in wanted_ids and not _submitted(a):
                judging.unassign(a, actor)
                report.removed.append((p.application_id, a.judge_id))
        have = {a.judge_id: a for a in item.assignments}
        for judge in wanted:
            if judge.id in have:
                if have[judge.id].status == AssignmentStatus.CONFLICT.value:
                    report.skipped.append(Skipped(p.application, judge, _("评委已声明利益冲突：%(reason)s", reason=have[judge.id].conflict_reason or "")))
                continue
            if not (judge.active and judge.role == Role.REVIEWER.value):
                report.skipped.append(
                    Skipped(p.application, judge, _("该评委账号不是有效的评审专家账号，无法通过评审引擎评分；请组织方为其开通评审专家账号。"))
                )
                continue
            reason = judging.conflict_reason(item, judge, conflict_bases.get(judge.id, set()))
            if reason:
                report.skipped.append(Skipped(p.application, judge, reason))
                continue
            judging.assign(item, judge, actor, source="auto")
            report.assigned.append((p.application_id, judge.id))
    if report.changed:
        audit.record("roadshow_live.sync", rnd, after={"event_id": event.id, "assigned": report.assigned, "removed": report.removed}, actor=actor)
    return report


def start_live_scoring(event: Event, actor: Any) -> JudgingRound:
    """Freeze the rubric and open the score sheets (caller commits)."""
    rnd = ensure_live_round(event)
    if rnd.status != RoundStatus.SETUP.value:
        raise LiveError(_("现场评分已经开始，无需重复操作。") if rnd.status == RoundStatus.SCORING.value else _("现场评分已结束。"))
    try:
        judging.start_scoring(rnd, actor)
    except judging.JudgingError as exc:
        raise LiveError(str(exc)) from exc
    audit.record("roadshow_live.start", rnd, after={"event_id": event.id}, actor=actor)
    return rnd


def scoring_due(event: Event, now: datetime | None = None) -> bool:
    """True from the first road-show day of the published schedule (Beijing date) on."""
    placements = published_placements(event)
    if not placements:
        return False
    first = min(as_utc(p.starts_at) for p in placements)
    return to_shanghai(now or utcnow()).date() >= to_shanghai(first).date()


def open_scoring_if_due(event: Event, now: datetime | None = None) -> bool:
    """Start scoring automatically on the road-show day, if the host has not (caller commits)."""
    rnd = live_round(event)
    if rnd is None or rnd.status != RoundStatus.SETUP.value or not rnd.criteria or not scoring_due(event, now):
        return False
    judging.start_scoring(rnd, None)
    return True


def assignment_for(event: Event, application: ProjectApplication, user: Any) -> Assignment | None:
    """The user's assignment (live or declared conflict) on the application in the event's live round."""
    rnd = live_round(event)
    if rnd is None or getattr(user, "id", None) is None:
        return None
    query = (
        select(Assignment)
        .join(JudgingItem, Assignment.item_id == JudgingItem.id)
        .where(JudgingItem.round_id == rnd.id, JudgingItem.ref_type == REF_TYPE, JudgingItem.ref_id == application.id, Assignment.judge_id == user.id)
    )
    return db.session.scalar(query)


def save_score(
    session: RoadshowSession,
    application: ProjectApplication,
    user: Any,
    values: Mapping[int, Any],
    comments: Mapping[int, str],
    overall_comment: str | None,
    submit: bool,
) -> Any:
    """A panel judge saves (or submits) their sheet for a pitch of their session, through the engine (caller commits).

    Refused unless the user is a judge on the session's panel, the pitch is placed in that
    session and the engine assigned it to them (conflicts are never assigned).
    """
    member = panel_member(session, user)
    if member is None or member.role != PanelRole.JUDGE.value:
        raise LiveError(_("只有本场次的评委可以评分。"))
    placement = placement_of(application)
    if placement is None or placement.session_id != session.id:
        raise LiveError(_("该项目不在本场次的已发布日程中。"))
    assignment = assignment_for(session.event, application, user)
    if assignment is None:
        raise LiveError(_("该项目尚未分配给您评分（可能存在利益冲突），请联系承办方。"))
    return judging.save_sheet(assignment, dict(values), dict(comments), overall_comment, submit, user)


def declare_conflict(session: RoadshowSession, application: ProjectApplication, user: Any, reason: str) -> judging.ConflictResult:
    """A panel judge declares a conflict on a pitch; another judge of the same panel takes it if one is free (caller commits)."""
    member = panel_member(session, user)
    assignment = assignment_for(session.event, application, user)
    if member is None or assignment is None:
        raise LiveError(_("只能对分配给自己的项目声明利益冲突。"))
    candidates = _panel_judges([session.id]).get(session.id, [])
    return judging.declare_conflict(assignment, user, reason, user, candidates=candidates)


# ---- the live page ---------------------------------------------------------------------------------


@dataclass
class Pitch:
    placement: Placement
    application: ProjectApplication
    state: str  # "past" / "current" / "next" / "upcoming"
    assignment: Assignment | None = None
    lead: MatchmakingLead | None = None

    @property
    def sheet(self) -> Any:
        return self.assignment.sheet if self.assignment is not None else None

    @property
    def submitted(self) -> bool:
        return self.assignment is not None and _submitted(self.assignment)

    @property
    def conflict(self) -> bool:
        return self.assignment is not None and self.assignment.status == AssignmentStatus.CONFLICT.value


def pitch_states(placements: Sequence[Placement], now: datetime | None = None) -> list[str]:
    """By time: the pitch under way is ``current``, the first one after it (or after now) ``next``."""
    now = as_utc(now or utcnow())
    states = []
    next_given = False
    for p in placements:
        start, end = as_utc(p.starts_at), as_utc(p.ends_at)
        if start <= now < end:
            states.append("current")
        elif end <= now:
            states.append("past")
        elif not next_given:
            states.append("next")
            next_given = True
        else:
            states.append("upcoming")
    return states


def session_pitches(session: RoadshowSession, user: Any, now: datetime | None = None) -> list[Pitch]:
    """The session's pitches with the user's sheet (judges) and interest (everyone on the panel)."""
    placements = session_placements(session)
    states = pitch_states(placements, now)
    rnd = live_round(session.event)
    assignments: dict[int, Assignment] = {}
    if rnd is not None and getattr(user, "id", None) is not None:
        rows = db.session.execute(
            select(JudgingItem.ref_id, Assignment)
            .join(Assignment, Assignment.item_id == JudgingItem.id)
            .where(JudgingItem.round_id == rnd.id, JudgingItem.ref_type == REF_TYPE, Assignment.judge_id == user.id)
        )
        assignments = {ref_id: a for ref_id, a in rows}
    leads = {lead.application_id: lead for lead in leads_of_user(session.event, user)}
    return [Pitch(p, p.application, state, assignments.get(p.application_id), leads.get(p.application_id)) for p, state in zip(placements, states, strict=True)]


def sessions_of_member(user: Any) -> list[tuple[RoadshowSession, PanelMember]]:
    """The road-show sessions the user sits on, by day and time (for their menu)."""
    if getattr(user, "id", None) is None:
        return []
    query = (
        select(RoadshowSession, PanelMember)
        .join(PanelMember, PanelMember.session_id == RoadshowSession.id)
        .where(PanelMember.user_id == user.id)
        .order_by(RoadshowSession.day, RoadshowSession.start_time, RoadshowSession.id)
    )
    return [(s, m) for s, m in db.session.execute(query)]


# ---- leads (对接意向) --------------------------------------------------------------------------------


def find_lead(application: ProjectApplication, *, user: Any = None, registration: Registration | None = None) -> MatchmakingLead | None:
    query = select(MatchmakingLead).where(MatchmakingLead.application_id == application.id)
    if user is not None:
        query = query.where(MatchmakingLead.user_id == user.id)
    else:
        assert registration is not None
        query = query.where(MatchmakingLead.registration_id == registration.id)
    return db.session.scalar(query)


def mark_interest(application: ProjectApplication, *, user: Any = None, registration: Registration | None = None, note: str = "") -> MatchmakingLead:
    """“有兴趣，请联系我”: a lead for (project, person), created once; the existing one otherwise (caller commits).

    ``user``: a logged-in panel member (investor); ``registration``: a confirmed registrant of the
    same event. The project must be in the published schedule. The project's contact is mailed
    once per person (key ``roadshow-lead:<application>:<u|r><id>``).
    """
    if (user is None) == (registration is None):
        raise ValueError("mark_interest needs exactly one of user / registration")
    note = (note or "").strip().replace("\r\n", "\n")
    if len(note) > NOTE_MAX:
        raise LiveError(_("留言最多 %(n)d 个字符（当前 %(m)d 个）。", n=NOTE_MAX, m=len(note)))
    if registration is not None:
        if registration.event_id != application.event_id:
            raise LiveError(_("只能对本次活动的路演项目登记对接意向。"))
        if registration.status != RegistrationStatus.CONFIRMED.value:
            raise LiveError(_("报名确认后才能登记对接意向。"))
    if placement_of(application) is None or application.status == ApplicationStatus.WITHDRAWN.value:
        raise LiveError(_("该项目不在已发布的路演日程中。"))
    begin_write()  # SQLite: take the write lock before reading, so two clicks queue instead of failing
    existing = find_lead(application, user=user, registration=registration)
    if existing is not None:
        return existing
    if user is not None:
        lead = MatchmakingLead(
            event_id=application.event_id,
            application_id=application.id,
            user_id=user.id,
            interested_name=user.name,
            interested_org=user.base.name if user.base is not None else "",
            interested_email=user.email,
            note=note,
        )
        person = f"u{user.id}"
    else:
        assert registration is not None
        lead = MatchmakingLead(
            event_id=application.event_id,
            application_id=application.id,
            registration_id=registration.id,
            interested_name=registration.name,
            interested_org=registration.organisation,
            interested_email=registration.email,
            note=note,
        )
        person = f"r{registration.id}"
    try:
        with db.session.begin_nested():
            db.session.add(lead)
            db.session.flush()
    except IntegrityError:
        existing = find_lead(application, user=user, registration=registration)  # the other click won
        if existing is None:
            raise
        return existing
    audit.record(
        "roadshow_lead.create",
        lead,
        after={"application_id": application.id, "user_id": lead.user_id, "registration_id": lead.registration_id, "note": note},
        actor=user,
    )
    from eventhub.core.mail import send_mail

    send_mail(
        application.contact_email,
        "roadshow_lead",
        key=f"roadshow-lead:{application.id}:{person}",
        locale=application.locale,
        application=application,
        event=application.event,
        lead=lead,
    )
    return lead


def leads_of_application(application: ProjectApplication) -> list[MatchmakingLead]:
    query = select(MatchmakingLead).where(MatchmakingLead.application_id == application.id).order_by(MatchmakingLead.created_at, MatchmakingLead.id)
    return list(db.session.scalars(query))


def leads_of_user(event: Event, user: Any) -> list[MatchmakingLead]:
    if getattr(user, "id", None) is None:
        return []
    query = select(MatchmakingLead).where(MatchmakingLead.event_id == event.id, MatchmakingLead.user_id == user.id).order_by(MatchmakingLead.id)
    return list(db.session.scalars(query))


def leads_of_registration(registration: Registration) -> list[MatchmakingLead]:
    query = select(MatchmakingLead).where(MatchmakingLead.registration_id == registration.id).order_by(MatchmakingLead.id)
    return list(db.session.scalars(query))


def event_leads_query(event: Event, *, q: str = "") -> Any:
    """The event's leads, newest first, optionally filtered by project, organisation or person."""
    query = (
        select(MatchmakingLead).join(ProjectApplication, ProjectApplication.id == MatchmakingLead.application_id).where(MatchmakingLead.event_id == event.id)
    )
    q = (q or "").strip()
    if q:
        from sqlalchemy import or_

        query = query.where(
            or_(
                ProjectApplication.project_name.icontains(q, autoescape=True),
                ProjectApplication.org_name.icontains(q, autoescape=True),
                MatchmakingLead.interested_name.icontains(q, autoescape=True),
                MatchmakingLead.interested_org.icontains(q, autoescape=True),
            )
        )
    return query.order_by(MatchmakingLead.created_at.desc(), MatchmakingLead.id.desc())


def lead_counts(event: Event) -> dict[int, int]:
    """application id → number of leads."""
    rows = db.session.execute(
        select(MatchmakingLead.application_id, func.count()).where(MatchmakingLead.event_id == event.id).group_by(MatchmakingLead.application_id)
    )
    return {app_id: n for app_id, n in rows}


def lead_source(lead: MatchmakingLead) -> str:
    return _("路演评审团（投资人）") if lead.user_id else _("活动报名者")


LEADS_HEADER = [
    "编号",
    "登记时间（北京时间）",
    "路演项目",
    "项目单位",
    "项目联系人",
    "项目联系电话",
    "项目联系邮箱",
    "意向方",
    "意向方单位",
    "意向方邮箱",
    "来源",
    "留言",
]


def export_leads_xlsx(event: Event, leads: Sequence[MatchmakingLead], actor: Any) -> bytes:
    """The leads in one sheet (full contacts of both sides: for the event's managers); audited. Caller commits."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "对接意向"
    sheet.append(LEADS_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for lead in leads:
        a = lead.application
        values = [
            lead.id,
            format_local(lead.created_at),
            a.project_name,
            a.org_name,
            a.contact_name,
            a.contact_mobile,
            a.contact_email,
            lead.interested_name,
            lead.interested_org,
            lead.interested_email,
            lead_source(lead),
            lead.note,
        ]
        sheet.append([calls._safe_cell(v) for v in values])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18
        for cell in column[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["L"].width = 50
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record("roadshow_lead.export", event, after={"rows": len(leads)}, actor=actor)
    return buffer.getvalue()


# ---- results --------------------------------------------------------------------------------------


@dataclass
class ResultRow:
    placement: Placement
    application: ProjectApplication
    result: judging.ItemResult | None
    rank: int | None = None  # within the session, by the engine's normalised order
    tie: bool = False


@dataclass
class SessionResults:
    session: RoadshowSession
    rows: list[ResultRow]
    submitted: int
    expected: int

    @property
    def disagreements(self) -> int:
        return sum(1 for r in self.rows if r.result is not None and r.result.disagreement)


def _round6(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None


def results_by_session(event: Event) -> list[SessionResults]:
    """Per session of the published schedule: its pitches ranked by the engine's normalised score.

    Normalisation is the engine's over the whole event round (a judge sitting on two sessions is
    normalised over all their sheets); the ranking is then taken within each session, in the
    engine's order (its tie rule). Unscored pitches come last, unranked.
    """
    placements = published_placements(event)
    rnd = live_round(event)
    results = judging.aggregate(rnd) if rnd is not None else []
    order = {r.item.ref_id: (index, r) for index, r in enumerate(results) if r.item.ref_type == REF_TYPE}
    by_session: dict[int, list[Placement]] = defaultdict(list)
    for p in placements:
        by_session[p.session_id].append(p)
    out: list[SessionResults] = []
    for session in event_sessions(event):
        rows = [ResultRow(p, p.application, order.get(p.application_id, (None, None))[1]) for p in by_session.get(session.id, [])]
        rows.sort(key=lambda r: (order.get(r.application.id, (len(order), None))[0], r.placement.starts_at))
        ranked = [r for r in rows if r.result is not None and r.result.normalised is not None]
        for position, row in enumerate(ranked, start=1):
            row.rank = position
        for a, b in zip(ranked, ranked[1:], strict=False):
            if _round6(a.result.normalised) == _round6(b.result.normalised):  # type: ignore[union-attr]
                a.tie = b.tie = True
        submitted = sum(r.result.submitted for r in rows if r.result is not None)
        expected = sum(r.result.assigned for r in rows if r.result is not None)
        if rows:
            out.append(SessionResults(session, rows, submitted, expected))
    return out


def set_awards(event: Event, awards: Mapping[int, str], actor: Any) -> int:
    """Set the awards (e.g. 一等奖) of placed projects; returns how many changed (caller commits)."""
    placed = {p.application_id: p.application for p in published_placements(event)}
    changes: dict[str, list[str]] = {}
    for app_id, raw in awards.items():
        application = placed.get(int(app_id))
        if application is None:
            continue
        award = " ".join(str(raw or "").split())
        if len(award) > AWARD_MAX:
            raise LiveError(_("奖项名称最多 %(n)d 个字符：%(award)s", n=AWARD_MAX, award=award[:20] + "…"))
        if award != (application.award or ""):
            changes[str(application.id)] = [application.award or "", award]
            application.award = award
    if changes:
        db.session.flush()
        audit.record(
            "roadshow_live.awards",
            calls.get_call(event),
            before={k: v[0] for k, v in changes.items()},
            after={k: v[1] for k, v in changes.items()},
            actor=actor,
        )
    return len(changes)


def _call_or_error(event: Event) -> ProjectCall:
    call = calls.get_call(event)
    if call is None:
        raise LiveError(_("本活动尚未开启项目征集。"))
    return call


def publish_results(event: Event, actor: Any) -> ProjectCall:
    """Make the awards public (caller commits); refused without any award."""
    call = _call_or_error(event)
    if call.results_published_at is not None:
        raise LiveError(_("路演结果已公布。"))
    if not any(p.application.award for p in published_placements(event)):
        raise LiveError(_("请先为获奖项目设置奖项，再公布结果。"))
    call.results_published_at = utcnow()
    db.session.flush()
    audit.record("roadshow_live.publish", call, after={"results_published_at": call.results_published_at.isoformat()}, actor=actor)
    return call


def unpublish_results(event: Event, actor: Any) -> ProjectCall:
    """Take the public winners page down again (e.g. to correct an award); caller commits."""
    call = _call_or_error(event)
    if call.results_published_at is None:
        raise LiveError(_("路演结果尚未公布。"))
    before = {"results_published_at": call.results_published_at.isoformat()}
    call.results_published_at = None
    db.session.flush()
    audit.record("roadshow_live.unpublish", call, before=before, actor=actor)
    return call


@dataclass
class Winner:
    session: RoadshowSession
    application: ProjectApplication
    award: str


def winners(event: Event) -> list[Winner] | None:
    """The awarded projects for the public page, by session and ranking; None until published."""
    call = calls.get_call(event)
    if call is None or call.results_published_at is None:
        return None
    out: list[Winner] = []
    for block in results_by_session(event):
        for row in block.rows:
            if row.application.award:
                out.append(Winner(block.session, row.application, row.application.award))
    return out


def road_show_days(event: Event) -> list[date]:
    return sorted({s.day for s in event_sessions(event)})
