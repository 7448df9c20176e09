"""Competition services (创新大赛): setup, entries, eligibility, rounds judged by the shared engine,
advancement with ties, awards and the published results.

Rules kept here (views only parse and render; every function adds to the session and the caller
commits, refusals raise :class:`CompetitionError` with Chinese messages):

* **Eligibility** is checked when an entry is made or carried over and again whenever the
  organiser changes the rules. Each failed rule gives its own Chinese reason; a failing entry is
  marked ``ineligible`` with the reasons (visible to the organiser and the entrant). The organiser
  may **override** with a note: the entry becomes eligible again and ``ineligible_reason`` keeps the
  original reasons followed by the note, so an entry that is not ``ineligible`` but has a reason
  is an overridden one — re-checking the rules later leaves it alone.
* **Scoring** is never done here: each round has a ``JudgingRound`` of the engine (key
  ``competition-round:<round_id>``) whose items are the entries in that round (ref_type
  ``competition_entry``). Conflicts of interest are the engine's: an entry's conflict bases are the
  demonstration bases the entrant *is* (same name as the organisation) and, for a project carried
  over from a road show, the base that hosted that theme day; judges may also declare a conflict
  on their score sheet (or the organiser records it for them) and the item is reassigned.
* **Advancement** (:func:`decide_round`) reads the engine's normalised scores, ranks entries within
  their track (equal scores, compared to 6 decimals, share a rank) and advances the top N per track
  or everyone at or above the threshold. **Ties at the cut**: by default every entry tied with the
  last place that advances also advances (more than N go through; nobody loses on an arbitrary
  rule) — or, if the organiser chooses ``tie_policy="tie_break"``, the engine's stated tie rule
  (raw mean, then number of sheets, then item number) picks exactly N. Either way the affected
  results carry a ``tie_note`` saying what happened. An entry without any submitted score sheet
  blocks the decision (it must not be eliminated unscored).
* The last round does not eliminate: its ranking is the basis of the awards. Results are public
  only after :func:`publish_results`; before that the public results page does not exist.
* A decision can be **reopened** (:func:`reopen_round`, with a reason) until the results are
  published and while the next round has not started scoring; it undoes exactly what
  :func:`decide_round` did (and the next round's unscored preparation, the final's awards).
* The organiser may **correct an entry** (:func:`update_entry`) with the entry form's checks; its
  track is fixed once it was ranked in a decided round.
"""

from __future__ import annotations

import hmac
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eventhub.auth.models import User
from eventhub.bases.forms import PROVINCES
from eventhub.bases.models import DemonstrationBase
from eventhub.competitions.models import (
    AdvanceMode,
    Award,
    Competition,
    CompetitionEntry,
    CompetitionRound,
    CompetitionStatus,
    CompetitionTrack,
    EntryStatus,
    RoundResult,
    RoundStatus,
)
from eventhub.core import audit
from eventhub.core.audit import AuditLog
from eventhub.core.i18n import N_, join_list
from eventhub.core.locking import lock_for_change
from eventhub.core.mail import send_mail
from eventhub.core.timeutil import format_local, utcnow
from eventhub.core.tokens import hash_token, new_token
from eventhub.core.urls import external_url
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import Assignment, AssignmentStatus, JudgingItem, JudgingRound
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow.models import ApplicationStatus, ProjectApplication, ProjectFields
from eventhub.roadshow.project_fields import clean_project_fields

# ---- constants --------------------------------------------------------------------------
ENTRY_REF = "competition_entry"  # ref_type of the engine's items
ROUND_KEY = "competition-round:{round_id}"
ROUND_PRESETS = ("初赛", "复赛", "决赛")
DEFAULT_CRITERIA = [
    ("技术创新性", 0.3, "核心技术的先进性、原创性与知识产权"),
    ("市场前景", 0.25, "市场规模、商业模式与竞争优势"),
    ("团队能力", 0.25, "团队结构、经验与执行力"),
    ("产业带动", 0.2, "与产业链、供应链的融通协同和示范带动作用"),
]
NAME_MAX, ORGANISER_MAX, DESCRIPTION_MAX = 200, 200, 5000
TRACK_MAX, ROUND_NAME_MAX = 100, 100
SUMMARY_MIN, SUMMARY_MAX = 100, 800  # 字数 of an entry's summary (same defaults as a road-show call)
NOTE_MAX, REASON_MAX = 300, 2000
TIE_POLICIES = ("advance_all", "tie_break")
RATE_LIMIT = "5 per minute; 30 per hour"  # entry POSTs per client IP (config COMPETITION_ENTRY_RATE_LIMIT)
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
REGIONS = tuple(p for p in PROVINCES if p != "中央企业")  # provinces; 中央企业 is not a region
AWARD_PRESETS = {1: N_("一等奖"), 2: N_("二等奖"), 3: N_("三等奖")}
_PRECISION = 6


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class CompetitionError(ValueError):
    """A competition rule was broken; ``errors`` maps form fields to Chinese messages."""

    def __init__(self, errors: Mapping[str, str] | str, *, duplicate: bool = False, closed: bool = False) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        self.duplicate = duplicate
        self.closed = closed
        super().__init__("；".join(self.errors.values()))


# ---- tokens (the entrant's private link; the approach of events/responses.py) -------------


def find_by_token(token: str) -> CompetitionEntry | None:
    """The entry whose private link carries ``token``; looked up by SHA-256, compared in constant time."""
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    entry = db.session.scalar(select(CompetitionEntry).where(CompetitionEntry.token_hash == digest))
    if entry is None or not hmac.compare_digest(entry.token_hash, digest):
        return None
    return entry


def private_url(token: str) -> str:
    return external_url("competitions.entry_private", token=token)


# ---- competitions ---------------------------------------------------------------------------


def get_competition(competition_id: int) -> Competition | None:
    return db.session.get(Competition, competition_id)


def list_competitions() -> Any:
    return select(Competition).order_by(Competition.created_at.desc(), Competition.id.desc())


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CompetitionError({"founded_after": _("日期格式应为 YYYY-MM-DD。")}) from None


def clean_eligibility(org_types: Iterable[str], founded_after: Any, regions: Iterable[str]) -> dict[str, Any]:
    """The stored form of the eligibility rules; unknown values are refused."""
    errors: dict[str, str] = {}
    types = [t for t in dict.fromkeys(org_types or []) if t]
    if any(t not in {o.value for o in OrgType} for t in types):
        errors["org_types"] = _("单位类型无效。")
    regs = [r for r in dict.fromkeys(regions or []) if r]
    if any(r not in REGIONS for r in regs):
        errors["regions"] = _("地区无效，请从列表中选择省级行政区。")
    try:
        after = _parse_date(founded_after)
    except CompetitionError as exc:
        errors.update(exc.errors)
        after = None
    if errors:
        raise CompetitionError(errors)
    return {"org_types": types, "founded_after": after.isoformat() if after else None, "regions": regs}


