"""Judging views: the organiser's round pages and the reviewer's score sheets.

Thin: parse the form, call :mod:`eventhub.judging.services`, commit, redirect or render. Object
checks: a reviewer opens only their own assignments' sheets (anything else is 404, so sheet ids
of other judges are not even confirmed to exist); organisers may read every sheet.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.core.permissions import has_permission, require
from eventhub.extensions import db
from eventhub.judging import bp, services
from eventhub.judging.models import Assignment, JudgingItem, JudgingRound


def _round_or_404(round_id: int) -> JudgingRound:
    rnd = services.get_round(round_id)
    if rnd is None:
        abort(404)
    return rnd


def _commit_or_flash(action: Any, *args: Any, success: str | None = None, **kwargs: Any) -> Any:
    """Run a service call; commit and flash ``success``, or roll back and flash the refusal."""
    try:
        result = action(*args, **kwargs)
        db.session.commit()
    except services.JudgingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None
    if success:
        flash(success, "success")
    return result if result is not None else True


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ---- organiser -------------------------------------------------------------------------------


@bp.get("/")
@require("judging.manage")
def list_rounds() -> str:
    rounds = services.list_rounds()
    stats = {r.id: services.progress(r) for r in rounds}
    return render_template("judging/list.html", rounds=rounds, stats=stats, status_label=services.status_label)


@bp.get("/rounds/<int:round_id>")
@require("judging.manage")
def view_round(round_id: int) -> str:
    rnd = _round_or_404(round_id)
    reviewers = services.all_reviewers()
    items = services.active_items(rnd)
    inactive = [i for i in rnd.items if not i.active]
    results = services.aggregate(rnd) if rnd.status != "setup" else []
    affiliations = {r.id: services.affiliations(r) for r in reviewers}
    base_names = {b.id: b.display_short_name for b in db.session.scalars(select(DemonstrationBase))}
    judges_by_id = {r.id: r for r in reviewers} | _users_of(rnd)
    return render_template(
        "judging/round.html",
        round=rnd,
        items=items,
        inactive=inactive,
        reviewers=reviewers,
        reviewer_by_id=judges_by_id,
        loads=services.judge_loads(rnd),
        results=results,
        affiliations=affiliations,
        base_names=base_names,
        progress=services.progress(rnd),
        status_label=services.status_label(rnd),
        tie_rule=services.tie_rule(),
        normalisation_note=services.normalisation_note(),
        conflict_reason=services.conflict_reason,
        judge_bases=services.conflict_bases(reviewers),
        stale_conflicts=services.conflicting_assignments(rnd),
        judge_name=lambda a: judges_by_id[a.judge_id].name if a.judge_id in judges_by_id else a.judge_id,
        auto_result=None,
        rubric_errors={},
    )


def _users_of(rnd: JudgingRound) -> dict[int, User]:
    ids = {a.judge_id for i in rnd.items for a in i.assignments}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@bp.post("/rounds/<int:round_id>/rubric")
@require("judging.manage")
def save_rubric(round_id: int) -> Any:
    rnd = _round_or_404(round_id)
    form = request.form
    rows = []
    for idx, (cid, name, weight, guidance, position) in enumerate(
        zip(
            form.getlist("crit_id"),
            form.getlist("crit_name"),
            form.getlist("crit_weight"),
            form.getlist("crit_guidance"),
            form.getlist("crit_position"),
            strict=False,
        )
    ):
        if str(idx) in form.getlist("crit_remove"):
            continue
        if not cid and not name.strip():
            continue  # the blank "add" row
        pos = _float(position)
        rows.append((pos if pos is not None else idx, idx, services.CriterionSpec(name=name, weight=_float(weight) or 0.0, guidance=guidance, id=_int(cid))))
    rows.sort(key=lambda r: (r[0], r[1]))
    scale = (_int(form.get("scale_min")), _int(form.get("scale_max")))
    try:
        services.update_rubric(
            rnd,
            [r[2] for r in rows],
            current_user,
            scale=scale if None not in scale else None,  # type: ignore[arg-type]
            judges_per_item=_int(form.get("judges_per_item")),
            disagreement_threshold=_float(form.get("disagreement_threshold")),
        )
        db.session.commit()
    except services.JudgingError as exc:
        db.session.rollback()
        details = [str(v) for v in exc.errors.values()]
        flash(" ".join([str(exc), *details]), "error")
    else:
        flash(_("评分标准已保存。"), "success")
    return redirect(url_for("judging.view_round", round_id=rnd.id) + "#rubric")


@bp.post("/rounds/<int:round_id>/status")
@require("judging.manage")
def change_status(round_id: int) -> Any:
    rnd = _round_or_404(round_id)
    action = request.form.get("action")
    if action == "start":
        _commit_or_flash(services.start_scoring, rnd, current_user, success=_("已开始评分，评分标准已冻结。"))
    elif action == "close":
        _commit_or_flash(services.close_round, rnd, current_user, success=_("评审已结束。"))
    else:
        abort(400)
    return redirect(url_for("judging.view_round", round_id=rnd.id))


@bp.post("/rounds/<int:round_id>/assign")
@require("judging.manage")
def assign(round_id: int) -> Any:
    rnd = _round_or_404(round_id)
    item = db.session.get(JudgingItem, _int(request.form.get("item_id")) or 0)
    judge = db.session.get(User, _int(request.form.get("judge_id")) or 0)
    if item is None or item.round_id != rnd.id or judge is None:
        flash(_("请选择项目和评审专家。"), "error")
    else:
        _commit_or_flash(services.assign, item, judge, current_user, success=_("已分配。"))
    return redirect(url_for("judging.view_round", round_id=rnd.id) + "#assignments")


@bp.post("/assignments/<int:assignment_id>/unassign")
@require("judging.manage")
def unassign(assignment_id: int) -> Any:
    assignment = db.session.get(Assignment, assignment_id) or abort(404)
    round_id = assignment.item.round_id
    _commit_or_flash(services.unassign, assignment, current_user, success=_("已取消分配。"))
    return redirect(url_for("judging.view_round", round_id=round_id) + "#assignments")


@bp.post("/rounds/<int:round_id>/auto-assign")
@require("judging.manage")
def auto_assign(round_id: int) -> Any:
    rnd = _round_or_404(round_id)
    k = _int(request.form.get("k")) or rnd.judges_per_item
    chosen = {int(x) for x in request.form.getlist("judge_ids") if x.isdigit()}
    judges = [r for r in services.all_reviewers() if not chosen or r.id in chosen]
    result = _commit_or_flash(services.auto_assign, rnd, judges, k, current_user)
    if result:
        flash(_("自动分配完成：新增 %(n)d 项分配。", n=len(result.created)), "success")
        for s in result.shortfalls:
            flash(_("“%(title)s”只分配到 %(got)d / %(k)d 位专家：%(reason)s", title=s.item.title, got=s.got, k=s.wanted, reason=s.reason), "warning")
    return redirect(url_for("judging.view_round", round_id=rnd.id) + "#assignments")


@bp.get("/rounds/<int:round_id>/results.xlsx")
@require("judging.manage")
def export_results(round_id: int) -> Response:
    rnd = _round_or_404(round_id)
    data = services.export_results_xlsx(rnd)
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=judging-results-{rnd.id}.xlsx"},
    )


# ---- reviewer --------------------------------------------------------------------------------


@bp.get("/my")
@require("judging.score")
def my_assignments() -> str:
    assignments = [a for a in services.assignments_of(current_user) if a.item.active]
    return render_template("judging/my_assignments.html", assignments=assignments)


def _sheet_assignment_or_404(assignment_id: int) -> Assignment:
    """The assignment behind a sheet URL, if the current user may read it (else 404)."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    if has_permission(current_user, "judging.manage"):
        return assignment
    if has_permission(current_user, "judging.score") and assignment.judge_id == current_user.id:
        return assignment
    abort(404)


