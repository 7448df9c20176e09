"""Competition pages: setup, entries, rounds and judges, advancement, awards, results, recommendations.

Thin: parse, call :mod:`eventhub.competitions.services` / :mod:`.recommendations`, commit, render.
The organiser's pages need ``competitions.manage`` (organisers see every competition, so there
is no further object check); a judge reads an entry only while assigned to it (else 404). Public
pages show a competition once it has left the draft state, the results only once published, and
an entrant's private page only to the holder of its link.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from eventhub.auth.models import User
from eventhub.competitions import bp, forms, recommendations, services
from eventhub.competitions.models import (
    COMPETITION_STATUS_LABELS,
    SHOWCASE_LABELS,
    Competition,
    CompetitionEntry,
    CompetitionRound,
    CompetitionStatus,
    CompetitionTrack,
    EntryStatus,
    Recommendation,
    RoundStatus,
    Showcase,
)
from eventhub.core.permissions import public, require
from eventhub.core.timeutil import utcnow
from eventhub.core.uploads import max_bytes, send_stored
from eventhub.core.urls import secret_page as _private
from eventhub.core.wordcount import count_zishu
from eventhub.events.models import Event
from eventhub.extensions import csrf, db, limiter
from eventhub.judging import services as judging
from eventhub.judging.models import Assignment
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow.models import ApplicationStatus, ProjectApplication

PER_PAGE = 25


# ---- helpers -------------------------------------------------------------------------------------


def _competition_or_404(competition_id: int) -> Competition:
    competition = db.session.get(Competition, competition_id)
    if competition is None:
        abort(404)
    return competition


def _round_or_404(round_id: int) -> CompetitionRound:
    round_ = db.session.get(CompetitionRound, round_id)
    if round_ is None:
        abort(404)
    return round_


def _entry_or_404(entry_id: int) -> CompetitionEntry:
    entry = db.session.get(CompetitionEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def _run(action: Any, *args: Any, success: str | None = None, **kwargs: Any) -> Any:
    """Run a service call; commit and flash ``success``, or roll back and flash the refusal."""
    try:
        result = action(*args, **kwargs)
        db.session.commit()
    except services.CompetitionError as exc:
        db.session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
        return None
    if success:
        flash(success, "success")
    return result if result is not None else True


def _confirmed() -> bool:
    form = forms.ConfirmForm()
    if not form.validate_on_submit() or not form.confirm.data:
        flash(_("请勾选确认框后再提交。"), "error")
        return False
    return True


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


def _event_choices() -> list[SelectChoice]:
    events = db.session.scalars(select(Event).order_by(Event.start_date.desc()))
    return [SelectChoice("", _("不关联"))] + [SelectChoice(str(e.id), f"{e.title}（{e.start_date.isoformat()}）") for e in events]


def _org_type_label(value: str) -> str:
    return _(ORG_TYPE_LABELS[OrgType(value)]) if value in {o.value for o in OrgType} else value


def _common() -> dict[str, Any]:
    return {
        "status_labels": {k.value: _(v) for k, v in COMPETITION_STATUS_LABELS.items()},
        "entry_status_label": services.entry_status_label,
        "round_status_label": services.round_status_label,
        "org_type_label": _org_type_label,
    }


# ---- organiser: competitions ---------------------------------------------------------------------


@bp.get("/competitions/manage")
@require("competitions.manage")
def manage_list() -> str:
    page = db.paginate(services.list_competitions(), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    counts = {c.id: sum(services.status_counts(c).values()) for c in page.items}
    return render_template("competitions/manage_list.html", page=page, counts=counts, **_common())


def _render_form(form: forms.CompetitionForm, competition: Competition | None, status: int = 200) -> tuple[str, int]:
    return render_template("competitions/form.html", form=form, competition=competition, **_common()), status


def _save(form: forms.CompetitionForm, competition: Competition | None) -> Any:
    form.event_id.choices = _event_choices()
    if request.method == "GET":
        if competition is not None:
            form.fill(competition)
        return _render_form(form, competition)
    if not form.validate_on_submit():
        return _render_form(form, competition, 400)
    try:
        saved = services.save_competition(form.service_data(), current_user, competition)
        db.session.commit()
    except services.CompetitionError as exc:
        db.session.rollback()
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
            else:
                flash(message, "error")
        return _render_form(form, competition, 400)
    flash(_("大赛信息已保存。"), "success")
    return redirect(url_for("competitions.manage_detail", competition_id=saved.id))


@bp.route("/competitions/manage/new", methods=["GET", "POST"])
@require("competitions.manage")
def manage_new() -> Any:
    return _save(forms.CompetitionForm(), None)


@bp.route("/competitions/manage/<int:competition_id>/edit", methods=["GET", "POST"])
@require("competitions.manage")
def manage_edit(competition_id: int) -> Any:
    return _save(forms.CompetitionForm(), _competition_or_404(competition_id))


@bp.get("/competitions/manage/<int:competition_id>")
@require("competitions.manage")
def manage_detail(competition_id: int) -> str:
    competition = _competition_or_404(competition_id)
    return render_template(
        "competitions/detail.html",
        competition=competition,
        counts=services.status_counts(competition),
        final=services.final_round(competition),
        awards=services.awards_of(competition),
        entries_open=services.entries_open(competition),
        confirm_form=forms.ConfirmForm(),
        **_common(),
    )


@bp.post("/competitions/manage/<int:competition_id>/open")
@require("competitions.manage")
def manage_open(competition_id: int) -> Response:
    competition = _competition_or_404(competition_id)
    _run(services.open_entries, competition, current_user, success=_("已开放报名。"))
    return redirect(url_for("competitions.manage_detail", competition_id=competition.id))


# ---- organiser: tracks and rounds --------------------------------------------------------------------


def _round_rows(competition: Competition) -> list[dict[str, Any]]:
    return [
        {
            "id": str(r.id),
            "name": r.name,
            "advance_mode": r.advance_mode,
            "advance_n": "" if r.advance_n is None else str(r.advance_n),
            "threshold": "" if r.threshold is None else f"{r.threshold:g}",
            "locked": r.status != RoundStatus.SETUP.value or r.judging_round_id is not None,
        }
        for r in competition.rounds
    ] or [{"id": "", "name": name, "advance_mode": "top_n", "advance_n": "", "threshold": "", "locked": False} for name in services.ROUND_PRESETS]


@bp.route("/competitions/manage/<int:competition_id>/structure", methods=["GET", "POST"])
@require("competitions.manage")
def manage_structure(competition_id: int) -> Any:
    """Tracks (one per line) and rounds (ordered rows; presets 初赛 / 复赛 / 决赛 or custom)."""
    competition = _competition_or_404(competition_id)
    tracks_text = "\n".join(t.name for t in competition.tracks)
    rows = _round_rows(competition)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not forms.ConfirmForm().validate_on_submit():
            abort(400)
        what = request.form.get("what")
        if what == "tracks":
            tracks_text = request.form.get("tracks", "")
            try:
                services.save_tracks(competition, tracks_text.splitlines(), current_user)
                db.session.commit()
                flash(_("赛道已保存。"), "success")
                return redirect(url_for("competitions.manage_structure", competition_id=competition.id))
            except services.CompetitionError as exc:
                db.session.rollback()
                errors = exc.errors
        elif what == "rounds":
            names, modes = request.form.getlist("r_name"), request.form.getlist("r_mode")
            ns, thresholds, ids = request.form.getlist("r_n"), request.form.getlist("r_threshold"), request.form.getlist("r_id")
            rows = [
                {"id": i, "name": n, "advance_mode": m, "advance_n": an, "threshold": t, "locked": False}
                for i, n, m, an, t in zip(ids, names, modes, ns, thresholds, strict=False)
            ]
            action = request.form.get("action", "save")
            if action == "add":
                rows.append({"id": "", "name": "", "advance_mode": "top_n", "advance_n": "", "threshold": "", "locked": False})
            elif action.startswith("remove:") and action[7:].isdigit() and int(action[7:]) < len(rows):
                rows.pop(int(action[7:]))
            elif action.startswith("up:") and action[3:].isdigit() and 0 < int(action[3:]) < len(rows):
                i = int(action[3:])
                rows[i - 1], rows[i] = rows[i], rows[i - 1]
            else:
                specs = [
                    services.RoundSpec(
                        name=r["name"], advance_mode=r["advance_mode"], advance_n=_int(r["advance_n"]), threshold=_float(r["threshold"]), id=_int(r["id"])
                    )
                    for r in rows
                ]
                try:
                    services.save_rounds(competition, specs, current_user)
                    db.session.commit()
                    flash(_("轮次已保存。"), "success")
                    return redirect(url_for("competitions.manage_structure", competition_id=competition.id))
                except services.CompetitionError as exc:
                    db.session.rollback()
                    errors = exc.errors
            locked = {str(r.id) for r in competition.rounds if r.status != RoundStatus.SETUP.value or r.judging_round_id is not None}
            for r in rows:
                r["locked"] = r["id"] in locked
    status = 400 if errors else 200
    return render_template(
        "competitions/structure.html", competition=competition, tracks_text=tracks_text, rows=rows, errors=errors, presets=services.ROUND_PRESETS, **_common()
    ), status


# ---- organiser: entries --------------------------------------------------------------------------------


def _entry_filters(competition: Competition) -> dict[str, Any]:
    return {
        "status": request.args.get("status", ""),
        "track_id": request.args.get("track_id", type=int),
        "q": request.args.get("q", "").strip(),
        "round_id": request.args.get("round_id", type=int),
    }


@bp.get("/competitions/manage/<int:competition_id>/entries")
@require("competitions.manage")
def manage_entries(competition_id: int) -> str:
    competition = _competition_or_404(competition_id)
    filters = _entry_filters(competition)
    page = db.paginate(services.entry_query(competition, **filters), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template(
        "competitions/entries.html",
        competition=competition,
        page=page,
        filters=filters,
        counts=services.status_counts(competition),
        statuses=[s.value for s in EntryStatus],
        is_overridden=services.is_overridden,
        **_common(),
    )


@bp.get("/competitions/manage/<int:competition_id>/entries.xlsx")
@require("competitions.manage")
def manage_entries_xlsx(competition_id: int) -> Response:
    competition = _competition_or_404(competition_id)
    entries = list(db.session.scalars(services.entry_query(competition, **_entry_filters(competition))))
    body = services.export_entries_xlsx(competition, entries)
    response = Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="competition-{competition.id}-entries.xlsx"'
    return response


@bp.get("/competitions/manage/entries/<int:entry_id>")
@require("competitions.manage")
def manage_entry(entry_id: int) -> str:
    entry = _entry_or_404(entry_id)
    competition = _competition_or_404(entry.competition_id)
    return render_template(
        "competitions/entry.html",
        entry=entry,
        competition=competition,
        history=services.entry_history(entry),
        award=services.award_of(entry),
        overridden=services.is_overridden(entry),
        manage=True,
        **_common(),
    )


def _render_entry_edit(
    entry: CompetitionEntry, competition: Competition, form: forms.EntryForm, presenters: list[dict[str, str]], status: int = 200, **extra: Any
) -> Any:
    return render_template(
        "competitions/entry_edit.html",
        entry=entry,
        competition=competition,
        form=form,
        presenters=presenters,
        overridden=services.is_overridden(entry),
        count_zishu=count_zishu,
        summary_min=services.SUMMARY_MIN,
        summary_max=services.SUMMARY_MAX,
        max_mb=max_bytes() // (1024 * 1024),
        **extra,
        **_common(),
    ), status


@bp.route("/competitions/manage/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@require("competitions.manage")
def manage_entry_edit(entry_id: int) -> Any:
    """修改参赛项目信息: the entry form's fields and checks (and the track) for the organiser, at any time."""
    entry = _entry_or_404(entry_id)
    competition = _competition_or_404(entry.competition_id)
    form = forms.EntryForm()
    form.track_id.choices = [SelectChoice("", _("请选择"))] + [SelectChoice(str(t.id), t.name) for t in competition.tracks]
    locked = services.track_locked_reason(entry)
    if locked:
        form.track_id.description = locked
    if request.method == "GET":
        form.fill(entry)
        return _render_entry_edit(entry, competition, form, forms.presenter_rows_of(entry))
    presenters = forms.presenter_rows(request.form)
    if not form.validate_on_submit():
        return _render_entry_edit(entry, competition, form, presenters, 400, general_error=_("页面已过期，请刷新后重新提交（已填写的内容仍在下方）。"))
    try:
        outcome = services.update_entry(entry, form.service_data(request.form), current_user, deck=request.files.get("deck"))
        db.session.commit()
    except services.CompetitionError as exc:
        db.session.rollback()
        for name, message in exc.errors.items():
            if name in form and name != "presenters":
                form[name].errors = [*form[name].errors, message]
        presenter_errors = {k: v for k, v in exc.errors.items() if k.startswith("presenters")}
        return _render_entry_edit(entry, competition, form, presenters, 400, presenter_errors=presenter_errors, general_error=exc.errors.get(""))
    if not outcome.changes:
        flash(_("没有修改任何内容。"), "info")
    else:
        flash(_("已保存修改（%(n)d 项），并记录在审计日志中。", n=len(outcome.changes)), "success")
    if outcome.override_kept:
        flash(_("该项目的参赛资格此前已由组织方人工认定，已保留该认定，未按修改后的信息重新核对。"), "warning")
    if outcome.now_ineligible:
        flash(_("按修改后的信息，该项目不符合参赛条件：%(reasons)s", reasons="".join(outcome.now_ineligible)), "warning")
    if outcome.rule_failures:
        flash(
            _("按修改后的信息，该项目不符合参赛条件：%(reasons)s 项目已在比赛中，状态未自动更改，请核实。", reasons="".join(outcome.rule_failures)), "warning"
        )
    return redirect(url_for("competitions.manage_entry", entry_id=entry.id))


