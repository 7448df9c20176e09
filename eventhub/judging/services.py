"""The judging engine's services (评审引擎). Clients call these; views are thin wrappers.

The engine knows nothing about plans, road shows or competitions: a client names its round by a
``key`` (e.g. ``"plan-review:3"``) and describes its objects as :class:`ItemSpec` (reference,
title, link, conflict bases). Functions add rows to the session and write audit rows; the
caller commits (views commit after a successful call, tests commit or not as they like).
Refusals raise :class:`JudgingError` (a ``ValueError``) with a Chinese, translatable message.

Public API
----------
Rounds and rubric
    ``get_or_create_round(key, title, default_criteria, scale=(1, 10), judges_per_item=3) -> JudgingRound``
    ``update_rubric(round, criteria: list[CriterionSpec], actor, *, scale=None, judges_per_item=None,
    disagreement_threshold=None) -> None`` — only while the round is in ``setup``
    ``start_scoring(round, actor)``, ``close_round(round, actor)``
    ``get_round(round_id)``, ``round_by_key(key)``, ``list_rounds()``
Items
    ``ItemSpec(ref_type, ref_id, title, url, conflict_base_ids)``;
    ``sync_items(round, specs) -> None`` — adds new items, updates titles/links/conflict bases,
    marks items no longer present inactive (their assignments and scores are kept)
Assignment and conflicts of interest
    ``assign(item, judge, actor, source="manual") -> Assignment``; ``unassign(assignment, actor)``
    ``auto_assign(round, judges, k=None, actor=None) -> AutoAssignResult``
    ``declare_conflict(assignment, judge, reason, actor, candidates=None) -> ConflictResult``
    ``set_affiliations(judge, base_ids, actor, notes=None) -> list[Assignment]`` (open assignments
    that now conflict); ``affiliations(judge) -> list[JudgeAffiliation]``
    ``conflict_reason(item, judge, bases=None) -> str | None`` (why ``judge`` may not judge ``item``);
    ``conflict_bases(judges) -> dict[user_id, set[base_id]]``
    ``is_assigned(user, ref_type, ref_id) -> bool`` — object-level read access for clients: true
    when ``user`` holds an assignment (not in conflict) on an item with that reference
    ``assignments_of(judge) -> list[Assignment]``
Score sheets
    ``sheet_for(assignment) -> ScoreSheet`` (a draft is created on first use)
    ``save_sheet(assignment, values, comments, overall_comment, submit, actor) -> ScoreSheet``
    ``peer_spread(assignment) -> dict`` — only after this judge submitted
Results
    ``aggregate(round) -> list[ItemResult]`` (ordered by the normalised ranking)
    ``export_results_xlsx(round) -> bytes``

Aggregation rules (also shown on the results page)
--------------------------------------------------
* A sheet's **weighted total** is Σ wᵢ·vᵢ / Σ wᵢ (weights normalised to sum to 1), so it is on the
  round's scale. An item's **raw mean** is the mean of the weighted totals of its submitted sheets.
* **Per-judge normalisation**: for each judge, the weighted totals of all their submitted sheets in
  the round (active items, assignments not in conflict) give a mean μⱼ and a population standard
  deviation σⱼ; a sheet's z = (total − μⱼ) / σⱼ is mapped back to the scale as M + z·S, where M and
  S are the mean and population standard deviation of all submitted totals of the round, and
  clipped to the scale. A judge with a single sheet, or whose totals are all equal (σⱼ = 0), has
  z = 0, i.e. their sheets count as the overall mean M: such a sheet says nothing about how the
  item compares with that judge's other items. An item's **normalised score** is the mean of its
  sheets' normalised values.
* **Spread**: population standard deviation of the item's weighted totals across its judges;
  ``disagreement`` when it exceeds ``round.disagreement_threshold``.
* **Ties** (see :func:`tie_rule`): the normalised ranking orders by normalised score, then raw mean,
  then more submitted sheets, then lower item id; the raw ranking by raw mean, then normalised
  score, then more submitted sheets, then lower item id. Scores are compared rounded to 6
  decimals. Items without a submitted sheet come last, unranked.
"""

from __future__ import annotations

import builtins
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core import audit
from eventhub.core.locking import lock_for_change
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.extensions import db
from eventhub.judging.models import (
    Assignment,
    AssignmentStatus,
    Criterion,
    JudgeAffiliation,
    JudgingItem,
    JudgingRound,
    RoundStatus,
    Score,
    ScoreSheet,
)


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, scheduler, tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


def tie_rule() -> str:
    """The tie-break rule, as stated on the results page and in the export."""
    return _(
        "并列处理规则：按标准化得分排名时，得分相同者依次比较原始加权均分（高者在前）、已提交评分表数量（多者在前）、"
        "项目编号（小者在前）；按原始均分排名时，依次比较标准化得分、已提交评分表数量、项目编号。"
    )