def _parse_sheet_form(rnd: JudgingRound) -> tuple[dict[int, Any], dict[int, str]]:
    values: dict[int, Any] = {}
    comments: dict[int, str] = {}
    for c in rnd.criteria:
        raw = request.form.get(f"score_{c.id}", "").strip()
        values[c.id] = raw or None
        comments[c.id] = request.form.get(f"comment_{c.id}", "")
    return values, comments


@bp.route("/sheets/<int:assignment_id>", methods=["GET", "POST"])
def sheet(assignment_id: int) -> Any:
    """A score sheet: the judge fills it; organisers read it. Login is checked globally."""
    assignment = _sheet_assignment_or_404(assignment_id)
    is_owner = assignment.judge_id == current_user.id
    rnd = assignment.item.round
    sheet_obj = assignment.sheet
    errors: dict[Any, str] = {}
    typed: dict[str, Any] | None = None
    if request.method == "POST":
        if not is_owner:
            abort(403)
        values, comments = _parse_sheet_form(rnd)
        submit = request.form.get("action") == "submit"
        try:
            services.save_sheet(assignment, values, comments, request.form.get("overall_comment"), submit, current_user)
            db.session.commit()
        except services.JudgingError as exc:
            db.session.rollback()
            errors = exc.errors
            flash(str(exc), "error")
            typed = {"values": values, "comments": comments, "overall": request.form.get("overall_comment", "")}
        else:
            flash(_("评分表已提交。") if submit else _("草稿已保存。"), "success")
            return redirect(url_for("judging.sheet", assignment_id=assignment.id))
        sheet_obj = assignment.sheet
    scores = services.sheet_values(sheet_obj)
    submitted = sheet_obj is not None and sheet_obj.status == "submitted"
    spread = services.peer_spread(assignment) if (is_owner and submitted) else None
    editable = services.sheet_is_editable(assignment, current_user)
    return render_template(
        "judging/sheet.html",
        assignment=assignment,
        item=assignment.item,
        round=rnd,
        sheet=sheet_obj,
        scores=scores,
        submitted=submitted,
        editable=editable,
        is_owner=is_owner,
        spread=spread,
        errors=errors,
        typed=typed,
        judge=db.session.get(User, assignment.judge_id),
        weight_total=sum(c.weight for c in rnd.criteria) or 1,
    )