def save_competition(data: Mapping[str, Any], actor: Any, competition: Competition | None = None) -> Competition:
    """Create or edit a competition. ``data``: name, organiser_name, description, event_id,
    entry_opens_at / entry_closes_at (aware datetimes or None), org_types, founded_after, regions."""
    errors: dict[str, str] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = _("请填写大赛名称。")
    elif len(name) > NAME_MAX:
        errors["name"] = _("大赛名称不能超过 %(n)d 个字符。", n=NAME_MAX)
    organiser = (data.get("organiser_name") or "").strip()
    if len(organiser) > ORGANISER_MAX:
        errors["organiser_name"] = _("主办单位不能超过 %(n)d 个字符。", n=ORGANISER_MAX)
    description = (data.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("大赛介绍不能超过 %(n)d 个字符。", n=DESCRIPTION_MAX)
    event_id = data.get("event_id") or None
    if event_id is not None and db.session.get(Event, int(event_id)) is None:
        errors["event_id"] = _("所选主题日不存在。")
    opens, closes = data.get("entry_opens_at"), data.get("entry_closes_at")
    if (opens is None) != (closes is None):
        errors["entry_closes_at"] = _("报名开始和截止时间须同时填写，或都不填。")
    elif opens is not None and closes is not None and opens >= closes:
        errors["entry_closes_at"] = _("报名截止时间必须晚于开始时间。")
    try:
        rules = clean_eligibility(data.get("org_types") or [], data.get("founded_after"), data.get("regions") or [])
    except CompetitionError as exc:
        errors.update(exc.errors)
        rules = {}
    if errors:
        raise CompetitionError(errors)
    creating = competition is None
    if competition is None:
        competition = Competition(status=CompetitionStatus.DRAFT.value)
        db.session.add(competition)
    before = None if creating else _competition_snapshot(competition)
    rules_changed = not creating and (competition.eligibility or {}) != rules
    competition.name = name
    competition.organiser_name = organiser
    competition.description = description
    competition.event_id = int(event_id) if event_id else None
    competition.entry_opens_at = opens
    competition.entry_closes_at = closes
    competition.eligibility = rules
    db.session.flush()
    audit.record("competition.create" if creating else "competition.update", competition, before=before, after=_competition_snapshot(competition), actor=actor)
    if rules_changed:
        recheck_eligibility(competition, actor)
    return competition


def _competition_snapshot(c: Competition) -> dict[str, Any]:
    return {
        "name": c.name,
        "organiser_name": c.organiser_name,
        "event_id": c.event_id,
        "status": c.status,
        "eligibility": c.eligibility,
        "entry_opens_at": c.entry_opens_at.isoformat() if c.entry_opens_at else None,
        "entry_closes_at": c.entry_closes_at.isoformat() if c.entry_closes_at else None,
    }


def entries_open(competition: Competition, at: datetime | None = None) -> bool:
    """True while the public entry form accepts entries (status open and inside the window, to the second)."""
    if competition.status != CompetitionStatus.OPEN.value or competition.entry_opens_at is None or competition.entry_closes_at is None:
        return False
    now = (at or utcnow()).replace(microsecond=0)
    return competition.entry_opens_at <= now <= competition.entry_closes_at


def open_entries(competition: Competition, actor: Any) -> None:
    """Draft → open: needs at least one track, one round and an entry window."""
    if competition.status != CompetitionStatus.DRAFT.value:
        raise CompetitionError(_("只有筹备中的大赛可以开放报名。"))
    problems = []
    if not competition.tracks:
        problems.append(_("请先设置至少一个赛道。"))
    if not competition.rounds:
        problems.append(_("请先设置至少一个轮次。"))
    if competition.entry_opens_at is None:
        problems.append(_("请先设置报名时间。"))
    if problems:
        raise CompetitionError(" ".join(problems))
    competition.status = CompetitionStatus.OPEN.value
    audit.record("competition.open", competition, before={"status": "draft"}, after={"status": competition.status}, actor=actor)


# ---- tracks and rounds -----------------------------------------------------------------------


def save_tracks(competition: Competition, names: list[str], actor: Any) -> None:
    """Replace the tracks (order = list order). A track that already has entries cannot be removed."""
    wanted = [n.strip() for n in names if n and n.strip()]
    errors: dict[str, str] = {}
    if not wanted:
        errors["tracks"] = _("至少需要一个赛道。")
    if len(set(wanted)) != len(wanted):
        errors["tracks"] = _("赛道名称不能重复。")
    if any(len(n) > TRACK_MAX for n in wanted):
        errors["tracks"] = _("赛道名称不能超过 %(n)d 个字符。", n=TRACK_MAX)
    if errors:
        raise CompetitionError(errors)
    existing = {t.name: t for t in competition.tracks}
    removed = [t for name, t in existing.items() if name not in wanted]
    used = {
        tid for (tid,) in db.session.execute(select(CompetitionEntry.track_id).where(CompetitionEntry.track_id.in_([t.id for t in removed] or [-1])).distinct())
    }
    blocked = [t.name for t in removed if t.id in used]
    if blocked:
        raise CompetitionError({"tracks": _("赛道“%(names)s”已有参赛项目，不能删除（可改名）。", names=join_list(blocked))})
    before = [t.name for t in competition.tracks]
    for track in removed:
        competition.tracks.remove(track)
    db.session.flush()
    for position, name in enumerate(wanted):
        track = existing.get(name)
        if track is None:
            track = CompetitionTrack(name=name)
            competition.tracks.append(track)
        track.position = position
    db.session.flush()
    audit.record("competition.tracks", competition, before={"tracks": before}, after={"tracks": wanted}, actor=actor)


def rename_track(track: CompetitionTrack, name: str, actor: Any) -> None:
    name = (name or "").strip()
    if not name or len(name) > TRACK_MAX:
        raise CompetitionError({"name": _("请填写赛道名称（不超过 %(n)d 个字符）。", n=TRACK_MAX)})
    if any(t.name == name and t.id != track.id for t in track.competition.tracks):
        raise CompetitionError({"name": _("赛道名称不能重复。")})
    before = track.name
    track.name = name
    audit.record("competition.track_rename", track, before={"name": before}, after={"name": name}, actor=actor)


@dataclass
class RoundSpec:
    """One row of the rounds editor; ``id`` keeps an existing round."""

    name: str
    advance_mode: str = AdvanceMode.TOP_N.value
    advance_n: int | None = None
    threshold: float | None = None
    id: int | None = None


def save_rounds(competition: Competition, specs: list[RoundSpec], actor: Any) -> None:
    """Replace the rounds (order = list order). Rounds whose scoring has started keep their place and
    rules; they cannot be removed. Every round but the last needs its advancement rule."""
    errors: dict[str, str] = {}
    if not specs:
        raise CompetitionError({"rounds": _("至少需要一个轮次。")})
    by_id = {r.id: r for r in competition.rounds}
    frozen = {r.id for r in competition.rounds if r.status != RoundStatus.SETUP.value or r.judging_round_id is not None}
    kept_ids = {s.id for s in specs if s.id is not None}
    for rid in frozen - kept_ids:
        errors["rounds"] = _("轮次“%(name)s”已开始评审，不能删除。", name=by_id[rid].name)
    names = [(s.name or "").strip() for s in specs]
    for index, (spec, name) in enumerate(zip(specs, names, strict=True)):
        last = index == len(specs) - 1
        if not name or len(name) > ROUND_NAME_MAX:
            errors[f"round-{index}"] = _("第 %(n)d 轮：请填写轮次名称（不超过 %(max)d 个字符）。", n=index + 1, max=ROUND_NAME_MAX)
            continue
        if spec.id is not None and spec.id not in by_id:
            errors[f"round-{index}"] = _("第 %(n)d 轮：轮次不存在。", n=index + 1)
            continue
        if spec.id in frozen:
            old = by_id[spec.id]
            if old.position != index + 1 or (
                not last and (old.advance_mode, old.advance_n, old.threshold) != (spec.advance_mode, spec.advance_n, spec.threshold)
            ):
                errors[f"round-{index}"] = _("第 %(n)d 轮“%(name)s”已开始评审，不能调整顺序或晋级规则。", n=index + 1, name=old.name)
            continue
        if last:
            continue
        if spec.advance_mode == AdvanceMode.TOP_N.value:
            if spec.advance_n is None or spec.advance_n < 1:
                errors[f"round-{index}"] = _("第 %(n)d 轮：请填写每个赛道晋级的名额（至少 1 个）。", n=index + 1)
        elif spec.advance_mode == AdvanceMode.THRESHOLD.value:
            if spec.threshold is None:
                errors[f"round-{index}"] = _("第 %(n)d 轮：请填写晋级分数线。", n=index + 1)
        else:
            errors[f"round-{index}"] = _("第 %(n)d 轮：晋级方式无效。", n=index + 1)
    if len(set(names)) != len(names):
        errors["rounds"] = _("轮次名称不能重复。")
    if errors:
        raise CompetitionError(errors)
    before = [_round_snapshot(r) for r in competition.rounds]
    for round_ in list(competition.rounds):
        if round_.id not in kept_ids:
            competition.rounds.remove(round_)
    # positions are unique per competition: move everything out of the way first
    for round_ in competition.rounds:
        round_.position += 1000
    db.session.flush()
    for index, spec in enumerate(specs):
        round_ = by_id.get(spec.id) if spec.id is not None else None
        if round_ is None:
            round_ = CompetitionRound(status=RoundStatus.SETUP.value)
            competition.rounds.append(round_)
        round_.name = names[index]
        round_.position = index + 1
        if round_.id not in frozen:
            round_.advance_mode = spec.advance_mode or AdvanceMode.TOP_N.value
            round_.advance_n = spec.advance_n if round_.advance_mode == AdvanceMode.TOP_N.value else None
            round_.threshold = spec.threshold if round_.advance_mode == AdvanceMode.THRESHOLD.value else None
    db.session.flush()
    competition.rounds.sort(key=lambda r: r.position)
    audit.record("competition.rounds", competition, before={"rounds": before}, after={"rounds": [_round_snapshot(r) for r in competition.rounds]}, actor=actor)


def _round_snapshot(r: CompetitionRound) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "position": r.position, "mode": r.advance_mode, "n": r.advance_n, "threshold": r.threshold, "status": r.status}