def normalisation_note() -> str:
    return _(
        "标准化得分：先将每位专家在本轮全部已提交评分换算为 z 分数，再按本轮全部评分的均值和标准差映射回评分区间（超出区间者取端值）；"
        "只评了一个项目或所有评分相同的专家，其评分按本轮总体均值计。这样，打分偏严或偏宽的专家不会左右排名。"
    )


STATUS_LABELS = {
    RoundStatus.SETUP.value: lazy_gettext("准备中"),
    RoundStatus.SCORING.value: lazy_gettext("评分中"),
    RoundStatus.CLOSED.value: lazy_gettext("已结束"),
}
_PRECISION = 6


class JudgingError(ValueError):
    """A judging rule was broken; ``errors`` maps form fields (e.g. criterion ids) to messages."""

    def __init__(self, message: str, errors: dict[Any, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class ItemSpec:
    """A client's object to be judged. ``conflict_base_ids``: bases whose people may not judge it."""

    ref_type: str
    ref_id: int
    title: str
    url: str | None = None
    conflict_base_ids: list[int] = field(default_factory=list)


@dataclass
class CriterionSpec:
    """One criterion of a rubric edit; ``id`` names an existing criterion to keep (None: new)."""

    name: str
    weight: float = 1.0
    guidance: str | None = None
    id: int | None = None


@dataclass
class Shortfall:
    item: JudgingItem
    wanted: int
    got: int
    reason: str


@dataclass
class AutoAssignResult:
    created: list[Assignment] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    skipped_judges: list[User] = field(default_factory=list)  # not active reviewers

    @property
    def complete(self) -> bool:
        return not self.shortfalls


@dataclass
class ConflictResult:
    assignment: Assignment
    replacement: Assignment | None
    message: str


@dataclass
class ItemResult:
    item: JudgingItem
    criterion_means: dict[int, float | None]
    raw_mean: float | None
    normalised: float | None
    std: float | None
    disagreement: bool
    submitted: int
    assigned: int
    rank_normalised: int | None = None
    rank_raw: int | None = None
    tie_normalised: bool = False  # the primary score equals a neighbour's: the tie rule decided
    tie_raw: bool = False

    @property
    def item_id(self) -> int:
        return self.item.id

    @property
    def title(self) -> str:
        return self.item.title

    @property
    def progress(self) -> float:
        return self.submitted / self.assigned if self.assigned else 0.0


# ---- rounds and rubric ------------------------------------------------------------------


def status_label(round: JudgingRound) -> str:
    return str(STATUS_LABELS.get(round.status, round.status))


def get_round(round_id: int) -> JudgingRound | None:
    return db.session.get(JudgingRound, round_id)


def round_by_key(key: str) -> JudgingRound | None:
    return db.session.scalar(select(JudgingRound).where(JudgingRound.key == key))


def list_rounds() -> list[JudgingRound]:
    return list(db.session.scalars(select(JudgingRound).order_by(JudgingRound.created_at.desc(), JudgingRound.id.desc())))


def get_or_create_round(
    key: str,
    title: str,
    default_criteria: list[tuple[str, float, str]],
    scale: tuple[int, int] = (1, 10),
    judges_per_item: int = 3,
) -> JudgingRound:
    """The round named ``key``; created with the default rubric the first time.

    An existing round is returned unchanged except for its title (the organiser may have edited
    the rubric since).
    """
    existing = round_by_key(key)
    if existing is not None:
        existing.title = title
        return existing
    low, high = scale
    if not low < high:
        raise JudgingError(_("评分区间无效：最低分必须小于最高分。"))
    rnd = JudgingRound(key=key, title=title, scale_min=low, scale_max=high, judges_per_item=judges_per_item, status=RoundStatus.SETUP.value)
    for position, (name, weight, guidance) in enumerate(default_criteria):
        rnd.criteria.append(Criterion(name=name, weight=float(weight), guidance=guidance, position=position))
    db.session.add(rnd)
    db.session.flush()
    audit.record("judging.round_create", rnd, after={"key": key, "title": title, "criteria": [c[0] for c in default_criteria]}, actor=None)
    return rnd


def _rubric_snapshot(rnd: JudgingRound) -> dict[str, Any]:
    return {
        "criteria": [{"id": c.id, "name": c.name, "weight": c.weight, "guidance": c.guidance} for c in rnd.criteria],
        "scale": [rnd.scale_min, rnd.scale_max],
        "judges_per_item": rnd.judges_per_item,
        "disagreement_threshold": rnd.disagreement_threshold,
    }


def update_rubric(
    round: JudgingRound,
    criteria: list[CriterionSpec],
    actor: Any,
    *,
    scale: tuple[int, int] | None = None,
    judges_per_item: int | None = None,
    disagreement_threshold: float | None = None,
) -> None:
    """Replace the rubric (order = list order); only while the round is in set-up."""
    if round.status != RoundStatus.SETUP.value:
        raise JudgingError(_("评分已开始，评分标准已冻结，不能再修改。"))
    errors: dict[Any, str] = {}
    if not criteria:
        raise JudgingError(_("至少需要一项评分标准。"))
    seen: set[str] = set()
    for index, spec in enumerate(criteria):
        name = (spec.name or "").strip()
        if not name:
            errors[index] = _("请填写评分标准名称。")
        elif name in seen:
            errors[index] = _("评分标准“%(name)s”重复。", name=name)
        seen.add(name)
        try:
            weight = float(spec.weight)
        except (TypeError, ValueError):
            weight = float("nan")
        if not math.isfinite(weight) or weight <= 0:
            errors[index] = _("权重必须是大于 0 的数。")
    if scale is not None and not scale[0] < scale[1]:
        errors["scale"] = _("评分区间无效：最低分必须小于最高分。")
    if judges_per_item is not None and judges_per_item < 1:
        errors["judges_per_item"] = _("每个项目的评审人数至少为 1。")
    if disagreement_threshold is not None and not (math.isfinite(disagreement_threshold) and disagreement_threshold > 0):
        errors["disagreement_threshold"] = _("分歧阈值必须是大于 0 的数。")
    if errors:
        raise JudgingError(_("评分标准有错误，请修改。"), errors)

    before = _rubric_snapshot(round)
    by_id = {c.id: c for c in round.criteria}
    kept: list[Criterion] = []
    for position, spec in enumerate(criteria):
        criterion = by_id.pop(spec.id, None) if spec.id is not None else None
        if criterion is None:
            criterion = Criterion(round=round)
        criterion.name = spec.name.strip()
        criterion.weight = float(spec.weight)
        criterion.guidance = (spec.guidance or "").strip() or None
        criterion.position = position
        kept.append(criterion)
    for removed in by_id.values():
        db.session.delete(removed)
    round.criteria = kept
    if scale is not None:
        round.scale_min, round.scale_max = int(scale[0]), int(scale[1])
    if judges_per_item is not None:
        round.judges_per_item = judges_per_item
    if disagreement_threshold is not None:
        round.disagreement_threshold = float(disagreement_threshold)
    db.session.flush()
    audit.record("judging.rubric_update", round, before=before, after=_rubric_snapshot(round), actor=actor)


def start_scoring(round: JudgingRound, actor: Any) -> None:
    """Freeze the rubric and open the score sheets."""
    if round.status != RoundStatus.SETUP.value:
        raise JudgingError(_("只有准备中的评审轮次可以开始评分。"))
    if not round.criteria:
        raise JudgingError(_("请先设置评分标准。"))
    round.status = RoundStatus.SCORING.value
    audit.record("judging.start_scoring", round, before={"status": "setup"}, after={"status": round.status}, actor=actor)


def close_round(round: JudgingRound, actor: Any) -> None:
    """End scoring: sheets become read-only, results are final."""
    if round.status != RoundStatus.SCORING.value:
        raise JudgingError(_("只有评分中的评审轮次可以结束。"))
    round.status = RoundStatus.CLOSED.value
    audit.record("judging.close", round, before={"status": "scoring"}, after={"status": round.status}, actor=actor)


def reopen_round(round: JudgingRound, actor: Any, reason: str = "") -> None:
    """A closed round is open for scoring again (its client's decision was undone).

    Submitted sheets stay submitted and count as before; a judge who had not submitted can now
    do so. The client (e.g. a competition round being reopened) says why; it is audited.
    """
    if round.status != RoundStatus.CLOSED.value:
        raise JudgingError(_("只有已结束的评审轮次可以重新开放评分。"))
    round.status = RoundStatus.SCORING.value
    audit.record("judging.reopen", round, before={"status": "closed"}, after={"status": round.status, "reason": reason}, actor=actor)


# ---- items ----------------------------------------------------------------------------


def _base_ids(values: Iterable[Any]) -> list[int]:
    return sorted({int(v) for v in values or []})


def sync_items(round: JudgingRound, specs: list[ItemSpec]) -> None:
    """Make the round's items match ``specs`` (the client's current objects).

    New references are added; existing ones get the new title, link and conflict bases and are
    active again; items whose reference is no longer listed become inactive (never deleted, so
    their assignments and scores are kept).
    """
    existing = {(i.ref_type, i.ref_id): i for i in round.items}
    present: set[tuple[str, int]] = set()
    for spec in specs:
        ref = (spec.ref_type, int(spec.ref_id))
        present.add(ref)
        bases = _base_ids(spec.conflict_base_ids)
        item = existing.get(ref)
        if item is None:
            item = JudgingItem(ref_type=spec.ref_type, ref_id=int(spec.ref_id), title=spec.title, url=spec.url, conflict_base_ids=bases, active=True)
            round.items.append(item)
            continue
        item.title = spec.title
        item.url = spec.url
        if _base_ids(item.conflict_base_ids) != bases:
            item.conflict_base_ids = bases
        item.active = True
    for ref, item in existing.items():
        if ref not in present:
            item.active = False
    db.session.flush()


def active_items(round: JudgingRound) -> list[JudgingItem]:
    return [i for i in round.items if i.active]


# ---- conflicts of interest and assignment -----------------------------------------------


def affiliations(judge: User) -> list[JudgeAffiliation]:
    """The bases a reviewer declared ties to."""
    query = select(JudgeAffiliation).where(JudgeAffiliation.user_id == judge.id).order_by(JudgeAffiliation.base_id)
    return list(db.session.scalars(query))


def _conflict_bases(judges: Iterable[User]) -> dict[int, set[int]]:
    """Per judge id: declared affiliations plus the base of their own account, if any."""
    judges = list(judges)
    out: dict[int, set[int]] = {j.id: ({j.base_id} if j.base_id else set()) for j in judges}
    if out:
        rows = db.session.execute(select(JudgeAffiliation.user_id, JudgeAffiliation.base_id).where(JudgeAffiliation.user_id.in_(list(out))))
        for user_id, base_id in rows:
            out[user_id].add(base_id)
    return out


def conflict_bases(judges: Iterable[User]) -> dict[int, set[int]]:
    """Per judge id, the bases they may not judge: declared affiliations plus their account's base."""
    return _conflict_bases(judges)


def set_affiliations(judge: User, base_ids: Iterable[int], actor: Any, notes: dict[int, str] | None = None) -> list[Assignment]:
    """Replace a reviewer's declared affiliations.

    Returns the judge's open assignments (no submitted sheet) that now conflict, for the
    organiser to resolve (they are not removed automatically).
    """
    notes = notes or {}
    wanted = set(_base_ids(base_ids))
    current = {a.base_id: a for a in affiliations(judge)}
    before = sorted(current)
    for base_id, row in current.items():
        if base_id not in wanted:
            db.session.delete(row)
        elif base_id in notes:
            row.note = notes[base_id] or None
    for base_id in wanted - set(current):
        db.session.add(JudgeAffiliation(user_id=judge.id, base_id=base_id, note=notes.get(base_id) or None))
    db.session.flush()
    audit.record("judging.affiliations", judge, before={"base_ids": before}, after={"base_ids": sorted(wanted)}, actor=actor)
    bases = wanted | ({judge.base_id} if judge.base_id else set())
    return [
        a
        for a in assignments_of(judge)
        if a.status == AssignmentStatus.ASSIGNED.value and not _submitted(a) and bases & set(_base_ids(a.item.conflict_base_ids))
    ]


def conflicting_assignments(round: JudgingRound) -> list[Assignment]:
    """Open assignments (no submitted sheet) whose judge is now tied to one of the item's bases.

    Assignments are checked when made; this finds those that became conflicts afterwards — a
    judge declared a new affiliation, or the item's bases changed (an entrant corrected its
    organisation, a plan added a partner base). Computed on every call, so it is right however
    the change came about; the organiser unassigns or records the conflict.
    """
    open_ = [
        a
        for item in round.items
        if item.active
        for a in item.assignments
        if a.status == AssignmentStatus.ASSIGNED.value and not _submitted(a) and item.conflict_base_ids
    ]
    if not open_:
        return []
    bases = _conflict_bases(db.session.scalars(select(User).where(User.id.in_({a.judge_id for a in open_}))))
    return [a for a in open_ if bases[a.judge_id] & set(_base_ids(a.item.conflict_base_ids))]


def _is_reviewer(user: User) -> bool:
    return bool(user is not None and user.active and user.role == Role.REVIEWER.value)


def _declared_conflict(item: JudgingItem, judge_id: int) -> bool:
    return any(a.judge_id == judge_id and a.status == AssignmentStatus.CONFLICT.value for a in item.assignments)


def conflict_reason(item: JudgingItem, judge: User, bases: set[int] | None = None) -> str | None:
    """Why ``judge`` may not judge ``item`` (a Chinese message), or ``None`` when they may."""
    if bases is None:
        bases = _conflict_bases([judge])[judge.id]
    clash = bases & set(_base_ids(item.conflict_base_ids))
    if clash:
        return _("该专家与本项目涉及的示范基地存在关联（利益冲突），不能评审该项目。")
    if _declared_conflict(item, judge.id):
        return _("该专家已就本项目声明利益冲突，不能再分配。")
    return None


def _submitted(assignment: Assignment) -> bool:
    return assignment.sheet is not None and assignment.sheet.status == "submitted"


def _open_round(rnd: JudgingRound) -> None:
    if rnd.status == RoundStatus.CLOSED.value:
        raise JudgingError(_("评审轮次已结束，不能再调整分配。"))


def _assignment_snapshot(a: Assignment) -> dict[str, Any]:
    return {"item_id": a.item_id, "judge_id": a.judge_id, "status": a.status, "source": a.source, "conflict_reason": a.conflict_reason}


def assign(item: JudgingItem, judge: User, actor: Any, source: str = "manual") -> Assignment:
    """Ask ``judge`` to score ``item``; refuses non-reviewers, conflicts and duplicates."""
    _open_round(item.round)
    if not item.active:
        raise JudgingError(_("该项目已撤回，不能分配评审。"))
    if not _is_reviewer(judge):
        raise JudgingError(_("只能分配给有效的评审专家账号。"))
    reason = conflict_reason(item, judge)
    if reason:
        raise JudgingError(reason)
    if any(a.judge_id == judge.id for a in item.assignments):
        raise JudgingError(_("该专家已分配到此项目。"))
    assignment = Assignment(item=item, judge_id=judge.id, status=AssignmentStatus.ASSIGNED.value, source=source)
    db.session.add(assignment)
    db.session.flush()
    audit.record("judging.assign", assignment, after=_assignment_snapshot(assignment), actor=actor)
    return assignment


def unassign(assignment: Assignment, actor: Any) -> None:
    """Withdraw an assignment; refused once its sheet is submitted (the score stands)."""
    _open_round(assignment.item.round)
    if _submitted(assignment):
        raise JudgingError(_("该专家已提交评分表，不能取消分配。"))
    before = _assignment_snapshot(assignment)
    audit.record("judging.unassign", assignment, before=before, actor=actor)
    assignment.item.assignments.remove(assignment)
    db.session.delete(assignment)
    db.session.flush()


def _loads(rnd: JudgingRound) -> dict[int, int]:
    """Per judge id: number of live assignments (not in conflict) on active items of the round."""
    loads: dict[int, int] = defaultdict(int)
    for item in rnd.items:
        if not item.active:
            continue
        for a in item.assignments:
            if a.status == AssignmentStatus.ASSIGNED.value:
                loads[a.judge_id] += 1
    return loads


def judge_loads(round: JudgingRound) -> dict[int, int]:
    return dict(_loads(round))


def auto_assign(round: JudgingRound, judges: list[User], k: int | None = None, actor: Any = None) -> AutoAssignResult:
    """Give every active item ``k`` judges in total (existing assignments count), never a conflict.

    Greedy and deterministic: items with the least slack (eligible judges minus places to fill)
    go first, then by item id; each place goes to the eligible judge with the fewest assignments
    in this round, ties to the lower user id. Without conflicts and with k ≤ number of judges,
    loads end within one of each other. Items that cannot get ``k`` judges are reported with the
    reason; judges who are not active reviewers are skipped and reported. The round row is locked
    first: two organisers pressing the button at once get one run each, the second counting the
    first one's assignments, instead of a clash on the unique (item, judge).
    """
    lock_for_change(round)
    _open_round(round)
    k = round.judges_per_item if k is None else k
    if k < 1:
        raise JudgingError(_("每个项目的评审人数至少为 1。"))
    result = AutoAssignResult()
    pool: list[User] = []
    for judge in sorted({j.id: j for j in judges}.values(), key=lambda j: j.id):
        (pool if _is_reviewer(judge) else result.skipped_judges).append(judge)
    bases = _conflict_bases(pool)
    loads = _loads(round)

    plans: list[tuple[int, int, JudgingItem, list[User], int, dict[str, int]]] = []
    for item in active_items(round):
        taken = {a.judge_id for a in item.assignments}
        live = sum(1 for a in item.assignments if a.status == AssignmentStatus.ASSIGNED.value)
        need = k - live
        if need <= 0:
            continue
        item_bases = set(_base_ids(item.conflict_base_ids))
        counts = {"affiliated": 0, "declared": 0, "already": 0}
        eligible: list[User] = []
        for judge in pool:
            if _declared_conflict(item, judge.id):
                counts["declared"] += 1
            elif judge.id in taken:
                counts["already"] += 1
            elif bases[judge.id] & item_bases:
                counts["affiliated"] += 1
            else:
                eligible.append(judge)
        plans.append((len(eligible) - need, item.id, item, eligible, need, counts))
    plans.sort(key=lambda p: (p[0], p[1]))

    for _slack, _id, item, eligible, need, counts in plans:
        chosen = sorted(eligible, key=lambda j: (loads[j.id], j.id))[:need]
        for judge in chosen:
            assignment = Assignment(item=item, judge_id=judge.id, status=AssignmentStatus.ASSIGNED.value, source="auto")
            db.session.add(assignment)
            loads[judge.id] += 1
            result.created.append(assignment)
        if len(chosen) < need:
            got = k - need + len(chosen)
            reason = _(
                "可选专家不足：共 %(total)d 位专家，%(aff)d 位与该项目涉及的基地有关联，%(dec)d 位已声明回避，%(already)d 位已分配。",
                total=len(pool),
                aff=counts["affiliated"],
                dec=counts["declared"],
                already=counts["already"],
            )
            result.shortfalls.append(Shortfall(item=item, wanted=k, got=got, reason=reason))
    db.session.flush()
    for assignment in result.created:
        audit.record("judging.assign", assignment, after=_assignment_snapshot(assignment), actor=actor)
    audit.record(
        "judging.auto_assign",
        round,
        after={"k": k, "created": len(result.created), "shortfalls": [s.item.id for s in result.shortfalls]},
        actor=actor,
    )
    return result


def all_reviewers() -> list[User]:
    query = select(User).where(User.role == Role.REVIEWER.value, User.active.is_(True)).order_by(User.id)
    return list(db.session.scalars(query))


def declare_conflict(assignment: Assignment, judge: User, reason: str, actor: Any, candidates: list[User] | None = None) -> ConflictResult:
    """The judge declares a conflict of interest on an assigned item.

    The assignment is kept with status ``conflict`` and the reason (so the item is never
    assigned to them again), a draft sheet is discarded, and the item goes to the least-loaded
    eligible reviewer (of ``candidates``, default all active reviewers; ties to the lower id).
    """
    if assignment.judge_id != judge.id:
        raise JudgingError(_("只能对分配给自己的项目声明利益冲突。"))
    if assignment.status == AssignmentStatus.CONFLICT.value:
        raise JudgingError(_("已声明过利益冲突。"))
    if _submitted(assignment):
        raise JudgingError(_("评分表已提交，不能再声明利益冲突；如有问题请联系组织方。"))
    reason = (reason or "").strip()
    if not reason:
        raise JudgingError(_("请说明利益冲突的原因（例如与哪家示范基地有何关联）。"), {"reason": _("请填写原因。")})
    item = assignment.item
    _open_round(item.round)
    before = _assignment_snapshot(assignment)
    assignment.status = AssignmentStatus.CONFLICT.value
    assignment.conflict_reason = reason[:300]
    if assignment.sheet is not None:
        db.session.delete(assignment.sheet)
        assignment.sheet = None
    db.session.flush()
    audit.record("judging.declare_conflict", assignment, before=before, after=_assignment_snapshot(assignment), actor=actor)

    pool = [c for c in (candidates if candidates is not None else all_reviewers()) if _is_reviewer(c)]
    bases = _conflict_bases(pool)
    loads = _loads(item.round)
    taken = {a.judge_id for a in item.assignments}
    eligible = [c for c in pool if c.id not in taken and not (bases[c.id] & set(_base_ids(item.conflict_base_ids)))]
    if not eligible:
        return ConflictResult(assignment, None, _("已记录利益冲突，但没有可改派的评审专家，请组织方手动安排。"))
    chosen = min(eligible, key=lambda c: (loads[c.id], c.id))
    replacement = assign(item, chosen, actor, source="auto")
    return ConflictResult(assignment, replacement, _("已记录利益冲突，该项目已改派给其他评审专家。"))


def assignments_of(judge: User) -> list[Assignment]:
    query = select(Assignment).where(Assignment.judge_id == judge.id).order_by(Assignment.id)
    return list(db.session.scalars(query))


def is_assigned(user: Any, ref_type: str, ref_id: int) -> bool:
    """True when ``user`` holds a live assignment (not in conflict) on an item with this reference."""
    if user is None or not getattr(user, "is_authenticated", True) or getattr(user, "id", None) is None:
        return False
    query = (
        select(Assignment.id)
        .join(JudgingItem, Assignment.item_id == JudgingItem.id)
        .where(
            Assignment.judge_id == user.id,
            Assignment.status == AssignmentStatus.ASSIGNED.value,
            JudgingItem.ref_type == ref_type,
            JudgingItem.ref_id == int(ref_id),
        )
        .limit(1)
    )
    return db.session.scalar(query) is not None


# ---- score sheets -------------------------------------------------------------------------


def sheet_is_editable(assignment: Assignment, user: Any) -> bool:
    """Only the assigned judge edits, while the round scores, the item is live and nothing is submitted."""
    sheet = assignment.sheet
    return (
        assignment.judge_id == getattr(user, "id", None)
        and (sheet is None or sheet.status != "submitted")
        and assignment.status == AssignmentStatus.ASSIGNED.value
        and assignment.item.round.status == RoundStatus.SCORING.value
        and assignment.item.active
    )


def sheet_for(assignment: Assignment) -> ScoreSheet:
    """The assignment's sheet (a new draft on first use)."""
    if assignment.sheet is None:
        assignment.sheet = ScoreSheet(status="draft")
        db.session.flush()
    return assignment.sheet


def sheet_values(sheet: ScoreSheet | None) -> dict[int, Score]:
    return {s.criterion_id: s for s in sheet.scores} if sheet is not None else {}


def _fmt(value: float) -> str:
    return f"{value:g}"


def save_sheet(
    assignment: Assignment,
    values: dict[int, float | None],
    comments: dict[int, str],
    overall_comment: str | None,
    submit: bool,
    actor: Any,
) -> ScoreSheet:
    """Save a draft, or submit (every criterion scored); submitted sheets are read-only.

    Only the assigned judge may save, only while the round is scoring. Values must lie within the
    round's scale; ``None`` leaves a criterion blank (drafts only). Nothing is saved on error.
    """
    item = assignment.item
    rnd = item.round
    if getattr(actor, "id", None) != assignment.judge_id:
        raise JudgingError(_("只能填写分配给自己的评分表。"))
    if assignment.status != AssignmentStatus.ASSIGNED.value:
        raise JudgingError(_("已就该项目声明利益冲突，不能评分。"))
    if rnd.status != RoundStatus.SCORING.value:
        raise JudgingError(_("评分尚未开始。") if rnd.status == RoundStatus.SETUP.value else _("评审已结束，不能再修改评分。"))
    if not item.active:
        raise JudgingError(_("该项目已撤回，无需评分。"))
    sheet = sheet_for(assignment)
    if sheet.status == "submitted":
        raise JudgingError(_("评分表已提交，不能再修改。"))

    errors: dict[Any, str] = {}
    clean: dict[int, float | None] = {}
    for criterion in rnd.criteria:
        raw = values.get(criterion.id)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            clean[criterion.id] = None
            if submit:
                errors[criterion.id] = _("提交前请为“%(name)s”打分。", name=criterion.name)
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            errors[criterion.id] = _("“%(name)s”的分数必须是数字。", name=criterion.name)
            continue
        if not math.isfinite(value) or not rnd.scale_min <= value <= rnd.scale_max:
            errors[criterion.id] = _(
                "“%(name)s”的分数必须在 %(low)s 到 %(high)s 之间。", name=criterion.name, low=_fmt(rnd.scale_min), high=_fmt(rnd.scale_max)
            )
            continue
        clean[criterion.id] = value
    if errors:
        raise JudgingError(_("评分表有错误，请修改后再保存。"), errors)

    before = {"status": sheet.status, "scores": {str(s.criterion_id): s.value for s in sheet.scores}}
    existing = sheet_values(sheet)
    for criterion in rnd.criteria:
        score = existing.get(criterion.id)
        if score is None:
            score = Score(criterion_id=criterion.id)
            sheet.scores.append(score)
        score.value = clean.get(criterion.id)
        score.comment = (comments.get(criterion.id) or "").strip() or None
    sheet.comment = (overall_comment or "").strip() or None
    if submit:
        sheet.status = "submitted"
        sheet.submitted_at = utcnow()
    sheet.updated_at = utcnow()
    db.session.flush()
    after = {"status": sheet.status, "scores": {str(k): v for k, v in clean.items()}}
    audit.record("judging.sheet_submit" if submit else "judging.sheet_save", sheet, before=before, after=after, actor=actor)
    return sheet


def weighted_total(sheet: ScoreSheet, criteria: list[Criterion]) -> float | None:
    """Σ wᵢ·vᵢ / Σ wᵢ over the rubric; ``None`` when a criterion is unscored."""
    values = sheet_values(sheet)
    total_weight = sum(c.weight for c in criteria)
    if not criteria or total_weight <= 0:
        return None
    acc = 0.0
    for c in criteria:
        score = values.get(c.id)
        if score is None or score.value is None:
            return None
        acc += c.weight * score.value
    return acc / total_weight


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "min": None, "max": None, "mean": None}
    return {"count": len(values), "min": min(values), "max": max(values), "mean": sum(values) / len(values)}


def _submitted_sheets(item: JudgingItem) -> list[tuple[Assignment, ScoreSheet]]:
    return [(a, a.sheet) for a in item.assignments if a.status == AssignmentStatus.ASSIGNED.value and a.sheet is not None and a.sheet.status == "submitted"]


def peer_spread(assignment: Assignment) -> dict[str, Any]:
    """The anonymised spread of the OTHER judges' submitted scores on this item.

    Refused until this judge has submitted. Returns ``{"count": n, "criteria": [{"id", "name",
    "count", "min", "max", "mean"}…], "total": {"count", "min", "max", "mean"}}`` — never who
    scored what, and no individual values (only min/max/mean/count).
    """
    if not _submitted(assignment):
        raise JudgingError(_("提交自己的评分表后，才能查看其他专家评分的分布。"))
    item = assignment.item
    criteria = item.round.criteria
    others = [sheet for a, sheet in _submitted_sheets(item) if a.id != assignment.id]
    per_criterion = []
    for c in criteria:
        vals = [s.value for sheet in others for s in sheet.scores if s.criterion_id == c.id and s.value is not None]
        per_criterion.append({"id": c.id, "name": c.name, **_stats(vals)})
    totals = [t for t in (weighted_total(sheet, criteria) for sheet in others) if t is not None]
    return {"count": len(others), "criteria": per_criterion, "total": _stats(totals)}


# ---- aggregation ----------------------------------------------------------------------------


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pstdev(values: list[float]) -> float | None:
    if not values:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def _key(value: float | None) -> float:
    return round(value, _PRECISION) if value is not None else -math.inf


def aggregate(round: JudgingRound) -> list[ItemResult]:
    """Results of the active items, ordered by the normalised ranking (see module docstring)."""
    criteria = list(round.criteria)
    low, high = float(round.scale_min), float(round.scale_max)
    items = active_items(round)

    # weighted total of every submitted sheet, by item and by judge
    sheets_by_item: dict[int, list[tuple[int, ScoreSheet, float]]] = {}
    totals_by_judge: dict[int, list[float]] = defaultdict(list)
    all_totals: list[float] = []
    for item in items:
        rows = []
        for a, sheet in _submitted_sheets(item):
            total = weighted_total(sheet, criteria)
            if total is None:
                continue
            rows.append((a.judge_id, sheet, total))
            totals_by_judge[a.judge_id].append(total)
            all_totals.append(total)
        sheets_by_item[item.id] = rows

    overall_mean = _mean(all_totals)
    overall_std = _pstdev(all_totals) or 0.0
    judge_stats = {j: (_mean(ts), _pstdev(ts)) for j, ts in totals_by_judge.items()}

    def normalise(judge_id: int, total: float) -> float:
        mean_j, std_j = judge_stats[judge_id]
        z = 0.0 if len(totals_by_judge[judge_id]) < 2 or not std_j or std_j < 1e-12 else (total - mean_j) / std_j
        assert overall_mean is not None
        return min(high, max(low, overall_mean + z * overall_std))

    results: list[ItemResult] = []
    for item in items:
        rows = sheets_by_item[item.id]
        totals = [t for _j, _s, t in rows]
        means: dict[int, float | None] = {}
        for c in criteria:
            vals = [s.value for _j, sheet, _t in rows for s in sheet.scores if s.criterion_id == c.id and s.value is not None]
            means[c.id] = _mean(vals)
        std = _pstdev(totals)
        live = [a for a in item.assignments if a.status == AssignmentStatus.ASSIGNED.value]
        results.append(
            ItemResult(
                item=item,
                criterion_means=means,
                raw_mean=_mean(totals),
                normalised=_mean([normalise(j, t) for j, _s, t in rows]),
                std=std,
                disagreement=bool(std is not None and len(totals) > 1 and std > round.disagreement_threshold),
                submitted=len(rows),
                assigned=len(live),
            )
        )

    def rank(primary: str, secondary: str, rank_attr: str, tie_attr: str) -> None:
        scored = [r for r in results if getattr(r, primary) is not None]
        scored.sort(key=lambda r: (-_key(getattr(r, primary)), -_key(getattr(r, secondary)), -r.submitted, r.item.id))
        for position, r in enumerate(scored, start=1):
            setattr(r, rank_attr, position)
        for a, b in zip(scored, scored[1:], strict=False):
            if _key(getattr(a, primary)) == _key(getattr(b, primary)):
                setattr(a, tie_attr, True)
                setattr(b, tie_attr, True)

    rank("raw_mean", "normalised", "rank_raw", "tie_raw")
    rank("normalised", "raw_mean", "rank_normalised", "tie_normalised")
    results.sort(key=lambda r: (r.rank_normalised is None, r.rank_normalised or 0, r.item.id))
    return results


def progress(round: JudgingRound) -> tuple[int, int]:
    """(submitted sheets, live assignments) over the round's active items."""
    submitted = assigned = 0
    for item in active_items(round):
        for a in item.assignments:
            if a.status == AssignmentStatus.ASSIGNED.value:
                assigned += 1
                submitted += int(_submitted(a))
    return submitted, assigned


# ---- export ---------------------------------------------------------------------------------


def export_results_xlsx(round: JudgingRound) -> bytes:
    """An XLSX workbook: the results by normalised rank and by raw rank, and the rules used."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    results = aggregate(round)
    criteria = list(round.criteria)
    headers = [
        _("标准化排名"),
        _("原始均分排名"),
        _("项目"),
        _("类型"),
        _("引用编号"),
        *[f"{c.name}（{_('均分')}）" for c in criteria],
        _("原始加权均分"),
        _("标准化得分"),
        _("标准差"),
        _("分歧较大"),
        _("已提交"),
        _("已分配"),
        _("进度"),
    ]

    def row(r: ItemResult) -> list[Any]:
        def num(v: float | None) -> float | None:
            return builtins.round(v, 4) if v is not None else None

        return [
            r.rank_normalised,
            r.rank_raw,
            r.item.title,
            r.item.ref_type,
            r.item.ref_id,
            *[num(r.criterion_means.get(c.id)) for c in criteria],
            num(r.raw_mean),
            num(r.normalised),
            num(r.std),
            _("是") if r.disagreement else "",
            r.submitted,
            r.assigned,
            f"{r.submitted}/{r.assigned}",
        ]

    wb = Workbook()
    ws = wb.active
    ws.title = _("按标准化得分")
    by_raw = sorted(results, key=lambda r: (r.rank_raw is None, r.rank_raw or 0, r.item.id))
    for sheet, ordered in ((ws, results), (wb.create_sheet(_("按原始均分")), by_raw)):
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for r in ordered:
            sheet.append(row(r))
        sheet.freeze_panes = "A2"
        sheet.column_dimensions["C"].width = 40
    notes = wb.create_sheet(_("说明"))
    submitted, assigned = progress(round)
    for line in (
        [_("评审轮次"), round.title],
        [_("评分区间"), f"{round.scale_min}–{round.scale_max}"],
        [_("评分标准与权重"), "；".join(f"{c.name} ×{c.weight:g}" for c in criteria)],
        [_("分歧阈值（标准差）"), round.disagreement_threshold],
        [_("总进度"), f"{submitted}/{assigned}"],
        [_("标准化方法"), normalisation_note()],
        [_("并列规则"), tie_rule()],
    ):
        notes.append(line)
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