@bp.post("/sheets/<int:assignment_id>/conflict")
@require("judging.score")
def declare_conflict(assignment_id: int) -> Any:
    assignment = _sheet_assignment_or_404(assignment_id)
    if assignment.judge_id != current_user.id:
        abort(404)
    result = _commit_or_flash(services.declare_conflict, assignment, current_user, request.form.get("reason", ""), current_user)
    if result:
        flash(result.message, "success" if result.replacement else "warning")
        return redirect(url_for("judging.my_assignments"))
    return redirect(url_for("judging.sheet", assignment_id=assignment.id))


@bp.route("/affiliations", methods=["GET", "POST"])
@require("judging.score")
def my_affiliations() -> Any:
    bases = list(db.session.scalars(select(DemonstrationBase).order_by(DemonstrationBase.name)))
    if request.method == "POST":
        valid = {b.id for b in bases}
        chosen = [int(x) for x in request.form.getlist("base_ids") if x.isdigit() and int(x) in valid]
        notes = {b: request.form.get(f"note_{b}", "").strip()[:300] for b in chosen}
        conflicts = services.set_affiliations(current_user, chosen, current_user, notes=notes)
        db.session.commit()
        flash(_("已保存关联的示范基地。"), "success")
        for a in conflicts:
            flash(_("您已分配的“%(title)s”与所申报的关联基地存在冲突，请在评分页声明利益冲突。", title=a.item.title), "warning")
        return redirect(url_for("judging.my_affiliations"))
    current = {a.base_id: a for a in services.affiliations(current_user)}
    return render_template("judging/affiliations.html", bases=bases, current=current)
