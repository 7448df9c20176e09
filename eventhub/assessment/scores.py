"""Composite scores and ranking of a campaign's theme days (综合评分与排名).

Why it is built this way (issue 7, “nobody has to trust a single number”):

* Raw figures come from the three fact-keeping parts — deals confirmed by their counterparty
  (:mod:`eventhub.assessment.deals`), mechanisms whose members said they are still active
  (:mod:`eventhub.assessment.mechanisms`), survey answers by personal link
  (:mod:`eventhub.assessment.surveys`) — through :func:`collect`, the one adapter that knows
  their dict keys. Everything here works on :class:`EventFigures` only.
* Each metric is normalised across the campaign's events by min–max to 0–100. When only one
  event has a value, or all values are equal, every event that has it gets **100** (nobody falls
  behind on a metric that does not separate the events; the raw figure is always shown beside it).
* A metric an event has no value for (``None``: no SME attendee, no mechanism answered, no
  survey response) is left out of *that* event's composite and the remaining weights are
  renormalised; the event is flagged so the reader sees the composite rests on fewer metrics.
* Weights are the organiser's per campaign (:class:`AssessmentSettings.weights`); they need not
  sum to 1 — they are divided by their sum. Defaults: :data:`DEFAULT_WEIGHTS`.
* Composite = weighted mean of the normalised metrics; ranks are computed on the composite as
  shown (two decimals) and ties share a rank (1, 1, 3).
* Once the assessor finalises an event, its figures are frozen in
  :attr:`EventAssessment.figures` and the score reads those; live figures that changed since are
  shown as a warning, never silently swapped in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from eventhub.assessment.models import AssessmentSettings, EventAssessment
from eventhub.campaigns.models import Campaign
from eventhub.core import audit
from eventhub.core.i18n import join_list
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db

# ---- figures --------------------------------------------------------------------------------------

SME_ORG_TYPES = ("sme", "startup")  # registration.models.OrgType.SME / STARTUP


@dataclass
class EventFigures:
    """The raw figures of one event the score is computed from (shares are 0–1, ``None`` = unknown)."""

    deals_confirmed: int = 0
    deals_unconfirmed: int = 0
    deals_disputed: int = 0
    deals_confirmed_duplicates: int = 0  # confirmed deals flagged as a likely duplicate (counted, shown as a warning)
    deal_amount_wan: float = 0.0  # sum of the confirmed deals' amounts (万元)
    sme_attendees: int = 0  # checked-in registrations of SMEs and start-ups
    mechanisms: int = 0
    stability_3m: float | None = None
    stability_6m: float | None = None
    satisfaction_mean: float | None = None  # mean of the 1–5 “overall” question
    nps: float | None = None  # −100 … 100
    response_rate: float | None = None  # 0–1
    responses: int = 0
    sources_missing: list[str] = field(default_factory=list)  # parts whose module had not landed

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> EventFigures:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})

    def comparable(self) -> dict[str, Any]:
        """The figures without bookkeeping, rounded: what “changed since finalisation” compares."""
        data = self.as_dict()
        data.pop("sources_missing", None)
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in data.items()}


def _pick(data: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    """The first of ``keys`` present in ``data`` (the parts' dicts are read through this only)."""
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    return default


def _share(value: Any) -> float | None:
    return None if value is None else float(value)


def sme_attendees(event: Event) -> int:
    """SME / start-up registrations of the event with at least one check-in (“attended”)."""
    from eventhub.checkin.models import Checkin
    from eventhub.registration.models import Registration, Ticket

    query = (
        select(func.count(func.distinct(Registration.id)))
        .join(Ticket, Ticket.registration_id == Registration.id)
        .join(Checkin, Checkin.ticket_id == Ticket.id)
        .where(Registration.event_id == event.id, Registration.org_type.in_(SME_ORG_TYPES))
    )
    return int(db.session.scalar(query) or 0)


def collect(event: Event) -> EventFigures:
    """The event's live figures from the deals, mechanisms and surveys parts.

    Each part is imported here (not at module level) so this module works while a part is not
    there yet; a missing part leaves its figures at 0 / unknown and is named in ``sources_missing``.
    """
    figures = EventFigures(sme_attendees=sme_attendees(event))
    try:
        from eventhub.assessment.deals import deal_figures
    except ImportError:
        figures.sources_missing.append("deals")
    else:
        d = deal_figures(event)
        figures.deals_confirmed = int(_pick(d, "confirmed", default=0))
        figures.deals_unconfirmed = int(_pick(d, "unconfirmed", default=0))
        figures.deals_disputed = int(_pick(d, "disputed", default=0))
        figures.deals_confirmed_duplicates = int(_pick(d, "confirmed_duplicates", default=0))
        figures.deal_amount_wan = float(_pick(d, "confirmed_amount_wan", default=0.0))
    try:
        from eventhub.assessment.mechanisms import mechanism_figures
    except ImportError:
        figures.sources_missing.append("mechanisms")
    else:
        m = mechanism_figures(event)
        figures.mechanisms = int(_pick(m, "mechanisms", default=0))
        figures.stability_3m = _share(_pick(m, "share_active_3"))  # active ÷ mechanisms asked at 3 months (None: nobody asked yet)
        figures.stability_6m = _share(_pick(m, "share_active_6"))
    try:
        from eventhub.assessment.surveys import survey_figures
    except ImportError:
        figures.sources_missing.append("surveys")
    else:
        s = survey_figures(event)
        figures.responses = int(_pick(s, "responded", default=0))
        figures.response_rate = _share(_pick(s, "response_rate"))  # None: nobody invited
        mean = _pick(s, "overall_mean")
        figures.satisfaction_mean = float(mean) if mean is not None else None
        nps = _pick(s, "nps")
        figures.nps = float(nps) if nps is not None else None
    return figures


# ---- metrics and weights ------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any  # lazy string
    unit: Any
    decimals: int


METRICS: tuple[Metric, ...] = (
    Metric("deals_per_100_sme", _l("每百家中小企业参会的确认合作项目数"), _l("项"), 2),
    Metric("deals_confirmed", _l("确认合作项目数"), _l("项"), 0),
    Metric("deal_amount_wan", _l("确认合作金额"), _l("万元"), 2),
    Metric("stability_3m", _l("3 个月机制活跃比例"), "%", 1),
    Metric("stability_6m", _l("6 个月机制活跃比例"), "%", 1),
    Metric("satisfaction_mean", _l("总体满意度（1–5）"), "", 2),
    Metric("nps", _l("净推荐值 NPS"), "", 1),
    Metric("response_rate", _l("问卷回收率"), "%", 1),
)
METRIC_KEYS = tuple(m.key for m in METRICS)
METRIC_BY_KEY = {m.key: m for m in METRICS}

# Deals 40, mechanism stability 25, satisfaction 35 — the three criteria of the notice, with the
# per-100-attendee rate weighing more than absolute counts (a large event should not win by size alone)
# and the 6-month answer more than the 3-month one.
DEFAULT_WEIGHTS: dict[str, float] = {
    "deals_per_100_sme": 20,
    "deals_confirmed": 10,
    "deal_amount_wan": 10,
    "stability_3m": 10,
    "stability_6m": 15,
    "satisfaction_mean": 15,
    "nps": 10,
    "response_rate": 10,
}

SINGLE_VALUE_SCORE = 100.0  # one event, or all events equal on a metric


def metric_values(figures: EventFigures) -> dict[str, float | None]:
    """The scored metrics of one event; shares as percentages, ``None`` where unknown."""
    per_100 = figures.deals_confirmed * 100 / figures.sme_attendees if figures.sme_attendees else None
    pct = lambda v: None if v is None else v * 100  # noqa: E731
    return {
        "deals_per_100_sme": per_100,
        "deals_confirmed": float(figures.deals_confirmed),
        "deal_amount_wan": float(figures.deal_amount_wan or 0),
        "stability_3m": pct(figures.stability_3m),
        "stability_6m": pct(figures.stability_6m),
        "satisfaction_mean": figures.satisfaction_mean,
        "nps": figures.nps,
        "response_rate": pct(figures.response_rate),
    }


def clean_weights(raw: Mapping[str, Any] | None) -> dict[str, float]:
    """Weights for every metric: stored values where valid (≥ 0), defaults for the rest."""
    weights = dict(DEFAULT_WEIGHTS)
    for key, value in (raw or {}).items():
        if key in weights:
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if number >= 0:
                weights[key] = number
    return weights


def normalise(values: Mapping[int, float | None]) -> dict[int, float | None]:
    """Min–max to 0–100 over the events that have a value; single / all equal → 100; None stays None."""
    known = [v for v in values.values() if v is not None]
    if not known:
        return dict.fromkeys(values)
    low, high = min(known), max(known)
    out: dict[int, float | None] = {}
    for key, value in values.items():
        if value is None:
            out[key] = None
        elif high == low:
            out[key] = SINGLE_VALUE_SCORE
        else:
            out[key] = (value - low) * 100 / (high - low)
    return out


def rank(composites: Mapping[int, float | None]) -> dict[int, int | None]:
    """Standard competition ranking on the composite rounded to two decimals: ties share (1, 1, 3)."""
    scored = sorted(((round(v, 2), k) for k, v in composites.items() if v is not None), key=lambda p: -p[0])
    ranks: dict[int, int | None] = dict.fromkeys(composites)
    previous: float | None = None
    current = 0
    for position, (value, key) in enumerate(scored, start=1):
        if value != previous:
            current, previous = position, value
        ranks[key] = current
    return ranks


@dataclass
class Score:
    """One event's scoring: raw metrics, normalised, weight used, composite and rank."""

    raw: dict[str, float | None]
    normalised: dict[str, float | None]
    weights_used: dict[str, float]  # normalised over the metrics this event has (sum 1), 0 for missing
    composite: float | None
    rank: int | None = None
    missing: list[str] = field(default_factory=list)  # metrics with weight > 0 left out (no value)

    @property
    def contributions(self) -> dict[str, float | None]:
        return {k: (self.normalised[k] * self.weights_used[k] if self.normalised[k] is not None else None) for k in self.raw}


def score(figures: Mapping[int, EventFigures], weights: Mapping[str, Any] | None = None) -> dict[int, Score]:
    """Score every event of ``figures`` (event id → figures) against the others with ``weights``."""
    w = clean_weights(weights)
    raw = {event_id: metric_values(f) for event_id, f in figures.items()}
    normalised_by_metric = {m: normalise({e: raw[e][m] for e in raw}) for m in METRIC_KEYS}
    results: dict[int, Score] = {}
    for event_id in raw:
        norm = {m: normalised_by_metric[m][event_id] for m in METRIC_KEYS}
        present = [m for m in METRIC_KEYS if norm[m] is not None and w[m] > 0]
        missing = [m for m in METRIC_KEYS if norm[m] is None and w[m] > 0]
        total = sum(w[m] for m in present)
        used = {m: (w[m] / total if total and m in present else 0.0) for m in METRIC_KEYS}
        composite = sum(norm[m] * used[m] for m in present) if total else None  # type: ignore[operator]
        results[event_id] = Score(raw=raw[event_id], normalised=norm, weights_used=used, composite=composite, missing=missing)
    for event_id, r in rank({e: s.composite for e, s in results.items()}).items():
        results[event_id].rank = r
    return results


# ---- campaign ---------------------------------------------------------------------------------------


class AssessmentError(Exception):
    """A refused step (shown to the user as it is)."""


def settings_for(campaign: Campaign, *, create: bool = False) -> AssessmentSettings | None:
    settings = db.session.scalar(select(AssessmentSettings).where(AssessmentSettings.campaign_id == campaign.id))
    if settings is None and create:
        settings = AssessmentSettings(campaign_id=campaign.id, weights=dict(DEFAULT_WEIGHTS))
        db.session.add(settings)
        db.session.flush()
    return settings


def campaign_weights(campaign: Campaign) -> dict[str, float]:
    settings = settings_for(campaign)
    return clean_weights(settings.weights if settings else None)


def today_beijing() -> date:
    return to_shanghai(utcnow()).date()


def assessed_events(campaign: Campaign, *, today: date | None = None) -> list[Event]:
    """The campaign's theme days that took place (not withdrawn, last day before today in Beijing)."""
    today = today or today_beijing()
    query = (
        select(Event)
        .where(Event.campaign_id == campaign.id, Event.status == EventStatus.SCHEDULED.value, Event.end_date < today)
        .order_by(Event.start_date, Event.id)
    )
    return list(db.session.scalars(query))


def assessment_of(event: Event, *, create: bool = False) -> EventAssessment | None:
    row = db.session.scalar(select(EventAssessment).where(EventAssessment.event_id == event.id))
    if row is None and create:
        row = EventAssessment(event_id=event.id, comment="", figures={})
        db.session.add(row)
        db.session.flush()
    return row


@dataclass
class EventRow:
    """One event on the dashboard: figures used (frozen once finalised), live figures, scoring."""

    event: Event
    figures: EventFigures
    live: EventFigures
    assessment: EventAssessment | None
    score: Score

    @property
    def finalised(self) -> bool:
        return self.assessment is not None and self.assessment.finalised_at is not None

    @property
    def changed_since_final(self) -> bool:
        return self.finalised and self.figures.comparable() != self.live.comparable()


@dataclass
class CampaignResult:
    campaign: Campaign
    weights: dict[str, float]
    rows: list[EventRow]
    settings: AssessmentSettings | None

    @property
    def ranked(self) -> int:
        return sum(1 for r in self.rows if r.score.rank is not None)

    @property
    def all_finalised(self) -> bool:
        return bool(self.rows) and all(r.finalised for r in self.rows)

    @property
    def published(self) -> bool:
        return self.settings is not None and self.settings.published_at is not None

    def row_for(self, event_id: int) -> EventRow | None:
        return next((r for r in self.rows if r.event.id == event_id), None)


def campaign_result(campaign: Campaign, *, today: date | None = None) -> CampaignResult:
    """Every assessed event of the campaign scored against the others, sorted by rank."""
    events = assessed_events(campaign, today=today)
    assessments = {a.event_id: a for a in db.session.scalars(select(EventAssessment).where(EventAssessment.event_id.in_([e.id for e in events])))}
    live = {e.id: collect(e) for e in events}
    used: dict[int, EventFigures] = {}
    for e in events:
        a = assessments.get(e.id)
        used[e.id] = EventFigures.from_dict(a.figures) if a is not None and a.finalised_at is not None else live[e.id]
    weights = campaign_weights(campaign)
    scores = score(used, weights)
    rows = [EventRow(event=e, figures=used[e.id], live=live[e.id], assessment=assessments.get(e.id), score=scores[e.id]) for e in events]
    rows.sort(key=lambda r: (r.score.rank is None, r.score.rank or 0, r.event.start_date, r.event.id))
    return CampaignResult(campaign=campaign, weights=weights, rows=rows, settings=settings_for(campaign))


# ---- organiser: weights, publication ------------------------------------------------------------------


def set_weights(campaign: Campaign, weights: Mapping[str, float], actor: Any) -> AssessmentSettings:
    """Store the campaign's weights (each ≥ 0, at least one > 0); refused once results are published."""
    settings = settings_for(campaign, create=True)
    assert settings is not None
    if settings.published_at is not None:
        raise AssessmentError(_("结果已公布，请先撤回公布再调整权重。"))
    new = clean_weights({k: weights.get(k, 0) for k in METRIC_KEYS})
    if any(float(weights.get(k, 0) or 0) < 0 for k in METRIC_KEYS):
        raise AssessmentError(_("权重不能为负数。"))
    if sum(new.values()) <= 0:
        raise AssessmentError(_("至少一项指标的权重须大于 0。"))
    before = clean_weights(settings.weights)
    settings.weights = new
    audit.record("assessment.weights", settings, before={"weights": before}, after={"weights": new}, actor=actor)
    return settings


def publish(campaign: Campaign, actor: Any, *, today: date | None = None) -> AssessmentSettings:
    """Publish the results to the hosts: only when every assessed event is finalised."""
    result = campaign_result(campaign, today=today)
    if not result.rows:
        raise AssessmentError(_("本年度还没有已举办的活动，无法公布结果。"))
    open_rows = [r for r in result.rows if not r.finalised]
    if open_rows:
        raise AssessmentError(_("还有 %(n)d 场活动的评估尚未定稿，全部定稿后才能公布。", n=len(open_rows)))
    settings = settings_for(campaign, create=True)
    assert settings is not None
    if settings.published_at is None:
        settings.published_at = utcnow()
        audit.record("assessment.publish", settings, after={"events": len(result.rows), "ranked": result.ranked}, actor=actor)
    return settings


def unpublish(campaign: Campaign, actor: Any) -> None:
    settings = settings_for(campaign)
    if settings is None or settings.published_at is None:
        return
    audit.record("assessment.unpublish", settings, before={"published_at": settings.published_at.isoformat()}, actor=actor)
    settings.published_at = None


def is_published(campaign: Campaign) -> bool:
    settings = settings_for(campaign)
    return settings is not None and settings.published_at is not None


# ---- assessor: comment, finalise ----------------------------------------------------------------------


def save_comment(event: Event, comment: str, actor: Any) -> EventAssessment:
    """The assessor's comment; refused once finalised (unfinalise first)."""
    row = assessment_of(event, create=True)
    assert row is not None
    if row.finalised_at is not None:
        raise AssessmentError(_("评估已定稿，不能再修改评语。"))
    before = row.comment
    row.comment = comment.strip()
    if before != row.comment:
        audit.record("assessment.comment", row, before={"comment": before}, after={"comment": row.comment}, actor=actor)
    return row


def finalise(event: Event, actor: Any, *, comment: str | None = None) -> EventAssessment:
    """Freeze the event's live figures now, with the comment; the score reads these from now on."""
    row = assessment_of(event, create=True)
    assert row is not None
    if row.finalised_at is not None:
        raise AssessmentError(_("该活动的评估已经定稿。"))
    if event.end_date >= today_beijing():
        raise AssessmentError(_("活动尚未结束，不能定稿。"))
    if comment is not None:
        row.comment = comment.strip()
    figures = collect(event)
    row.figures = figures.as_dict()
    row.finalised_at = utcnow()
    row.finalised_by_id = getattr(actor, "id", None)
    audit.record("assessment.finalise", row, after={"figures": row.figures, "comment": row.comment}, actor=actor)
    return row


def unfinalise(event: Event, actor: Any) -> EventAssessment:
    """Reopen an event (organiser only — enforced by the view); refused while results are published."""
    row = assessment_of(event)
    if row is None or row.finalised_at is None:
        raise AssessmentError(_("该活动的评估尚未定稿。"))
    if is_published(event.campaign):
        raise AssessmentError(_("结果已公布，请先撤回公布再重新打开评估。"))
    audit.record("assessment.unfinalise", row, before={"figures": row.figures, "finalised_at": row.finalised_at.isoformat()}, actor=actor)
    row.finalised_at = None
    row.finalised_by_id = None
    row.figures = {}
    return row


# ---- host: own result -----------------------------------------------------------------------------------


@dataclass
class OwnResult:
    """What a host sees of a published campaign: its own row and “rank k of n”, nothing of the others."""

    campaign: Campaign
    row: EventRow
    ranked: int
    weights: dict[str, float]


def own_results(base_id: int | None, *, today: date | None = None) -> list[OwnResult]:
    """The published results of the host base's own events, newest campaign first."""
    if base_id is None:
        return []
    query = (
        select(Campaign)
        .join(AssessmentSettings, AssessmentSettings.campaign_id == Campaign.id)
        .where(AssessmentSettings.published_at.is_not(None))
        .where(Campaign.id.in_(select(Event.campaign_id).where(Event.host_base_id == base_id)))
        .order_by(Campaign.year.desc())
    )
    out: list[OwnResult] = []
    for campaign in db.session.scalars(query):
        result = campaign_result(campaign, today=today)
        for row in result.rows:
            if row.event.host_base_id == base_id:
                out.append(OwnResult(campaign=campaign, row=row, ranked=result.ranked, weights=result.weights))
    return out


# ---- export -------------------------------------------------------------------------------------------


def format_metric(key: str, value: float | None) -> str:
    """A raw metric as the pages show it (percentages for shares, “—” when unknown)."""
    if value is None:
        return "—"
    metric = METRIC_BY_KEY[key]
    text = f"{value:.{metric.decimals}f}"
    return f"{text}%" if metric.unit == "%" else text


def _sheet(workbook: Any, title: str, header: list[str], rows: list[list[Any]], *, first: bool = False) -> None:
    from openpyxl.styles import Font

    from eventhub.core.spreadsheets import safe_cell as _safe_cell

    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe_cell(v) for v in row])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 16
    sheet.column_dimensions["A"].width = 30
    sheet.freeze_panes = "B2"


