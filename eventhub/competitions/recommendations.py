"""Recommendations (推荐) of outstanding projects to national showcases (全国双创活动周, 央企熠星大赛,
创客中国), with the evidence the organiser sends along: scores from the judging engine, awards,
the host base or event, investor interest (matchmaking leads) and — from issue 7 — deals.

A recommendation points at a theme-day road-show project (``ref_type="application"``), a
competition entry (``"entry"``) or a deal (``"deal"``, issue 7). Evidence is gathered when it is
shown or exported, never copied, so it is always current. Deals are not modelled yet: the one place
to fill in is :func:`deal_evidence` (named hook), which returns nothing until issue 7.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, or_, select

from eventhub.auth.models import User
from eventhub.competitions.models import SHOWCASE_LABELS, Award, Competition, CompetitionEntry, Recommendation, RoundResult, Showcase
from eventhub.core import audit
from eventhub.core.timeutil import format_local
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import JudgingRound
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow.models import ApplicationStatus, MatchmakingLead, ProjectApplication, ProjectCall

REF_TYPES = ("application", "entry", "deal")
REASON_MAX = 1000
CANDIDATE_LIMIT = 200


def _(message: str, **variables: Any) -> str:
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class RecommendationError(ValueError):
    def __init__(self, errors: Mapping[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("；".join(self.errors.values()))


@dataclass
class Candidate:
    key: str  # "application:12" / "entry:7" / "deal:3"
    label: str


@dataclass
class Evidence:
    """What the export and the page show next to a recommendation."""

    kind: str  # 路演项目 / 大赛项目 / 合作成果
    project_name: str = ""
    org_name: str = ""
    org_type: str = ""
    contact: str = ""
    source: str = ""  # the theme day or the competition
    host: str = ""  # host base (theme day) or organiser (competition)
    scores: list[str] = field(default_factory=list)  # "初赛 8.12（第 2 名）"
    awards: list[str] = field(default_factory=list)
    leads: int = 0
    deals: list[str] = field(default_factory=list)  # issue 7 (deal_evidence)
    missing: bool = False  # the referenced object no longer exists


# ---- the hook for issue 7 ---------------------------------------------------------------------------


def deal_evidence(*, application_id: int | None = None, deal_id: int | None = None) -> list[str]:
    """DEALS HOOK (issue 7): one line per *confirmed* cooperation deal of a project (or the deal itself).

    Only deals the counterparty confirmed by its link count as evidence (the host's word alone is
    not). For a project: deals started from a road-show lead on it, or with its applicant as the
    counterparty on the same event; for ``deal_id``: that deal, if confirmed.
    """
    from eventhub.assessment import deals
    from eventhub.assessment.models import Deal, DealStatus

    if deal_id is not None:
        deal = db.session.get(Deal, deal_id)
        return [deals.describe(deal)] if deal is not None and deal.status == DealStatus.CONFIRMED.value else []
    if application_id is None:
        return []
    return [deals.describe(deal) for deal in deals.confirmed_deals_of_application(application_id)]


# ---- candidates ------------------------------------------------------------------------------------


def candidates(q: str = "") -> list[Candidate]:
    """What may be recommended: shortlisted road-show projects and competition entries still in the
    running or awarded (newest first, at most :data:`CANDIDATE_LIMIT`; ``q`` searches names)."""
    apps = select(ProjectApplication).where(ProjectApplication.status == ApplicationStatus.SHORTLISTED.value)
    entries = select(CompetitionEntry).where(CompetitionEntry.status.in_(["active", "submitted"]))
    if q:
        apps = apps.where(or_(ProjectApplication.project_name.icontains(q, autoescape=True), ProjectApplication.org_name.icontains(q, autoescape=True)))
        entries = entries.where(or_(CompetitionEntry.project_name.icontains(q, autoescape=True), CompetitionEntry.org_name.icontains(q, autoescape=True)))
    out = [
        Candidate(f"application:{a.id}", _("路演：%(project)s（%(org)s）", project=a.project_name, org=a.org_name))
        for a in db.session.scalars(apps.order_by(ProjectApplication.id.desc()).limit(CANDIDATE_LIMIT))
    ]
    out += [
        Candidate(f"entry:{e.id}", _("大赛：%(project)s（%(org)s）", project=e.project_name, org=e.org_name))
        for e in db.session.scalars(entries.order_by(CompetitionEntry.id.desc()).limit(CANDIDATE_LIMIT))
    ]
    from eventhub.assessment.models import Deal, DealStatus

    confirmed = select(Deal).where(Deal.status == DealStatus.CONFIRMED.value)
    if q:
        confirmed = confirmed.where(or_(Deal.counterparty_name.icontains(q, autoescape=True), Deal.lead_party.icontains(q, autoescape=True)))
    out += [
        Candidate(f"deal:{d.id}", _("合作：%(lead)s × %(party)s", lead=d.lead_party, party=d.counterparty_name))
        for d in db.session.scalars(confirmed.order_by(Deal.id.desc()).limit(CANDIDATE_LIMIT))
    ]
    return out


def _target(ref_type: str, ref_id: int) -> Any:
    if ref_type == "application":
        return db.session.get(ProjectApplication, ref_id)
    if ref_type == "entry":
        return db.session.get(CompetitionEntry, ref_id)
    if ref_type == "deal":  # only a deal its counterparty confirmed may be recommended
        from eventhub.assessment.models import Deal, DealStatus

        deal = db.session.get(Deal, ref_id)
        return deal if deal is not None and deal.status == DealStatus.CONFIRMED.value else None
    return None


def recommend(ref_type: str, ref_id: int, showcase: str, reason: str, actor: Any) -> Recommendation:
    errors: dict[str, str] = {}
    if ref_type not in REF_TYPES:
        errors["ref"] = _("请选择要推荐的项目。")
    elif _target(ref_type, ref_id) is None:
        errors["ref"] = _("所选项目不存在。")
    if showcase not in {s.value for s in Showcase}:
        errors["showcase"] = _("请选择推荐至哪项活动。")
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("请填写推荐理由。")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("推荐理由不能超过 %(n)d 个字符。", n=REASON_MAX)
    if errors:
        raise RecommendationError(errors)
    existing = db.session.scalar(
        select(Recommendation).where(Recommendation.ref_type == ref_type, Recommendation.ref_id == ref_id, Recommendation.showcase == showcase)
    )
    if existing is not None:
        raise RecommendationError({"ref": _("该项目已推荐至%(showcase)s。", showcase=_(SHOWCASE_LABELS[Showcase(showcase)]))})
    rec = Recommendation(ref_type=ref_type, ref_id=ref_id, showcase=showcase, reason=reason, recommended_by_id=getattr(actor, "id", None))
    db.session.add(rec)
    db.session.flush()
    audit.record("recommendation.create", rec, after={"ref": f"{ref_type}:{ref_id}", "showcase": showcase, "reason": reason}, actor=actor)
    return rec


def withdraw(rec: Recommendation, actor: Any) -> None:
    audit.record("recommendation.delete", rec, before={"ref": f"{rec.ref_type}:{rec.ref_id}", "showcase": rec.showcase, "reason": rec.reason}, actor=actor)
    db.session.delete(rec)
    db.session.flush()


def list_query(showcase: str = "") -> Any:
    query = select(Recommendation)
    if showcase:
        query = query.where(Recommendation.showcase == showcase)
    return query.order_by(Recommendation.showcase, Recommendation.created_at.desc(), Recommendation.id.desc())


# ---- evidence --------------------------------------------------------------------------------------------


def _org_type(value: str) -> str:
    return _(ORG_TYPE_LABELS[OrgType(value)]) if value in {o.value for o in OrgType} else value


def _leads(application_id: int | None) -> int:
    if not application_id:
        return 0
    return db.session.scalar(select(func.count()).select_from(MatchmakingLead).where(MatchmakingLead.application_id == application_id)) or 0


class _ScoreCache:
    """``aggregate`` once per judging round per export."""

    def __init__(self) -> None:
        self.by_round: dict[int, dict[int, judging.ItemResult]] = {}

    def result(self, round_id: int, ref_id: int) -> judging.ItemResult | None:
        if round_id not in self.by_round:
            rnd = db.session.get(JudgingRound, round_id)
            self.by_round[round_id] = {r.item.ref_id: r for r in judging.aggregate(rnd)} if rnd is not None else {}
        return self.by_round[round_id].get(ref_id)


def _application_scores(application: ProjectApplication, cache: _ScoreCache) -> list[str]:
    call = db.session.get(ProjectCall, application.call_id)
    out = []
    for label, round_id in ((_("路演初筛"), call.prescreen_round_id if call else None), (_("现场路演"), call.live_round_id if call else None)):
        if not round_id:
            continue
        r = cache.result(round_id, application.id)
        if r is not None and r.normalised is not None:
            out.append(_("%(round)s %(score).2f（第 %(rank)s 名）", round=label, score=r.normalised, rank=r.rank_normalised))
    return out


def _entry_scores(entry: CompetitionEntry) -> list[str]:
    from eventhub.competitions.models import CompetitionRound

    rows = db.session.execute(
        select(CompetitionRound.name, RoundResult.score, RoundResult.rank, RoundResult.advanced)
        .join(CompetitionRound, CompetitionRound.id == RoundResult.round_id)
        .where(RoundResult.entry_id == entry.id)
        .order_by(CompetitionRound.position)
    )
    return [
        _("%(round)s %(score).2f（赛道第 %(rank)s 名）", round=name, score=score, rank=rank) + (_("，晋级") if advanced else "")
        for name, score, rank, advanced in rows
        if score is not None
    ]


def evidence(rec: Recommendation, cache: _ScoreCache | None = None) -> Evidence:
    cache = cache or _ScoreCache()
    if rec.ref_type == "application":
        application = db.session.get(ProjectApplication, rec.ref_id)
        if application is None:
            return Evidence(kind=_("路演项目"), missing=True)
        event = db.session.get(Event, application.event_id)
        ev = Evidence(
            kind=_("路演项目"),
            project_name=application.project_name,
            org_name=application.org_name,
            org_type=_org_type(application.org_type),
            contact=f"{application.contact_name} {application.contact_mobile}",
            source=event.title if event else "",
            host=event.host_base.name if event else "",
            scores=_application_scores(application, cache),
            awards=[application.award] if application.award else [],
            leads=_leads(application.id),
            deals=deal_evidence(application_id=application.id),
        )
        entries = db.session.scalars(select(CompetitionEntry).where(CompetitionEntry.application_id == application.id))
        for entry in entries:  # the same project's competition record strengthens the case
            ev.awards += [f"{c.name}：{a.title}" for a, c in _awards_with_competition(entry)]
        return ev
    if rec.ref_type == "entry":
        entry = db.session.get(CompetitionEntry, rec.ref_id)
        if entry is None:
            return Evidence(kind=_("大赛项目"), missing=True)
        competition = db.session.get(Competition, entry.competition_id)
        host = competition.organiser_name
        source = competition.name
        if entry.application_id:
            application = db.session.get(ProjectApplication, entry.application_id)
            event = db.session.get(Event, application.event_id) if application else None
            if event is not None:
                source = f"{competition.name}；{_('路演来源')}：{event.title}"
                host = f"{competition.organiser_name}；{event.host_base.name}" if competition.organiser_name else event.host_base.name
        return Evidence(
            kind=_("大赛项目"),
            project_name=entry.project_name,
            org_name=entry.org_name,
            org_type=_org_type(entry.org_type),
            contact=f"{entry.contact_name} {entry.contact_mobile}",
            source=source,
            host=host,
            scores=_entry_scores(entry),
            awards=[f"{c.name}：{a.title}" for a, c in _awards_with_competition(entry)],
            leads=_leads(entry.application_id),
            deals=deal_evidence(application_id=entry.application_id) if entry.application_id else [],
        )
    from eventhub.assessment.models import Deal

    deal = db.session.get(Deal, rec.ref_id)
    lines = deal_evidence(deal_id=rec.ref_id)
    if deal is None or not lines:
        return Evidence(kind=_("合作成果"), missing=True)
    event = db.session.get(Event, deal.event_id)
    return Evidence(
        kind=_("合作成果"),
        project_name=f"{deal.lead_party} × {deal.counterparty_name}",
        org_name=deal.counterparty_name,
        org_type=_org_type(deal.counterparty_type),
        contact=deal.counterparty_contact,
        source=event.title if event else "",
        host=event.host_base.name if event else "",
        deals=lines,
    )


def _awards_with_competition(entry: CompetitionEntry) -> list[tuple[Award, Competition]]:
    rows = db.session.execute(
        select(Award, Competition)
        .join(Competition, Competition.id == Award.competition_id)
        .where(Award.entry_id == entry.id, Competition.results_published_at.is_not(None))
    )
    return [(a, c) for a, c in rows]


def export_xlsx(showcase: str = "") -> bytes:
    """The recommendation list with its evidence, one sheet per showcase (or the one asked for)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    headers = [
        _("推荐活动"),
        _("类型"),
        _("项目名称"),
        _("单位名称"),
        _("单位类型"),
        _("联系人"),
        _("来源（主题日 / 大赛）"),
        _("承办基地 / 主办单位"),
        _("评审得分"),
        _("获奖情况"),
        _("对接意向数"),
        _("合作成果"),
        _("推荐理由"),
        _("推荐人"),
        _("推荐时间（北京时间）"),
    ]
    wb = Workbook()
    wb.remove(wb.active)
    cache = _ScoreCache()
    users: dict[int, str] = {}
    shown = [s for s in Showcase if not showcase or s.value == showcase]
    for sc in shown:
        ws = wb.create_sheet(_(SHOWCASE_LABELS[sc])[:31])
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for rec in db.session.scalars(list_query(sc.value)):
            ev = evidence(rec, cache)
            if rec.recommended_by_id and rec.recommended_by_id not in users:
                user = db.session.get(User, rec.recommended_by_id)
                users[rec.recommended_by_id] = user.name if user else ""
            ws.append(
                [
                    _(SHOWCASE_LABELS[sc]),
                    ev.kind,
                    ev.project_name or _("（已删除）"),
                    ev.org_name,
                    ev.org_type,
                    ev.contact,
                    ev.source,
                    ev.host,
                    "\n".join(ev.scores),
                    "\n".join(ev.awards),
                    ev.leads,
                    "\n".join(ev.deals),
                    rec.reason,
                    users.get(rec.recommended_by_id or 0, ""),
                    format_local(rec.created_at),
                ]
            )
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for column, width in (("C", 30), ("D", 28), ("G", 30), ("H", 24), ("I", 30), ("J", 24), ("M", 40)):
            ws.column_dimensions[column].width = width
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