def is_final(round_: CompetitionRound) -> bool:
    return round_.position == max(r.position for r in round_.competition.rounds)


def previous_round(round_: CompetitionRound) -> CompetitionRound | None:
    earlier = [r for r in round_.competition.rounds if r.position < round_.position]
    return max(earlier, key=lambda r: r.position) if earlier else None


def next_round(round_: CompetitionRound) -> CompetitionRound | None:
    later = [r for r in round_.competition.rounds if r.position > round_.position]
    return min(later, key=lambda r: r.position) if later else None


def final_round(competition: Competition) -> CompetitionRound | None:
    return max(competition.rounds, key=lambda r: r.position) if competition.rounds else None


# ---- eligibility --------------------------------------------------------------------------------


def eligibility_failures(competition: Competition, *, org_type: str, founded_on: date | None, region: str) -> list[str]:
    """One Chinese reason per failed rule (empty when the entry is eligible)."""
    rules = competition.eligibility or {}
    reasons: list[str] = []
    types = rules.get("org_types") or []
    if types and org_type not in types:
        allowed = join_list(_(ORG_TYPE_LABELS[OrgType(t)]) for t in types)
        shown = _(ORG_TYPE_LABELS[OrgType(org_type)]) if org_type in {o.value for o in OrgType} else org_type or _("未填写")
        reasons.append(_("单位类型为“%(type)s”，本赛仅限：%(allowed)s。", type=shown, allowed=allowed))
    after = rules.get("founded_after")
    if after:
        limit = date.fromisoformat(after)
        if founded_on is None:
            reasons.append(_("未填写成立日期，无法核对“%(date)s 之后成立”的条件。", date=limit.isoformat()))
        elif founded_on <= limit:
            reasons.append(_("成立于 %(founded)s，本赛仅限 %(date)s 之后成立的单位。", founded=founded_on.isoformat(), date=limit.isoformat()))
    regions = rules.get("regions") or []
    if regions and region not in regions:
        reasons.append(_("所在地区为“%(region)s”，本赛仅限：%(allowed)s。", region=region or _("未填写"), allowed=join_list(regions)))
    return reasons


def _apply_eligibility(entry: CompetitionEntry, competition: Competition) -> None:
    reasons = eligibility_failures(competition, org_type=entry.org_type, founded_on=entry.founded_on, region=entry.region)
    if reasons:
        entry.status = EntryStatus.INELIGIBLE.value
        entry.ineligible_reason = "\n".join(reasons)
    else:
        entry.status = EntryStatus.SUBMITTED.value
        entry.ineligible_reason = ""


def is_overridden(entry: CompetitionEntry) -> bool:
    """An organiser accepted this entry despite failed rules (see the module docstring)."""
    return entry.status != EntryStatus.INELIGIBLE.value and bool(entry.ineligible_reason)


def recheck_eligibility(competition: Competition, actor: Any) -> int:
    """Apply changed rules to entries not yet in a round (overridden ones are left alone); returns changes."""
    changed = 0
    query = select(CompetitionEntry).where(
        CompetitionEntry.competition_id == competition.id,
        CompetitionEntry.status.in_([EntryStatus.SUBMITTED.value, EntryStatus.INELIGIBLE.value]),
    )
    for entry in db.session.scalars(query):
        if is_overridden(entry):
            continue
        before = (entry.status, entry.ineligible_reason)
        _apply_eligibility(entry, competition)
        if (entry.status, entry.ineligible_reason) != before:
            changed += 1
            audit.record(
                "competition_entry.eligibility",
                entry,
                before={"status": before[0]},
                after={"status": entry.status, "reason": entry.ineligible_reason},
                actor=actor,
            )
    return changed


def override_eligibility(entry: CompetitionEntry, note: str, actor: Any) -> None:
    """The organiser admits an ineligible entry; the note is required and kept with the reasons."""
    if entry.status != EntryStatus.INELIGIBLE.value:
        raise CompetitionError(_("该项目未被判定为不符合条件。"))
    note = (note or "").strip()
    if not note:
        raise CompetitionError({"note": _("请说明认定符合条件的理由。")})
    if len(note) > NOTE_MAX:
        raise CompetitionError({"note": _("说明不能超过 %(n)d 个字符。", n=NOTE_MAX)})
    before = {"status": entry.status, "reason": entry.ineligible_reason}
    entry.status = EntryStatus.SUBMITTED.value
    entry.ineligible_reason = f"{entry.ineligible_reason}\n{_('组织方认定符合条件：')}{note}"
    audit.record("competition_entry.override", entry, before=before, after={"status": entry.status, "note": note}, actor=actor)


def override_note(entry: CompetitionEntry) -> str:
    return entry.ineligible_reason if is_overridden(entry) else ""


# ---- entries ----------------------------------------------------------------------------------