def export_xlsx(result: CampaignResult, actor: Any) -> bytes:
    """Every table of the dashboard in one workbook (ranking, raw figures, normalised, weights); audited. Caller commits."""
    import io

    from openpyxl import Workbook

    labels = [str(m.label) for m in METRICS]
    workbook = Workbook()
    ranking = []
    for r in result.rows:
        ranking.append(
            [
                r.event.title,
                r.event.host_base.display_short_name,
                r.event.start_date.isoformat(),
                round(r.score.composite, 2) if r.score.composite is not None else None,
                r.score.rank,
                join_list(str(METRIC_BY_KEY[m].label) for m in r.score.missing),
                _("已定稿") if r.finalised else _("未定稿"),
                r.assessment.comment if r.assessment else "",
            ]
        )
    _sheet(
        workbook,
        _("综合得分与排名"),
        [_("活动"), _("承办基地"), _("开始日期"), _("综合得分"), _("排名"), _("缺少的指标"), _("评估状态"), _("评估意见")],
        ranking,
        first=True,
    )
    raw_rows = []
    for r in result.rows:
        f = r.figures
        raw_rows.append(
            [
                r.event.title,
                f.sme_attendees,
                f.deals_confirmed,
                f.deals_unconfirmed,
                f.deals_disputed,
                f.deal_amount_wan,
                f.mechanisms,
                None if f.stability_3m is None else round(f.stability_3m * 100, 1),
                None if f.stability_6m is None else round(f.stability_6m * 100, 1),
                f.responses,
                None if f.response_rate is None else round(f.response_rate * 100, 1),
                f.satisfaction_mean,
                f.nps,
            ]
        )
    _sheet(
        workbook,
        _("原始数据"),
        [
            _("活动"),
            _("签到中小企业数"),
            _("确认合作项目"),
            _("待确认合作项目"),
            _("有异议合作项目"),
            _("确认金额（万元）"),
            _("合作机制数"),
            _("3 个月活跃比例（%）"),
            _("6 个月活跃比例（%）"),
            _("问卷回复数"),
            _("回收率（%）"),
            _("总体满意度"),
            _("NPS"),
        ],
        raw_rows,
    )
    _sheet(
        workbook,
        _("标准化得分"),
        [_("活动"), *labels],
        [[r.event.title, *[None if r.score.normalised[m] is None else round(r.score.normalised[m], 2) for m in METRIC_KEYS]] for r in result.rows],
    )
    _sheet(
        workbook,
        _("指标原值"),
        [_("活动"), *labels],
        [[r.event.title, *[None if r.score.raw[m] is None else round(r.score.raw[m], 4) for m in METRIC_KEYS]] for r in result.rows],
    )
    total = sum(result.weights.values()) or 1
    _sheet(
        workbook,
        _("权重"),
        [_("指标"), _("权重"), _("占比（%）")],
        [[str(m.label), result.weights[m.key], round(result.weights[m.key] * 100 / total, 2)] for m in METRICS],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record("assessment.export", result.campaign, after={"events": len(result.rows)}, actor=actor)
    return buffer.getvalue()