@bp.post("/competitions/manage/entries/<int:entry_id>/override")
@require("competitions.manage")
def manage_override(entry_id: int) -> Response:
    entry = _entry_or_404(entry_id)
    if forms.ConfirmForm().validate_on_submit():
        _run(services.override_eligibility, entry, request.form.get("note", ""), current_user, success=_("已认定该项目符合参赛条件。"))
    return redirect(url_for("competitions.manage_entry", entry_id=entry.id))


@bp.get("/competitions/manage/entries/<int:entry_id>/deck")
@require("competitions.manage")
def manage_entry_deck(entry_id: int) -> Response:
    entry = _entry_or_404(entry_id)
    if entry.deck_file is None:
        abort(404)
    return send_stored(entry.deck_file)


@bp.route("/competitions/manage/<int:competition_id>/carry-over", methods=["GET", "POST"])
@require("competitions.manage")
def manage_carry_over(competition_id: int) -> Any:
    """Shortlisted road-show projects (of the linked theme day by default) to carry into the competition."""
    competition = _competition_or_404(competition_id)
    if request.method == "POST":
        if not forms.ConfirmForm().validate_on_submit():
            abort(400)
        application = db.session.get(ProjectApplication, request.form.get("application_id", type=int) or 0)
        track = db.session.get(CompetitionTrack, request.form.get("track_id", type=int) or 0)
        if application is None or track is None or track.competition_id != competition.id:
            flash(_("请选择项目和赛道。"), "error")
        else:
            founded = request.form.get("founded_on", "").strip()
            try:
                founded_on = date.fromisoformat(founded) if founded else None
            except ValueError:
                founded_on = None
                flash(_("成立日期格式应为 YYYY-MM-DD，已留空。"), "warning")
            result = _run(
                services.carry_over,
                application,
                competition,
                track,
                current_user,
                founded_on=founded_on,
                region=request.form.get("region", ""),
                success=_("已将“%(name)s”转入大赛，并向联系人发送了专属链接。", name=application.project_name),
            )
            if result:
                return redirect(url_for("competitions.manage_carry_over", competition_id=competition.id, event_id=request.args.get("event_id", "")))
    event_id = request.args.get("event_id", type=int) or competition.event_id
    query = select(ProjectApplication).where(ProjectApplication.status == ApplicationStatus.SHORTLISTED.value)
    if event_id:
        query = query.where(ProjectApplication.event_id == event_id)
    page = db.paginate(query.order_by(ProjectApplication.id), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    carried = set(
        db.session.scalars(
            select(CompetitionEntry.application_id).where(CompetitionEntry.competition_id == competition.id, CompetitionEntry.application_id.is_not(None))
        )
    )
    return render_template(
        "competitions/carry_over.html",
        competition=competition,
        page=page,
        carried=carried,
        event_id=event_id,
        events=_event_choices(),
        regions=services.REGIONS,
        **_common(),
    )


# ---- organiser: rounds ------------------------------------------------------------------------------------


@bp.get("/competitions/manage/rounds/<int:round_id>")
@require("competitions.manage")
def manage_round(round_id: int) -> str:
    round_ = _round_or_404(round_id)
    competition = round_.competition
    jr = services.judging_round(round_)
    tie_policy = request.args.get("tie_policy", "advance_all")
    if tie_policy not in services.TIE_POLICIES:
        tie_policy = "advance_all"
    table = services.standings(round_, tie_policy) if jr is not None and round_.status == RoundStatus.SCORING.value else []
    judge_ids = {a.judge_id for rows in services.live_assignments(round_).values() for a in rows}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(judge_ids or [-1])))}
    return render_template(
        "competitions/round.html",
        competition=competition,
        round=round_,
        jr=jr,
        final=services.is_final(round_),
        previous=services.previous_round(round_),
        entries=services.entries_in_round(round_),
        assignments=services.live_assignments(round_),
        stale_conflicts=judging.conflicting_assignments(jr) if jr is not None else [],
        judge_name=lambda a: users[a.judge_id].name if a.judge_id in users else a.judge_id,
        users=users,
        reviewers=judging.all_reviewers(),
        progress=judging.progress(jr) if jr is not None else (0, 0),
        table=table,
        tie_policy=tie_policy,
        tie_rule=judging.tie_rule(),
        results=services.results_by_track(round_) if round_.status == RoundStatus.DECIDED.value else [],
        confirm_form=forms.ConfirmForm(),
        **_common(),
    )