def _clean_entry_extras(competition: Competition, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The competition's own fields: track, 成立日期, 所在地区."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    track_id = data.get("track_id")
    track = next((t for t in competition.tracks if str(t.id) == str(track_id)), None)
    if track is None:
        errors["track_id"] = _("请选择赛道。")
    values["track"] = track
    raw = (data.get("founded_on") or "").strip() if isinstance(data.get("founded_on"), str) else data.get("founded_on")
    if not raw:
        errors["founded_on"] = _("请填写单位成立日期。")
        values["founded_on"] = None
    else:
        try:
            values["founded_on"] = raw if isinstance(raw, date) else date.fromisoformat(raw)
            if values["founded_on"] > utcnow().date():
                errors["founded_on"] = _("成立日期不能晚于今天。")
        except ValueError:
            errors["founded_on"] = _("日期格式应为 YYYY-MM-DD。")
            values["founded_on"] = None
    region = (data.get("region") or "").strip()
    if region not in REGIONS:
        errors["region"] = _("请选择所在地区。")
    values["region"] = region
    return values, errors


def clean_entry(competition: Competition, data: Mapping[str, Any]) -> dict[str, Any]:
    """All fields of an entry: the shared project fields (one validation for road shows and
    competitions, :func:`eventhub.roadshow.project_fields.clean_project_fields`) plus track,
    founding date and region. Raises :class:`CompetitionError` with every field's message."""
    values, errors = clean_project_fields(data, fields=[], summary_min=SUMMARY_MIN, summary_max=SUMMARY_MAX)
    extras, extra_errors = _clean_entry_extras(competition, data)
    errors = {**dict(errors), **extra_errors}
    if errors:
        raise CompetitionError(errors)
    return {**values, **extras}


def _project_columns() -> list[str]:
    return [name for name, value in vars(ProjectFields).items() if not name.startswith("_") and name not in ("deck_file", "stage_label")]


def _store_entry(entry: CompetitionEntry) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        raise CompetitionError(
            {"project_name": _("该联系人已用同一项目名称报名本大赛，请勿重复提交（如需修改请使用报名后收到的专属链接）。")}, duplicate=True
        ) from None


def submit_entry(
    competition: Competition, data: Mapping[str, Any], deck: Any = None, *, locale: str | None = None, at: datetime | None = None
) -> tuple[CompetitionEntry, str]:
    """A public entry (from scratch). Checked on the server: the window, every field, eligibility.

    Returns the entry and its private-link token (only its SHA-256 is stored). An ineligible
    entry is still stored (marked, with the reasons) so the organiser can see and override it.
    """
    if not entries_open(competition, at):
        raise CompetitionError(_("本大赛目前不接受报名。"), closed=True)
    values = clean_entry(competition, data)
    deck_file = None
    if deck is not None and getattr(deck, "filename", ""):
        from eventhub.core.uploads import PDF_ONLY, UploadError, save_upload

        try:
            deck_file = save_upload(deck, kinds=PDF_ONLY)
        except UploadError as exc:
            raise CompetitionError({"deck": str(exc)}) from None
    token = new_token()
    track = values.pop("track")
    entry = CompetitionEntry(competition_id=competition.id, track_id=track.id, token_hash=hash_token(token), locale=locale)
    for name, value in values.items():
        if hasattr(CompetitionEntry, name):
            setattr(entry, name, value)
    if deck_file is not None:
        db.session.flush()
        entry.deck_file_id = deck_file.id
    _apply_eligibility(entry, competition)
    _store_entry(entry)
    audit.record("competition_entry.submit", entry, after={"project": entry.project_name, "status": entry.status}, actor=None)
    _mail_received(entry, token, carried=False)
    return entry, token


def carry_over(
    application: ProjectApplication,
    competition: Competition,
    track: CompetitionTrack,
    actor: Any,
    *,
    founded_on: date | None = None,
    region: str = "",
) -> tuple[CompetitionEntry, str]:
    """Carry a shortlisted road-show project into a competition, copying its project fields.

    The application has no founding date or region, so the organiser may give them; without them
    a rule that needs them fails with a reason saying what is missing (and may be overridden).
    The entrant gets a private link by mail like any entrant. Works whether entries are open or not.
    """
    if track.competition_id != competition.id:
        raise CompetitionError({"track_id": _("赛道不属于该大赛。")})
    if application.status != ApplicationStatus.SHORTLISTED.value:
        raise CompetitionError(_("只有入围路演的项目可以转入大赛。"))
    if competition.status == CompetitionStatus.FINISHED.value:
        raise CompetitionError(_("大赛已结束。"))
    if region and region not in REGIONS:
        raise CompetitionError({"region": _("请选择所在地区。")})
    token = new_token()
    entry = CompetitionEntry(
        competition_id=competition.id,
        track_id=track.id,
        application_id=application.id,
        founded_on=founded_on,
        region=region,
        token_hash=hash_token(token),
        locale=application.locale,
    )
    for name in _project_columns():
        value = getattr(application, name)
        setattr(entry, name, list(value) if isinstance(value, list) else value)
    _apply_eligibility(entry, competition)
    try:
        _store_entry(entry)
    except CompetitionError:
        raise CompetitionError(_("该项目已在本大赛中（同一联系人、同一项目名称）。"), duplicate=True) from None
    audit.record("competition_entry.carry_over", entry, after={"application_id": application.id, "status": entry.status}, actor=actor)
    _mail_received(entry, token, carried=True)
    return entry, token


def withdraw_entry(entry: CompetitionEntry, actor: Any = None) -> None:
    """The entrant withdraws (private page); possible until the competition is finished."""
    if entry.status in (EntryStatus.WITHDRAWN.value, EntryStatus.ELIMINATED.value):
        raise CompetitionError(_("该项目已退赛或已被淘汰。"))
    competition = db.session.get(Competition, entry.competition_id)
    if competition.status == CompetitionStatus.FINISHED.value:
        raise CompetitionError(_("大赛已结束，不能退赛。"))
    before = entry.status
    entry.status = EntryStatus.WITHDRAWN.value
    if entry.reached_round_id:
        round_ = db.session.get(CompetitionRound, entry.reached_round_id)
        if round_ is not None and round_.judging_round_id and round_.status != RoundStatus.DECIDED.value:
            sync_round_items(round_)
    audit.record("competition_entry.withdraw", entry, before={"status": before}, after={"status": entry.status}, actor=actor)


# ---- the organiser corrects an entry ----------------------------------------------------------------

ENTRY_EDIT_FIELDS = (
    "track_id",
    "org_name",
    "org_type",
    "uscc",
    "founded_on",
    "region",
    "contact_name",
    "contact_mobile",
    "contact_email",
    "presenters",
    "project_name",
    "field",
    "stage",
    "seeking",
    "summary",
)


@dataclass
class EntryEdit:
    """The outcome of :func:`update_entry`: the changed fields (before, after) and what eligibility did."""

    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    override_kept: bool = False  # the organiser's earlier override stands; the rules were not re-applied
    now_ineligible: list[str] = field(default_factory=list)  # reasons, when the entry became ineligible
    rule_failures: list[str] = field(default_factory=list)  # an entry already competing now fails these rules (not applied)


def _edit_snapshot(entry: CompetitionEntry) -> dict[str, Any]:
    out = {name: getattr(entry, name) for name in ENTRY_EDIT_FIELDS}
    out["founded_on"] = entry.founded_on.isoformat() if entry.founded_on else None
    out["presenters"] = [dict(p) for p in entry.presenters or []]
    out["deck_file_id"] = entry.deck_file_id
    out["status"] = entry.status
    out["ineligible_reason"] = entry.ineligible_reason
    return out


def track_locked_reason(entry: CompetitionEntry) -> str | None:
    """Why the entry's track can no longer change (it was ranked within it in a decided round), or None."""
    name = db.session.scalar(
        select(CompetitionRound.name)
        .join(RoundResult, RoundResult.round_id == CompetitionRound.id)
        .where(RoundResult.entry_id == entry.id, CompetitionRound.status == RoundStatus.DECIDED.value)
        .order_by(CompetitionRound.position)
        .limit(1)
    )
    if name is None:
        return None
    return _("该项目在“%(round)s”中已按赛道排名并确定结果，不能再更换赛道（如确需更换，请先撤销该轮结果）。", round=name)


def update_entry(entry: CompetitionEntry, data: Mapping[str, Any], actor: Any, deck: Any = None) -> EntryEdit:
    """修改参赛项目信息: the organiser corrects an entry (a typo in the organisation, the wrong track,
    a wrong 统一社会信用代码) at any time, with the entry form's own validation (:func:`clean_entry`).

    * The **track** may not change once the entry was ranked in a decided round (results and
      advancement were computed within the track); reopening that round lifts the lock.
    * **Eligibility** is re-checked like at entry time — unless the organiser overrode it earlier:
      the override is kept (it was a judgement about this entrant, not about a field value) and the
      outcome says so. An entry already competing (active, eliminated, withdrawn) keeps its status,
      as a change of the rules leaves it alone too (:func:`recheck_eligibility`); rules it now fails
      are reported to the organiser instead of silently taking it out of a round.
    * A new pitch deck replaces the old one (optional; checked by content like at entry time).
    * Audited with before/after of the changed fields only; nothing changed → no audit row.
    * While the entry's current round is not decided, its judging item is refreshed (title and
      conflict bases follow the organisation name and track).
    """
    competition = db.session.get(Competition, entry.competition_id)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values = clean_entry(competition, data)
    except CompetitionError as exc:
        errors = dict(exc.errors)
    if str(data.get("track_id") or "") != str(entry.track_id) and "track_id" not in errors:
        locked = track_locked_reason(entry)
        if locked:
            errors["track_id"] = locked
    if errors:
        raise CompetitionError(errors)
    deck_file = None
    if deck is not None and getattr(deck, "filename", ""):
        from eventhub.core.uploads import PDF_ONLY, UploadError, save_upload

        try:
            deck_file = save_upload(deck, kinds=PDF_ONLY, uploaded_by=actor)
        except UploadError as exc:
            raise CompetitionError({"deck": str(exc)}) from None
        db.session.flush()  # the file's id, before the entry changes (its flush may be refused below)
    before = _edit_snapshot(entry)
    outcome = EntryEdit()
    track = values.pop("track")
    entry.track, entry.track_id = track, track.id  # both: the judging item's title reads the relationship
    for name in ENTRY_EDIT_FIELDS:
        if name in values:
            setattr(entry, name, values[name])
    if deck_file is not None:
        entry.deck_file_id = deck_file.id
    if is_overridden(entry):
        outcome.override_kept = True
    elif entry.status in (EntryStatus.SUBMITTED.value, EntryStatus.INELIGIBLE.value):
        _apply_eligibility(entry, competition)
        if entry.status == EntryStatus.INELIGIBLE.value:
            outcome.now_ineligible = entry.ineligible_reason.split("\n")
    else:
        outcome.rule_failures = eligibility_failures(competition, org_type=entry.org_type, founded_on=entry.founded_on, region=entry.region)
    after = _edit_snapshot(entry)
    outcome.changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if not outcome.changes:
        return outcome
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise CompetitionError({"project_name": _("本大赛中已有同一联系人手机号码、同一项目名称的报名，请核对。")}) from None
    round_ = db.session.get(CompetitionRound, entry.reached_round_id) if entry.reached_round_id else None
    if round_ is not None and round_.judging_round_id and round_.status != RoundStatus.DECIDED.value:
        sync_round_items(round_)
    audit.record(
        "competition_entry.edit",
        entry,
        before={k: v[0] for k, v in outcome.changes.items()},
        after={**{k: v[1] for k, v in outcome.changes.items()}, **({"override_kept": True} if outcome.override_kept else {})},
        actor=actor,
    )
    return outcome


def _mail_received(entry: CompetitionEntry, token: str, *, carried: bool) -> None:
    competition = db.session.get(Competition, entry.competition_id)
    send_mail(
        entry.contact_email,
        "competition_entry_received",
        key=f"competition-entry-received:{entry.id}",
        locale=entry.locale,
        entry=entry,
        competition=competition,
        carried=carried,
        private_url=private_url(token),
        submitted_at=format_local(entry.created_at or utcnow()),
    )


def entry_query(competition: Competition, *, status: str = "", track_id: int | None = None, q: str = "", round_id: int | None = None) -> Any:
    query = select(CompetitionEntry).where(CompetitionEntry.competition_id == competition.id)
    if status:
        query = query.where(CompetitionEntry.status == status)
    if track_id:
        query = query.where(CompetitionEntry.track_id == track_id)
    if round_id:
        query = query.where(CompetitionEntry.reached_round_id == round_id)
    if q:
        like = q.strip()
        query = query.where(
            CompetitionEntry.project_name.icontains(like, autoescape=True)
            | CompetitionEntry.org_name.icontains(like, autoescape=True)
            | CompetitionEntry.contact_name.icontains(like, autoescape=True)
        )
    return query.order_by(CompetitionEntry.track_id, CompetitionEntry.id)


def status_counts(competition: Competition) -> dict[str, int]:
    rows = db.session.execute(
        select(CompetitionEntry.status, func.count()).where(CompetitionEntry.competition_id == competition.id).group_by(CompetitionEntry.status)
    )
    return {status: n for status, n in rows}


def export_entries_xlsx(competition: Competition, entries: list[CompetitionEntry]) -> bytes:
    """The entries list as XLSX (what the organiser filtered)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("参赛项目")
    headers = [
        _("编号"),
        _("赛道"),
        _("项目名称"),
        _("单位名称"),
        _("单位类型"),
        _("统一社会信用代码"),
        _("成立日期"),
        _("所在地区"),
        _("联系人"),
        _("手机号码"),
        _("电子邮箱"),
        _("技术领域"),
        _("项目阶段"),
        _("融资或合作需求"),
        _("状态"),
        _("资格说明"),
        _("来源"),
        _("报名时间（北京时间）"),
    ]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for e in entries:
        ws.append(
            [
                e.id,
                e.track.name,
                e.project_name,
                e.org_name,
                _(ORG_TYPE_LABELS[OrgType(e.org_type)]) if e.org_type in {o.value for o in OrgType} else e.org_type,
                e.uscc,
                e.founded_on.isoformat() if e.founded_on else "",
                e.region,
                e.contact_name,
                e.contact_mobile,
                e.contact_email,
                e.field,
                e.stage_label,
                e.seeking,
                entry_status_label(e.status),
                e.ineligible_reason,
                _("路演转入") if e.application_id else _("直接报名"),
                format_local(e.created_at),
            ]
        )
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


ENTRY_STATUS_LABELS = {
    EntryStatus.SUBMITTED.value: N_("已报名"),
    EntryStatus.INELIGIBLE.value: N_("不符合条件"),
    EntryStatus.ACTIVE.value: N_("参赛中"),
    EntryStatus.ELIMINATED.value: N_("已淘汰"),
    EntryStatus.WITHDRAWN.value: N_("已退赛"),
}
ROUND_STATUS_LABELS = {RoundStatus.SETUP.value: N_("准备中"), RoundStatus.SCORING.value: N_("评分中"), RoundStatus.DECIDED.value: N_("已确定晋级")}


def entry_status_label(status: str) -> str:
    return _(ENTRY_STATUS_LABELS.get(status, status))


def round_status_label(status: str) -> str:
    return _(ROUND_STATUS_LABELS.get(status, status))


# ---- rounds and the judging engine -------------------------------------------------------------


def judging_round(round_: CompetitionRound) -> JudgingRound | None:
    return db.session.get(JudgingRound, round_.judging_round_id) if round_.judging_round_id else None


def entries_in_round(round_: CompetitionRound) -> list[CompetitionEntry]:
    """The entries competing in ``round_``: for the first round every eligible entry (once the
    round is prepared they are marked as having reached it); later rounds: those advanced into it."""
    query = select(CompetitionEntry).where(CompetitionEntry.competition_id == round_.competition_id)
    if previous_round(round_) is None and round_.status == RoundStatus.SETUP.value:
        query = query.where(
            CompetitionEntry.status.in_([EntryStatus.SUBMITTED.value, EntryStatus.ACTIVE.value]),
        )
    else:
        query = query.where(CompetitionEntry.reached_round_id == round_.id, CompetitionEntry.status != EntryStatus.WITHDRAWN.value)
    return list(db.session.scalars(query.order_by(CompetitionEntry.track_id, CompetitionEntry.id)))


def entry_conflict_bases(entry: CompetitionEntry) -> list[int]:
    """Bases whose people may not judge this entry: a base that *is* the entrant (same name), and
    the base that hosted the road show the project came from."""
    ids = set(db.session.scalars(select(DemonstrationBase.id).where(DemonstrationBase.name == entry.org_name)))
    if entry.application_id:
        application = db.session.get(ProjectApplication, entry.application_id)
        if application is not None:
            host = db.session.scalar(select(Event.host_base_id).where(Event.id == application.event_id))
            if host:
                ids.add(host)
    return sorted(ids)


def entry_review_url(entry: CompetitionEntry) -> str:
    from flask import url_for

    if has_request_context():
        return url_for("competitions.entry_review", entry_id=entry.id)
    return f"/competitions/entries/{entry.id}/review"


def prepare_round(round_: CompetitionRound, actor: Any) -> JudgingRound:
    """Create (or refresh) the round's judging round and its items — the entries in the round.

    Only after the previous round is decided. For the first round this also moves the competition
    to judging and marks every eligible entry as active in it. Calling it again while the round is
    in set-up picks up entries added since (e.g. a late carry-over).
    """
    competition = round_.competition
    prev = previous_round(round_)
    if prev is not None and prev.status != RoundStatus.DECIDED.value:
        raise CompetitionError(_("请先确定上一轮“%(name)s”的晋级结果。", name=prev.name))
    if competition.status == CompetitionStatus.DRAFT.value:
        raise CompetitionError(_("大赛尚在筹备中，请先开放报名。"))
    if round_.status == RoundStatus.DECIDED.value:
        raise CompetitionError(_("本轮已确定晋级结果。"))
    key = ROUND_KEY.format(round_id=round_.id)
    title = f"{competition.name} · {round_.name}"
    jr = judging.get_or_create_round(key=key, title=title, default_criteria=DEFAULT_CRITERIA, scale=(1, 10), judges_per_item=3)
    round_.judging_round_id = jr.id
    if prev is None:
        for entry in entries_in_round(round_):
            if entry.status == EntryStatus.SUBMITTED.value:
                entry.status = EntryStatus.ACTIVE.value
            entry.reached_round_id = round_.id
        if competition.status == CompetitionStatus.OPEN.value:
            competition.status = CompetitionStatus.JUDGING.value
            audit.record("competition.judging", competition, before={"status": "open"}, after={"status": competition.status}, actor=actor)
    db.session.flush()
    sync_round_items(round_)
    audit.record("competition_round.prepare", round_, after={"judging_round_id": jr.id, "entries": len(entries_in_round(round_))}, actor=actor)
    return jr


def sync_round_items(round_: CompetitionRound) -> None:
    jr = judging_round(round_)
    if jr is None:
        return
    specs = [
        judging.ItemSpec(
            ref_type=ENTRY_REF,
            ref_id=e.id,
            title=f"[{e.track.name}] {e.project_name}（{e.org_name}）",
            url=entry_review_url(e),
            conflict_base_ids=entry_conflict_bases(e),
        )
        for e in entries_in_round(round_)
        if e.status == EntryStatus.ACTIVE.value
    ]
    judging.sync_items(jr, specs)


def _require_judging(round_: CompetitionRound) -> JudgingRound:
    jr = judging_round(round_)
    if jr is None:
        raise CompetitionError(_("请先准备本轮评审（生成评审项目）。"))
    return jr


def item_of(round_: CompetitionRound, entry: CompetitionEntry) -> JudgingItem | None:
    jr = judging_round(round_)
    if jr is None:
        return None
    return next((i for i in jr.items if i.ref_type == ENTRY_REF and i.ref_id == entry.id), None)


def round_judges(round_: CompetitionRound) -> list[User]:
    """Judges holding an assignment (in any state) in this round."""
    jr = judging_round(round_)
    if jr is None:
        return []
    ids = {a.judge_id for i in jr.items for a in i.assignments}
    return list(db.session.scalars(select(User).where(User.id.in_(ids or [-1])).order_by(User.id)))


def auto_assign_judges(round_: CompetitionRound, judges: list[User], k: int | None, actor: Any) -> judging.AutoAssignResult:
    """Give each entry of the round ``k`` judges from ``judges`` through the engine (never a conflict)."""
    jr = _require_judging(round_)
    if round_.status == RoundStatus.SETUP.value:
        sync_round_items(round_)
    try:
        return judging.auto_assign(jr, judges, k=k, actor=actor)
    except judging.JudgingError as exc:
        raise CompetitionError(str(exc)) from None


def assign_judge(round_: CompetitionRound, entry: CompetitionEntry, judge: User, actor: Any) -> Assignment:
    item = item_of(round_, entry)
    if item is None:
        raise CompetitionError(_("该项目不在本轮评审中。"))
    try:
        return judging.assign(item, judge, actor)
    except judging.JudgingError as exc:
        raise CompetitionError(str(exc)) from None


def unassign_judge(assignment: Assignment, actor: Any) -> None:
    try:
        judging.unassign(assignment, actor)
    except judging.JudgingError as exc:
        raise CompetitionError(str(exc)) from None


def record_conflict(round_: CompetitionRound, assignment: Assignment, reason: str, actor: Any, candidates: list[User] | None = None) -> judging.ConflictResult:
    """A judge told the organiser of a conflict: recorded through the engine (the judge is never
    assigned that entry again) and the entry goes to the least-loaded eligible judge of ``candidates``
    (default: the round's judges)."""
    judge = db.session.get(User, assignment.judge_id)
    try:
        return judging.declare_conflict(assignment, judge, reason, actor, candidates=candidates if candidates is not None else round_judges(round_))
    except judging.JudgingError as exc:
        raise CompetitionError(str(exc)) from None


def start_scoring(round_: CompetitionRound, actor: Any) -> None:
    jr = _require_judging(round_)
    if round_.status != RoundStatus.SETUP.value:
        raise CompetitionError(_("本轮已开始评分。"))
    sync_round_items(round_)
    if not judging.active_items(jr):
        raise CompetitionError(_("本轮没有参赛项目。"))
    try:
        judging.start_scoring(jr, actor)
    except judging.JudgingError as exc:
        raise CompetitionError(str(exc)) from None
    round_.status = RoundStatus.SCORING.value
    audit.record("competition_round.start_scoring", round_, before={"status": "setup"}, after={"status": round_.status}, actor=actor)


# ---- advancement ----------------------------------------------------------------------------------


@dataclass
class Standing:
    """An entry's place in its track after a round (the preview and the decision use the same)."""

    entry: CompetitionEntry
    score: float | None
    raw_mean: float | None
    submitted: int
    assigned: int
    engine_rank: int | None  # the engine's ranking with its tie rule (for tie_break)
    rank: int | None = None  # competition rank within the track; equal scores share it
    advanced: bool = False
    tied_at_cut: bool = False
    tie_note: str = ""


@dataclass
class TrackStanding:
    track: CompetitionTrack
    rows: list[Standing] = field(default_factory=list)
    tie_at_cut: bool = False
    cut: int | None = None  # N for top-N


def _k(value: float | None) -> float:
    return round(value, _PRECISION) if value is not None else float("-inf")


def standings(round_: CompetitionRound, tie_policy: str = "advance_all") -> list[TrackStanding]:
    """Per track, the entries ranked by normalised score with who would advance under ``tie_policy``."""
    if tie_policy not in TIE_POLICIES:
        raise CompetitionError(_("并列处理方式无效。"))
    jr = _require_judging(round_)
    results = {r.item.ref_id: r for r in judging.aggregate(jr) if r.item.ref_type == ENTRY_REF}
    final = is_final(round_)
    by_track: dict[int, TrackStanding] = {}
    for track in round_.competition.tracks:
        by_track[track.id] = TrackStanding(track=track, cut=round_.advance_n if round_.advance_mode == AdvanceMode.TOP_N.value and not final else None)
    for entry in entries_in_round(round_):
        if entry.status != EntryStatus.ACTIVE.value and round_.status != RoundStatus.DECIDED.value:
            continue
        r = results.get(entry.id)
        row = Standing(
            entry=entry,
            score=r.normalised if r else None,
            raw_mean=r.raw_mean if r else None,
            submitted=r.submitted if r else 0,
            assigned=r.assigned if r else 0,
            engine_rank=r.rank_normalised if r else None,
        )
        by_track.setdefault(entry.track_id, TrackStanding(track=entry.track)).rows.append(row)
    for ts in by_track.values():
        ts.rows.sort(key=lambda s: (-_k(s.score), s.engine_rank or 10**9, s.entry.id))
        previous: float | None = None
        for position, row in enumerate(ts.rows, start=1):
            if row.score is None:
                continue
            row.rank = ts.rows[position - 2].rank if position > 1 and previous is not None and _k(row.score) == _k(previous) else position
            previous = row.score
        if final:
            continue
        if round_.advance_mode == AdvanceMode.THRESHOLD.value:
            for row in ts.rows:
                row.advanced = row.score is not None and _k(row.score) >= _k(round_.threshold)
            continue
        n = round_.advance_n or 0
        scored = [s for s in ts.rows if s.score is not None]
        if len(scored) <= n:
            for row in scored:
                row.advanced = True
            continue
        cut_score = _k(scored[n - 1].score) if n else None
        tied = [s for s in scored if cut_score is not None and _k(s.score) == cut_score]
        straddles = any(s in scored[:n] for s in tied) and any(s not in scored[:n] for s in tied)
        for row in scored[:n]:
            row.advanced = True
        if straddles:
            ts.tie_at_cut = True
            for row in tied:
                row.tied_at_cut = True
            if tie_policy == "advance_all":
                for row in tied:
                    row.advanced = True
                count = sum(1 for s in scored if s.advanced)
                for row in tied:
                    row.tie_note = _("与第 %(n)d 名同分（%(score).2f），按“同分并列晋级”处理，本赛道晋级 %(count)d 个。", n=n, score=row.score, count=count)
            else:
                for row in tied:
                    row.tie_note = (
                        _("与第 %(n)d 名同分（%(score).2f），按评审引擎的并列规则（原始均分、评分表数量、编号）决出：晋级。", n=n, score=row.score)
                        if row.advanced
                        else _("与第 %(n)d 名同分（%(score).2f），按评审引擎的并列规则（原始均分、评分表数量、编号）决出：未晋级。", n=n, score=row.score)
                    )
    return [by_track[t.id] for t in round_.competition.tracks if t.id in by_track]


def decide_round(round_: CompetitionRound, actor: Any, tie_policy: str = "advance_all") -> list[RoundResult]:
    """Decide the round: store each entry's score and rank, advance or eliminate, close the engine's round.

    The final round stores the ranking and eliminates nobody (awards come next). Refused while an
    entry has no submitted score sheet. The round row is locked first, so a second click (or a
    reopening at the same instant) waits and then sees the decided round.
    """
    lock_for_change(round_)
    if round_.status != RoundStatus.SCORING.value:
        raise CompetitionError(_("只有评分中的轮次可以确定晋级结果。"))
    table = standings(round_, tie_policy)
    unscored = [row.entry.project_name for ts in table for row in ts.rows if row.score is None]
    if unscored:
        raise CompetitionError(_("以下项目还没有任何已提交的评分表，不能确定结果：%(names)s", names=join_list(unscored)))
    final = is_final(round_)
    following = next_round(round_)
    out: list[RoundResult] = []
    for ts in table:
        for row in ts.rows:
            result = RoundResult(round_id=round_.id, entry_id=row.entry.id, score=row.score, rank=row.rank, advanced=row.advanced, tie_note=row.tie_note[:300])
            db.session.add(result)
            out.append(result)
            if final:
                continue
            if row.advanced and following is not None:
                row.entry.reached_round_id = following.id
            else:
                row.entry.status = EntryStatus.ELIMINATED.value
    jr = judging_round(round_)
    if jr is not None and jr.status == "scoring":
        judging.close_round(jr, actor)
    round_.status = RoundStatus.DECIDED.value
    round_.decided_at = utcnow()
    if final:
        round_.competition.status = CompetitionStatus.FINISHED.value
    db.session.flush()
    audit.record(
        "competition_round.decide",
        round_,
        after={
            "tie_policy": tie_policy,
            "advanced": [r.entry_id for r in out if r.advanced],
            "ties": [r.entry_id for r in out if r.tie_note],
            "final": final,
        },
        actor=actor,
    )
    if not final:
        reopened, earlier = _earlier_outcomes(round_)
        for row in (row for ts in table for row in ts.rows):
            if reopened and earlier.get(row.entry.id) == row.advanced:
                continue  # decided again after a reopening: the entrant already knows this outcome
            send_mail(
                row.entry.contact_email,
                "competition_round_result",
                key=f"competition-round-result:{round_.id}:{row.entry.id}" + (f":{reopened}" if reopened else ""),
                locale=row.entry.locale,
                entry=row.entry,
                competition=round_.competition,
                round=round_,
                following=following,
                advanced=row.advanced,
                corrected=bool(reopened),
            )
    return out


def _earlier_outcomes(round_: CompetitionRound) -> tuple[int, dict[int, bool]]:
    """How often the round was reopened, and per entry whether it advanced in the decision undone last.

    After a reopening the new decision mails only the entrants whose outcome changed (what the
    others were told still holds), under a key numbered by the reopening so it is not taken for
    the first mail. The undone decision is read from the reopening's audit row, which keeps it whole.
    """
    query = (
        select(AuditLog)
        .where(AuditLog.action == "competition_round.reopen", AuditLog.object_type == "CompetitionRound", AuditLog.object_id == str(round_.id))
        .order_by(AuditLog.id)
    )
    rows = list(db.session.scalars(query))
    if not rows:
        return 0, {}
    undone = (rows[-1].before or {}).get("results") or []
    return len(rows), {int(r["entry_id"]): bool(r["advanced"]) for r in undone}


# ---- reopening a decided round ---------------------------------------------------------------------------


@dataclass
class ReopenPlan:
    """What :func:`reopen_round` would undo (the confirmation page shows it) or why it may not."""

    round: CompetitionRound
    blockers: list[str] = field(default_factory=list)
    results: list[RoundResult] = field(default_factory=list)
    back_to_active: list[CompetitionEntry] = field(default_factory=list)  # eliminated → competing again in this round
    back_from_next: list[CompetitionEntry] = field(default_factory=list)  # advanced → back in this round
    following: CompetitionRound | None = None
    next_items: int = 0  # the next round's judging items that are removed
    next_assignments: int = 0
    next_judges: int = 0
    awards: list[Award] = field(default_factory=list)
    reopens_competition: bool = False  # the final round: the competition goes back from finished to judging

    @property
    def allowed(self) -> bool:
        return not self.blockers


def _sheet_counts(jr: JudgingRound) -> tuple[int, int]:
    """(submitted, draft) score sheets in a judging round."""
    submitted = drafts = 0
    for item in jr.items:
        for a in item.assignments:
            if a.sheet is not None:
                if a.sheet.status == "submitted":
                    submitted += 1
                else:
                    drafts += 1
    return submitted, drafts


def reopen_plan(round_: CompetitionRound) -> ReopenPlan:
    """What reopening ``round_`` involves, with every reason it is refused (empty when allowed)."""
    competition = round_.competition
    plan = ReopenPlan(round=round_, following=next_round(round_))
    if round_.status != RoundStatus.DECIDED.value:
        plan.blockers.append(_("本轮尚未确定结果，无需撤销。"))
        return plan
    if competition.results_published_at is not None:
        plan.blockers.append(_("大赛结果已于 %(when)s 公布，不能再撤销本轮结果。", when=format_local(competition.results_published_at)))
    following = plan.following
    jr_next = judging_round(following) if following is not None else None
    if following is not None and (following.status != RoundStatus.SETUP.value or (jr_next is not None and jr_next.status != "setup")):
        submitted, drafts = _sheet_counts(jr_next) if jr_next is not None else (0, 0)
        plan.blockers.append(
            _(
                "下一轮“%(name)s”已开始评分（已提交 %(s)d 份评分表，草稿 %(d)d 份），不能撤销本轮结果。",
                name=following.name,
                s=submitted,
                d=drafts,
            )
        )
    elif jr_next is not None and sum(_sheet_counts(jr_next)):
        plan.blockers.append(_("下一轮“%(name)s”已有评分表，不能撤销本轮结果。", name=following.name))
    plan.results = results_of(round_)
    final = is_final(round_)
    if not final:
        for r in plan.results:
            if r.advanced:
                plan.back_from_next.append(r.entry)
            elif r.entry.status == EntryStatus.ELIMINATED.value:
                plan.back_to_active.append(r.entry)
    if jr_next is not None:
        plan.next_items = len(jr_next.items)
        assignments = [a for i in jr_next.items for a in i.assignments]
        plan.next_assignments = len(assignments)
        plan.next_judges = len({a.judge_id for a in assignments})
    if final:
        plan.awards = awards_of(competition)
        plan.reopens_competition = competition.status == CompetitionStatus.FINISHED.value
    return plan


def reopen_round(round_: CompetitionRound, actor: Any, reason: str) -> ReopenPlan:
    """撤销本轮结果: undo :func:`decide_round` exactly, so the round can be decided again.

    Allowed only while the competition's results are unpublished and the next round has not
    started scoring. Reversed, in one transaction (every check runs before anything changes; the
    caller commits or rolls back): each result row is deleted; an eliminated entry is active in
    this round again; an advanced one is moved back from the next round into this one (its status
    was left alone by the decision — an entrant who withdrew since stays withdrawn); the engine's
    judging round is open for scoring again (submitted sheets stay, late ones can be submitted);
    the round is back to scoring. For the final round, the awards (which rest on its ranking) are
    removed and a finished competition is judging again. The reason is required and the audit row
    keeps the whole undone decision (scores, ranks, ties, awards), so nothing is lost.

    **The next round's preparation** (its judging items and judge assignments for the advanced
    entries) is *removed*, not a reason to refuse: as long as that round is in set-up nobody has
    scored, so only assignments are lost — and they would be wrong anyway, since the decision
    may now advance other entries, while a judge who keeps an assignment keeps reading access to
    the entry. Refusing instead would make a round impossible to reopen once the next one was
    prepared, with no other way to unprepare it. The rubric of the next round's judging round is
    kept (it is the organiser's work and does not depend on who advances); preparing the next round
    again reuses it. Once the next round is scoring — even without a submitted sheet yet, since
    judges may be writing drafts — reopening is refused with a message saying so. The round row
    is locked first (see :func:`decide_round`).
    """
    lock_for_change(round_)
    plan = reopen_plan(round_)
    if plan.blockers:
        raise CompetitionError(" ".join(plan.blockers))
    reason = (reason or "").strip()
    if not reason:
        raise CompetitionError({"reason": _("请说明撤销本轮结果的原因。")})
    if len(reason) > REASON_MAX:
        raise CompetitionError({"reason": _("原因不能超过 %(n)d 个字符。", n=REASON_MAX)})
    competition = round_.competition
    final = is_final(round_)
    before = {
        "status": round_.status,
        "decided_at": round_.decided_at,
        "results": [
            {"entry_id": r.entry_id, "score": r.score, "rank": r.rank, "advanced": r.advanced, "tie_note": r.tie_note, "track_id": r.entry.track_id}
            for r in plan.results
        ],
        "competition_status": competition.status,
    }
    if final:
        before["awards"] = {str(a.entry_id): a.title for a in plan.awards}
    for entry in plan.back_from_next:
        entry.reached_round_id = round_.id
    for entry in plan.back_to_active:
        entry.status = EntryStatus.ACTIVE.value
    for result in plan.results:
        db.session.delete(result)
    unprepared: dict[str, Any] | None = None
    following = plan.following
    jr_next = judging_round(following) if following is not None else None
    if jr_next is not None:
        unprepared = {"round_id": following.id, "judging_round_id": jr_next.id, "items": plan.next_items, "assignments": plan.next_assignments}
        for item in list(jr_next.items):
            jr_next.items.remove(item)  # delete-orphan: the item and its assignments go
        following.judging_round_id = None
        audit.record("competition_round.unprepare", following, before={"judging_round_id": jr_next.id}, after=unprepared, actor=actor)
    jr = judging_round(round_)
    if jr is not None and jr.status == "closed":
        judging.reopen_round(jr, actor, reason)
    round_.status = RoundStatus.SCORING.value
    round_.decided_at = None
    for award in plan.awards:
        db.session.delete(award)
    if final and competition.status == CompetitionStatus.FINISHED.value:
        competition.status = CompetitionStatus.JUDGING.value
    db.session.flush()
    audit.record(
        "competition_round.reopen",
        round_,
        before=before,
        after={
            "status": round_.status,
            "reason": reason,
            "active_again": [e.id for e in plan.back_to_active],
            "back_from_next": [e.id for e in plan.back_from_next],
            "next_round_unprepared": unprepared,
            "awards_removed": len(plan.awards),
            "competition_status": competition.status,
        },
        actor=actor,
    )
    return plan


def results_of(round_: CompetitionRound) -> list[RoundResult]:
    query = select(RoundResult).where(RoundResult.round_id == round_.id).order_by(RoundResult.rank.is_(None), RoundResult.rank, RoundResult.entry_id)
    return list(db.session.scalars(query))


def results_by_track(round_: CompetitionRound) -> list[tuple[CompetitionTrack, list[RoundResult]]]:
    rows = results_of(round_)
    grouped: dict[int, list[RoundResult]] = defaultdict(list)
    for r in rows:
        grouped[r.entry.track_id].append(r)
    return [(t, grouped[t.id]) for t in round_.competition.tracks if grouped.get(t.id)]


# ---- awards and publication -------------------------------------------------------------------------


def awards_of(competition: Competition) -> list[Award]:
    query = select(Award).where(Award.competition_id == competition.id).order_by(Award.rank, Award.id)
    return list(db.session.scalars(query))


def suggested_title(rank: int | None) -> str:
    title = AWARD_PRESETS.get(rank or 0)
    return _(title) if title else ""


def save_awards(competition: Competition, titles: Mapping[int, str], actor: Any) -> list[Award]:
    """Awards from the final round: ``titles`` maps entry id → award title (empty = none).

    The award's rank is the entry's rank in its track in the final round. Only finalists may get
    an award, only once the final round is decided and before the results are published.
    """
    final = final_round(competition)
    if final is None or final.status != RoundStatus.DECIDED.value:
        raise CompetitionError(_("请先确定决赛（最后一轮）的结果，再评定奖项。"))
    if competition.results_published_at is not None:
        raise CompetitionError(_("结果已公布，奖项不能再修改。"))
    ranks = {r.entry_id: r.rank for r in results_of(final)}
    errors: dict[str, str] = {}
    for entry_id, title in titles.items():
        if entry_id not in ranks:
            errors[f"award-{entry_id}"] = _("只能给决赛项目评定奖项。")
        elif len((title or "").strip()) > 100:
            errors[f"award-{entry_id}"] = _("奖项名称不能超过 100 个字符。")
    if errors:
        raise CompetitionError(errors)
    existing = {a.entry_id: a for a in awards_of(competition)}
    before = {str(k): a.title for k, a in existing.items()}
    for entry_id, title in titles.items():
        title = (title or "").strip()
        award = existing.get(entry_id)
        if not title:
            if award is not None:
                db.session.delete(award)
            continue
        if award is None:
            award = Award(competition_id=competition.id, entry_id=entry_id)
            db.session.add(award)
        award.title = title
        award.rank = ranks[entry_id] or 0
    db.session.flush()
    after = {str(a.entry_id): a.title for a in awards_of(competition)}
    audit.record("competition.awards", competition, before=before, after=after, actor=actor)
    return awards_of(competition)


def publish_results(competition: Competition, actor: Any) -> None:
    """Make the results page public (winners per track). Needs the final round decided and at least one award."""
    if competition.results_published_at is not None:
        raise CompetitionError(_("结果已经公布。"))
    final = final_round(competition)
    if final is None or final.status != RoundStatus.DECIDED.value:
        raise CompetitionError(_("决赛结果尚未确定，不能公布。"))
    if not awards_of(competition):
        raise CompetitionError(_("请先评定奖项。"))
    competition.results_published_at = utcnow()
    audit.record("competition.publish_results", competition, after={"results_published_at": competition.results_published_at.isoformat()}, actor=actor)


@dataclass
class Winner:
    title: str
    rank: int
    project_name: str
    org_name: str


def public_results(competition: Competition) -> list[tuple[CompetitionTrack, list[Winner]]]:
    """Winners per track — empty before publication (nothing public before)."""
    if competition.results_published_at is None:
        return []
    grouped: dict[int, list[Winner]] = defaultdict(list)
    for award in awards_of(competition):
        e = award.entry
        grouped[e.track_id].append(Winner(award.title, award.rank, e.project_name, e.org_name))
    return [(t, grouped[t.id]) for t in competition.tracks if grouped.get(t.id)]


def entry_history(entry: CompetitionEntry) -> list[tuple[CompetitionRound, RoundResult]]:
    """The entrant's own results, round by round (decided rounds only)."""
    rows = db.session.scalars(select(RoundResult).where(RoundResult.entry_id == entry.id))
    rounds = {r.id: r for r in db.session.scalars(select(CompetitionRound).where(CompetitionRound.competition_id == entry.competition_id))}
    out = [(rounds[r.round_id], r) for r in rows if r.round_id in rounds]
    return sorted(out, key=lambda pair: pair[0].position)


def award_of(entry: CompetitionEntry) -> Award | None:
    return db.session.scalar(select(Award).where(Award.entry_id == entry.id))


def live_assignments(round_: CompetitionRound) -> dict[int, list[Assignment]]:
    """Per entry id, the assignments (live and declared conflicts) in the round's judging round."""
    jr = judging_round(round_)
    out: dict[int, list[Assignment]] = defaultdict(list)
    if jr is None:
        return out
    for item in jr.items:
        if item.ref_type == ENTRY_REF:
            out[item.ref_id].extend(sorted(item.assignments, key=lambda a: (a.status != AssignmentStatus.ASSIGNED.value, a.id)))
    return out