def _back(round_: CompetitionRound) -> Response:
    return redirect(url_for("competitions.manage_round", round_id=round_.id))


@bp.post("/competitions/manage/rounds/<int:round_id>/prepare")
@require("competitions.manage")
def round_prepare(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if forms.ConfirmForm().validate_on_submit():
        _run(services.prepare_round, round_, current_user, success=_("已生成本轮评审项目。"))
    return _back(round_)


@bp.post("/competitions/manage/rounds/<int:round_id>/auto-assign")
@require("competitions.manage")
def round_auto_assign(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    ids = [int(x) for x in request.form.getlist("judge_ids") if x.isdigit()]
    judges = list(db.session.scalars(select(User).where(User.id.in_(ids or [-1]))))
    if not judges:
        flash(_("请至少选择一位评审专家。"), "error")
        return _back(round_)
    result = _run(services.auto_assign_judges, round_, judges, request.form.get("k", type=int), current_user)
    if result and result is not True:
        flash(_("已新增 %(n)d 个分配。", n=len(result.created)), "success")
        for shortfall in result.shortfalls:
            flash(f"{shortfall.item.title}：{shortfall.reason}", "warning")
        for judge in result.skipped_judges:
            flash(_("%(name)s 不是有效的评审专家账号，已跳过。", name=judge.name), "warning")
    return _back(round_)


@bp.post("/competitions/manage/rounds/<int:round_id>/assign")
@require("competitions.manage")
def round_assign(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    entry = db.session.get(CompetitionEntry, request.form.get("entry_id", type=int) or 0)
    judge = db.session.get(User, request.form.get("judge_id", type=int) or 0)
    if entry is None or judge is None or entry.competition_id != round_.competition_id:
        flash(_("请选择项目和评审专家。"), "error")
    else:
        _run(services.assign_judge, round_, entry, judge, current_user, success=_("已分配。"))
    return _back(round_)


def _assignment_in_round(round_: CompetitionRound) -> Assignment:
    assignment = db.session.get(Assignment, request.form.get("assignment_id", type=int) or 0)
    if assignment is None or assignment.item.round_id != round_.judging_round_id:
        abort(404)
    return assignment


@bp.post("/competitions/manage/rounds/<int:round_id>/unassign")
@require("competitions.manage")
def round_unassign(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if forms.ConfirmForm().validate_on_submit():
        _run(services.unassign_judge, _assignment_in_round(round_), current_user, success=_("已取消分配。"))
    return _back(round_)


@bp.post("/competitions/manage/rounds/<int:round_id>/conflict")
@require("competitions.manage")
def round_conflict(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if forms.ConfirmForm().validate_on_submit():
        outcome = _run(services.record_conflict, round_, _assignment_in_round(round_), request.form.get("reason", ""), current_user)
        if outcome and outcome is not True:
            flash(outcome.message, "success" if outcome.replacement else "warning")
    return _back(round_)


@bp.post("/competitions/manage/rounds/<int:round_id>/start")
@require("competitions.manage")
def round_start(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if _confirmed():
        _run(services.start_scoring, round_, current_user, success=_("已开始评分，评分标准已冻结。"))
    return _back(round_)


@bp.post("/competitions/manage/rounds/<int:round_id>/decide")
@require("competitions.manage")
def round_decide(round_id: int) -> Response:
    round_ = _round_or_404(round_id)
    if _confirmed():
        _run(services.decide_round, round_, current_user, request.form.get("tie_policy", "advance_all"), success=_("已确定本轮结果。"))
    return _back(round_)


@bp.route("/competitions/manage/rounds/<int:round_id>/reopen", methods=["GET", "POST"])
@require("competitions.manage")
def round_reopen(round_id: int) -> Any:
    """撤销本轮结果: GET shows what would be undone (or what blocks it); POST with the reason does it."""
    round_ = _round_or_404(round_id)
    form = forms.ReopenForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            services.reopen_round(round_, current_user, form.reason.data or "")
            db.session.commit()
        except services.CompetitionError as exc:
            db.session.rollback()
            if "reason" in exc.errors:
                form.reason.errors = [*form.reason.errors, exc.errors["reason"]]
            status = 400  # any other refusal is a blocker, which the page lists
        else:
            flash(_("已撤销“%(name)s”的结果，本轮回到评分中，可重新确定。", name=round_.name), "success")
            return _back(round_)
    plan = services.reopen_plan(round_)
    return render_template("competitions/reopen.html", competition=round_.competition, round=round_, plan=plan, form=form, **_common()), status


# ---- organiser: awards and publication -------------------------------------------------------------------


@bp.route("/competitions/manage/<int:competition_id>/awards", methods=["GET", "POST"])
@require("competitions.manage")
def manage_awards(competition_id: int) -> Any:
    competition = _competition_or_404(competition_id)
    final = services.final_round(competition)
    if request.method == "POST":
        if not forms.ConfirmForm().validate_on_submit():
            abort(400)
        titles = {int(k[6:]): v for k, v in request.form.items() if k.startswith("award-") and k[6:].isdigit()}
        if _run(services.save_awards, competition, titles, current_user, success=_("奖项已保存。")):
            return redirect(url_for("competitions.manage_awards", competition_id=competition.id))
    decided = final is not None and final.status == RoundStatus.DECIDED.value
    current = {a.entry_id: a.title for a in services.awards_of(competition)}
    return render_template(
        "competitions/awards.html",
        competition=competition,
        final=final,
        decided=decided,
        results=services.results_by_track(final) if decided else [],
        current=current,
        suggested=services.suggested_title,
        confirm_form=forms.ConfirmForm(),
        **_common(),
    )


@bp.post("/competitions/manage/<int:competition_id>/publish")
@require("competitions.manage")
def manage_publish(competition_id: int) -> Response:
    competition = _competition_or_404(competition_id)
    if _confirmed():
        _run(services.publish_results, competition, current_user, success=_("结果已公布。"))
    return redirect(url_for("competitions.manage_detail", competition_id=competition.id))


# ---- judges: reading an assigned entry ---------------------------------------------------------------------


@bp.get("/competitions/entries/<int:entry_id>/review")
@require("judging.score")
def entry_review(entry_id: int) -> str:
    """What a judge reads before scoring: the project (contact details masked). Only while assigned."""
    entry = _entry_or_404(entry_id)
    if not judging.is_assigned(current_user, services.ENTRY_REF, entry.id):
        abort(404)
    competition = _competition_or_404(entry.competition_id)
    return render_template("competitions/entry.html", entry=entry, competition=competition, history=[], award=None, overridden=False, manage=False, **_common())


@bp.get("/competitions/entries/<int:entry_id>/review/deck")
@require("judging.score")
def entry_review_deck(entry_id: int) -> Response:
    entry = _entry_or_404(entry_id)
    if not judging.is_assigned(current_user, services.ENTRY_REF, entry.id) or entry.deck_file is None:
        abort(404)
    return send_stored(entry.deck_file)


# ---- public pages ---------------------------------------------------------------------------------------------


def _public_or_404(competition_id: int) -> Competition:
    competition = _competition_or_404(competition_id)
    if competition.status == CompetitionStatus.DRAFT.value:
        abort(404)
    return competition


def _entry_limit() -> str:
    return current_app.config.get("COMPETITION_ENTRY_RATE_LIMIT", services.RATE_LIMIT)


@bp.get("/competitions")
@public
def public_list() -> str:
    query = select(Competition).where(Competition.status != CompetitionStatus.DRAFT.value).order_by(Competition.created_at.desc())
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("competitions/public_list.html", page=page, entries_open=services.entries_open, **_common())


@bp.route("/competitions/<int:competition_id>", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
@limiter.limit(_entry_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def public_page(competition_id: int) -> Any:
    """The public competition page with its entry form (while entries are open)."""
    competition = _public_or_404(competition_id)
    form = forms.EntryForm()
    form.track_id.choices = [SelectChoice("", _("请选择"))] + [SelectChoice(str(t.id), t.name) for t in competition.tracks]
    is_open = services.entries_open(competition)
    context = {
        "competition": competition,
        "is_open": is_open,
        "count_zishu": count_zishu,
        "summary_min": services.SUMMARY_MIN,
        "summary_max": services.SUMMARY_MAX,
        "max_mb": max_bytes() // (1024 * 1024),
        "published": competition.results_published_at is not None,
        "rules": competition.eligibility or {},
        "not_yet": competition.status == CompetitionStatus.OPEN.value and competition.entry_opens_at is not None and competition.entry_opens_at > utcnow(),
        **_common(),
    }
    if request.method == "GET" or not is_open:
        status = 200 if request.method == "GET" else 400
        return render_template("competitions/public.html", form=form, presenters=forms.presenter_rows(None), **context), status
    presenters = forms.presenter_rows(request.form)
    if not form.validate_on_submit():
        general = _("页面已过期，请刷新后重新提交（已填写的内容仍在下方）。")
        return render_template("competitions/public.html", form=form, presenters=presenters, general_error=general, **context), 400
    if form.website.data:
        current_app.logger.info("honeypot filled on competition %s entry form", competition.id)
        return render_template("competitions/public.html", form=form, presenters=presenters, generic_error=True, **context), 400
    if not form.consent.data:
        form.consent.errors = [*form.consent.errors, _("请确认所填信息真实。")]
        return render_template("competitions/public.html", form=form, presenters=presenters, **context), 400
    try:
        _entry, token = services.submit_entry(competition, form.service_data(request.form), request.files.get("deck"), locale=str(get_locale() or "zh_Hans_CN"))
        db.session.commit()
    except services.CompetitionError as exc:
        db.session.rollback()
        presenter_errors = {k: v for k, v in exc.errors.items() if k.startswith("presenters")}
        for name, message in exc.errors.items():
            if name in form and name not in ("presenters",):
                form[name].errors = [*form[name].errors, message]
        page = render_template(
            "competitions/public.html",
            form=form,
            presenters=presenters,
            presenter_errors=presenter_errors,
            general_error=exc.errors.get(""),
            duplicate=exc.duplicate,
            **context,
        )
        return page, 400
    flash(_("报名已提交。本页是您的专属链接，请收藏；链接也已发送到您的邮箱。"), "success")
    return _private(redirect(url_for("competitions.entry_private", token=token)))


@bp.get("/competitions/<int:competition_id>/results")
@public
def public_results(competition_id: int) -> Any:
    """Winners per track — only once published (404 with a short explanation before)."""
    competition = _public_or_404(competition_id)
    if competition.results_published_at is None:
        return render_template("competitions/results.html", competition=competition, published=False, tracks=[], **_common()), 404
    return render_template("competitions/results.html", competition=competition, published=True, tracks=services.public_results(competition), **_common())


@bp.route("/competition-entries/<token>", methods=["GET", "POST"])
@public
def entry_private(token: str) -> Response:
    """The entrant's private page: status, eligibility, round outcomes, award once published; withdraw."""
    entry = services.find_by_token(token)
    if entry is None:
        abort(404)
    competition = db.session.get(Competition, entry.competition_id)
    form = forms.ConfirmForm()
    if request.method == "POST":
        if form.validate_on_submit() and form.confirm.data:
            _run(services.withdraw_entry, entry, None, success=_("已退赛。"))
        else:
            flash(_("请勾选确认框后再提交。"), "error")
        return _private(redirect(url_for("competitions.entry_private", token=token)))
    page = render_template(
        "competitions/private.html",
        entry=entry,
        competition=competition,
        history=services.entry_history(entry),
        award=services.award_of(entry) if competition.results_published_at else None,
        form=form,
        can_withdraw=entry.status not in (EntryStatus.WITHDRAWN.value, EntryStatus.ELIMINATED.value) and competition.status != CompetitionStatus.FINISHED.value,
        token=token,
        count_zishu=count_zishu,
        **_common(),
    )
    return _private(make_response(page))


# ---- recommendations ------------------------------------------------------------------------------------------


@bp.route("/recommendations", methods=["GET", "POST"])
@require("competitions.manage")
def recommendations_page() -> Any:
    """Recommendations to national showcases: the list, a form to add one, the XLSX export."""
    form = forms.RecommendForm()
    q = request.args.get("q", "").strip()
    showcase = request.args.get("showcase", "")
    candidates = recommendations.candidates(q)
    form.ref.choices = [SelectChoice("", _("请选择"))] + [SelectChoice(c.key, c.label) for c in candidates]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            ref_type, _sep, ref_id = (form.ref.data or "").partition(":")
            try:
                recommendations.recommend(ref_type, _int(ref_id) or 0, form.showcase.data or "", form.reason.data or "", current_user)
                db.session.commit()
                flash(_("已添加推荐。"), "success")
                return redirect(url_for("competitions.recommendations_page", showcase=showcase, q=q))
            except recommendations.RecommendationError as exc:
                db.session.rollback()
                for name, message in exc.errors.items():
                    (form[name].errors.append(message) if name in form and isinstance(form[name].errors, list) else flash(message, "error"))
        status = 400
    query = recommendations.list_query(showcase)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    rows = [(rec, recommendations.evidence(rec)) for rec in page.items]
    return render_template(
        "competitions/recommendations.html",
        form=form,
        page=page,
        rows=rows,
        q=q,
        showcase=showcase,
        showcases=[(s.value, _(SHOWCASE_LABELS[s])) for s in Showcase],
        confirm_form=forms.ConfirmForm(),
        candidate_count=len(candidates),
    ), status


@bp.post("/recommendations/<int:recommendation_id>/delete")
@require("competitions.manage")
def recommendation_delete(recommendation_id: int) -> Response:
    rec = db.session.get(Recommendation, recommendation_id)
    if rec is None:
        abort(404)
    if _confirmed():
        recommendations.withdraw(rec, current_user)
        db.session.commit()
        flash(_("已撤销推荐。"), "success")
    return redirect(url_for("competitions.recommendations_page"))


@bp.get("/recommendations.xlsx")
@require("competitions.manage")
def recommendations_xlsx() -> Response:
    body = recommendations.export_xlsx(request.args.get("showcase", ""))
    response = Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = 'attachment; filename="recommendations.xlsx"'
    return response
