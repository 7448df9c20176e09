"""Live pages: panel members score pitches on their phones, investors mark interest, session results.

Thin views over :mod:`eventhub.roadshow.live` (and, for sheets, the judging engine). Object checks:

* the live page of a session: ``roadshow.panel`` and a seat on that session's panel, else 404;
* the host's rubric, results and leads pages: ``roadshow.manage`` plus ``can_manage_event``
  (another host's event is 404, as on the other road-show pages);
* the registrant's project list: the registration's private link (unknown token 404), only
  confirmed registrations may mark interest; POSTs are rate-limited and carry the CSRF token;
* the public winners page: awards only once the host published them (“尚未公布” before).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from eventhub.core.permissions import can_manage_event, public, require
from eventhub.core.urls import secret_page as _private
from eventhub.events.content import publication
from eventhub.events.models import Event
from eventhub.extensions import db, limiter
from eventhub.judging import services as judging
from eventhub.judging.models import RoundStatus
from eventhub.registration.models import Registration, RegistrationStatus
from eventhub.roadshow import bp, calls, live
from eventhub.roadshow.live_forms import ConflictForm, InterestForm, PublishForm
from eventhub.roadshow.models import PANEL_ROLE_LABELS, MatchmakingLead, PanelRole, ProjectApplication, RoadshowSession

PER_PAGE = 50


def _sync_quietly(event: Event, actor: Any) -> live.SyncReport | None:
    """Keep the live round in step; two pages syncing at the same moment: the loser just reads."""
    try:
        report = live.sync_live_round(event, actor)
        db.session.commit()
        return report
    except IntegrityError:
        db.session.rollback()
        return None


@bp.app_template_global("roadshow_leads_for")
def roadshow_leads_for(application: ProjectApplication) -> list[MatchmakingLead]:
    """For ``roadshow/_leads.html`` on the applicant's private page: who is interested in the project."""
    return live.leads_of_application(application)


@bp.app_template_global("roadshow_schedule_published")
def roadshow_schedule_published(event: Event) -> bool:
    """For links on other packages' pages (the registrant's private page, the public page)."""
    return live.published_version(event) is not None


@bp.app_template_global("roadshow_winners_published")
def roadshow_winners_published(event: Event) -> bool:
    """True once the host published the road-show results (the public winners page then shows them)."""
    call = calls.get_call(event)
    return call is not None and call.results_published_at is not None


# ==== the panel's phone page ======================================================================


def _member_session_or_404(session_id: int) -> tuple[RoadshowSession, Any]:
    session = db.session.get(RoadshowSession, session_id)
    member = live.panel_member(session, current_user) if session is not None else None
    if session is None or member is None:
        abort(404)
    return session, member


def _application_in_session_or_404(session: RoadshowSession, application_id: int) -> ProjectApplication:
    application = db.session.get(ProjectApplication, application_id)
    placement = live.placement_of(application) if application is not None else None
    if application is None or placement is None or placement.session_id != session.id:
        abort(404)
    return application


def _parse_sheet(rnd: Any) -> tuple[dict[int, Any], dict[int, str]]:
    values: dict[int, Any] = {}
    for c in rnd.criteria:
        raw = (request.form.get(f"score_{c.id}") or "").strip()
        values[c.id] = raw or None
    return values, {}


def _live_page(session: RoadshowSession, member: Any, *, errors: dict[int, dict[Any, str]] | None = None, typed: dict[int, Any] | None = None) -> str:
    rnd = live.live_round(session.event)
    return render_template(
        "roadshow/live/session.html",
        session=session,
        event=session.event,
        member=member,
        role_label=PANEL_ROLE_LABELS[PanelRole(member.role)],
        is_judge=member.role == PanelRole.JUDGE.value,
        is_investor=member.role == PanelRole.INVESTOR.value,
        pitches=live.session_pitches(session, current_user),
        round=rnd,
        scoring=rnd is not None and rnd.status == RoundStatus.SCORING.value,
        errors=errors or {},
        typed=typed or {},
        interest_form=InterestForm(formdata=None),
        conflict_form=ConflictForm(formdata=None),
        sheet_values=judging.sheet_values,
    )


@bp.get("/roadshow/panel")
@require("roadshow.panel")
def my_panels() -> str:
    """The road-show sessions the user sits on (judge or investor), with a link to each live page."""
    return render_template("roadshow/live/my_panels.html", seats=live.sessions_of_member(current_user), role_labels=PANEL_ROLE_LABELS)


@bp.get("/roadshow/sessions/<int:session_id>/live")
@require("roadshow.panel")
def live_session(session_id: int) -> Any:
    """The session's pitches in slot order, the current and next highlighted; score or mark interest."""
    session, member = _member_session_or_404(session_id)
    _sync_quietly(session.event, None)
    if live.open_scoring_if_due(session.event):
        db.session.commit()
    return _private(make_response(_live_page(session, member)))


@bp.post("/roadshow/sessions/<int:session_id>/live/<int:application_id>/score")
@require("roadshow.panel")
def live_score(session_id: int, application_id: int) -> Any:
    """Save a draft or submit the judge's sheet for one pitch (through the judging engine)."""
    session, member = _member_session_or_404(session_id)
    application = _application_in_session_or_404(session, application_id)
    rnd = live.live_round(session.event)
    if rnd is None:
        abort(404)
    values, comments = _parse_sheet(rnd)
    submit = request.form.get("action") == "submit"
    overall = request.form.get("overall_comment", "")
    try:
        live.save_score(session, application, current_user, values, comments, overall, submit)
        db.session.commit()
    except (live.LiveError, judging.JudgingError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        errors = {application.id: getattr(exc, "errors", {}) or {}}
        typed = {application.id: {"values": values, "overall": overall}}
        return _private(make_response(_live_page(session, member, errors=errors, typed=typed), 400))
    flash(
        _("已提交对“%(project)s”的评分。", project=application.project_name)
        if submit
        else _("已保存“%(project)s”的评分草稿。", project=application.project_name),
        "success",
    )
    return redirect(url_for("roadshow.live_session", session_id=session.id) + f"#pitch-{application.id}")


@bp.post("/roadshow/sessions/<int:session_id>/live/<int:application_id>/conflict")
@require("roadshow.panel")
def live_conflict(session_id: int, application_id: int) -> Any:
    """A judge declares a conflict of interest on a pitch (the engine records it and reassigns if it can)."""
    session, _member = _member_session_or_404(session_id)
    application = _application_in_session_or_404(session, application_id)
    form = ConflictForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = live.declare_conflict(session, application, current_user, form.reason.data or "")
        db.session.commit()
    except (live.LiveError, judging.JudgingError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(result.message, "success" if result.replacement else "warning")
    return redirect(url_for("roadshow.live_session", session_id=session.id) + f"#pitch-{application.id}")


@bp.post("/roadshow/sessions/<int:session_id>/live/<int:application_id>/interest")
@require("roadshow.panel")
def live_interest(session_id: int, application_id: int) -> Any:
    """An investor on the panel: “有兴趣，请联系我” (once per project; a second click changes nothing)."""
    session, member = _member_session_or_404(session_id)
    if member.role != PanelRole.INVESTOR.value:
        abort(403)
    application = _application_in_session_or_404(session, application_id)
    form = InterestForm()
    if not form.validate_on_submit():
        flash(_("留言最多 %(n)d 个字符。", n=live.NOTE_MAX), "error")
        return redirect(url_for("roadshow.live_session", session_id=session.id) + f"#pitch-{application.id}")
    had = live.find_lead(application, user=current_user) is not None
    try:
        live.mark_interest(application, user=current_user, note=form.note.data or "")
        db.session.commit()
    except live.LiveError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("您已登记过对该项目的意向。") if had else _("已登记对接意向，项目方会收到通知并与您联系。"), "info" if had else "success")
    return redirect(url_for("roadshow.live_session", session_id=session.id) + f"#pitch-{application.id}")


# ==== the registrant's project list (private link) =================================================


def _lead_limit() -> str:
    return current_app.config.get("ROADSHOW_LEAD_RATE_LIMIT", live.RATE_LIMIT)


def _registration_or_404(token: str) -> Registration:
    from eventhub.registration.services import find_by_token

    registration = find_by_token(token)
    if registration is None:
        abort(404)
    return registration


@bp.get("/registrations/<token>/projects")
@public
def registrant_projects(token: str) -> Response:
    """The published road-show projects of the registrant's event, each with an interest button."""
    registration = _registration_or_404(token)
    event = registration.event
    placements = live.published_placements(event)
    sessions = {s.id: s for s in live.event_sessions(event)}
    mine = {lead.application_id: lead for lead in live.leads_of_registration(registration)}
    page = render_template(
        "roadshow/live/registrant.html",
        registration=registration,
        event=event,
        token=token,
        placements=placements,
        sessions=sessions,
        mine=mine,
        confirmed=registration.status == RegistrationStatus.CONFIRMED.value,
        form=InterestForm(formdata=None),
    )
    return _private(make_response(page))


@bp.post("/registrations/<token>/projects/<int:application_id>/interest")
@public
@limiter.limit(_lead_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def registrant_interest(token: str, application_id: int) -> Response:
    """A confirmed registrant marks interest in a project (CSRF-checked, rate-limited)."""
    registration = _registration_or_404(token)
    application = db.session.get(ProjectApplication, application_id)
    if application is None or application.event_id != registration.event_id:
        abort(404)
    back = _private(redirect(url_for("roadshow.registrant_projects", token=token) + f"#project-{application_id}"))
    form = InterestForm()
    if not form.validate_on_submit():
        flash(_("留言最多 %(n)d 个字符。", n=live.NOTE_MAX), "error")
        return back
    had = live.find_lead(application, registration=registration) is not None
    try:
        live.mark_interest(application, registration=registration, note=form.note.data or "")
        db.session.commit()
    except live.LiveError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("您已登记过对该项目的意向。") if had else _("已登记对接意向，项目方会收到通知并与您联系。"), "info" if had else "success")
    return back


# ==== the host's pages ===========================================================================


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    if calls.get_call(event) is None:
        abort(404)
    return event


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/events/<int:event_id>/roadshow/rubric", methods=["GET", "POST"])
@require("roadshow.manage")
def live_rubric(event_id: int) -> Any:
    """The event's live rubric (评分标准): criteria, weights, scale — editable until scoring starts."""
    event = _event_or_404(event_id)
    rnd = live.ensure_live_round(event)
    db.session.commit()
    if request.method == "POST":
        rows = []
        for index, (cid, name, weight, guidance) in enumerate(
            zip(
                request.form.getlist("crit_id"),
                request.form.getlist("crit_name"),
                request.form.getlist("crit_weight"),
                request.form.getlist("crit_guidance"),
                strict=False,
            )
        ):
            if str(index) in request.form.getlist("crit_remove") or (not cid and not name.strip()):
                continue
            rows.append(judging.CriterionSpec(name=name, weight=_float(weight) or 0.0, guidance=guidance, id=_int(cid)))
        scale = (_int(request.form.get("scale_min")), _int(request.form.get("scale_max")))
        try:
            judging.update_rubric(
                rnd,
                rows,
                current_user,
                scale=scale if None not in scale else None,  # type: ignore[arg-type]
                disagreement_threshold=_float(request.form.get("disagreement_threshold")),
            )
            db.session.commit()
        except judging.JudgingError as exc:
            db.session.rollback()
            flash(" ".join([str(exc), *[str(v) for v in exc.errors.values()]]), "error")
        else:
            flash(_("评分标准已保存。"), "success")
        return redirect(url_for("roadshow.live_rubric", event_id=event.id))
    return render_template("roadshow/live/rubric.html", event=event, round=rnd, status_label=judging.status_label(rnd), form=PublishForm(formdata=None))


@bp.post("/events/<int:event_id>/roadshow/rubric/start")
@require("roadshow.manage")
def live_start(event_id: int) -> Response:
    """Start scoring now (the rubric freezes); otherwise it starts on the road-show day."""
    event = _event_or_404(event_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        live.start_live_scoring(event, current_user)
        db.session.commit()
    except live.LiveError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(_("现场评分已开始，评分标准已冻结。"), "success")
    return redirect(url_for("roadshow.live_rubric", event_id=event.id))


@bp.get("/events/<int:event_id>/roadshow/results")
@require("roadshow.manage")
def live_results(event_id: int) -> str:
    """Ranking per session (normalised scores), progress and disagreements; awards and publication."""
    event = _event_or_404(event_id)
    report = _sync_quietly(event, current_user)
    rnd = live.live_round(event)
    return render_template(
        "roadshow/live/results.html",
        event=event,
        call=calls.get_call(event),
        round=rnd,
        blocks=live.results_by_session(event),
        progress=judging.progress(rnd) if rnd is not None else (0, 0),
        report=report,
        lead_counts=live.lead_counts(event),
        tie_rule=judging.tie_rule(),
        normalisation_note=judging.normalisation_note(),
        form=PublishForm(formdata=None),
        has_schedule=live.published_version(event) is not None,
    )


@bp.post("/events/<int:event_id>/roadshow/results/awards")
@require("roadshow.manage")
def live_awards(event_id: int) -> Response:
    event = _event_or_404(event_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    awards = {int(key[len("award_") :]): value for key, value in request.form.items() if key.startswith("award_") and key[len("award_") :].isdigit()}
    try:
        changed = live.set_awards(event, awards, current_user)
        db.session.commit()
    except live.LiveError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("已保存 %(n)d 项奖项变更。", n=changed) if changed else _("奖项没有变化。"), "success" if changed else "info")
    return redirect(url_for("roadshow.live_results", event_id=event.id) + "#awards")


@bp.post("/events/<int:event_id>/roadshow/results/publish")
@require("roadshow.manage")
def live_publish(event_id: int) -> Response:
    """Publish (with the confirmation box ticked) or withdraw the public winners page."""
    event = _event_or_404(event_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action")
    try:
        if action == "publish":
            if not form.confirm.data:
                flash(_("请先勾选确认，再公布结果。"), "warning")
                return redirect(url_for("roadshow.live_results", event_id=event.id) + "#publish")
            live.publish_results(event, current_user)
            message = _("路演结果已公布。")
        elif action == "unpublish":
            live.unpublish_results(event, current_user)
            message = _("已撤回公布，获奖名单不再公开显示。")
        else:
            abort(400)
        db.session.commit()
    except live.LiveError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(message, "success")
    return redirect(url_for("roadshow.live_results", event_id=event.id) + "#publish")


@bp.get("/events/<int:event_id>/roadshow/results.xlsx")
@require("roadshow.manage")
def live_results_export(event_id: int) -> Response:
    """The engine's results workbook for the live round (audited)."""
    from eventhub.core import audit

    event = _event_or_404(event_id)
    rnd = live.live_round(event)
    if rnd is None:
        abort(404)
    content = judging.export_results_xlsx(rnd)
    audit.record("roadshow_live.export", rnd, after={"event_id": event.id}, actor=current_user)
    db.session.commit()
    response = Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="roadshow-results-{event.id}.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/events/<int:event_id>/roadshow/leads")
@require("roadshow.manage")
def live_leads(event_id: int) -> str:
    """Every lead of the event (对接意向), newest first, searchable, 50 per page."""
    event = _event_or_404(event_id)
    q = (request.args.get("q") or "").strip()
    pagination = db.paginate(live.event_leads_query(event, q=q), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("roadshow/live/leads.html", event=event, pagination=pagination, q=q, lead_source=live.lead_source)


@bp.get("/events/<int:event_id>/roadshow/leads.xlsx")
@require("roadshow.manage")
def live_leads_export(event_id: int) -> Response:
    """The (filtered) leads as an Excel file; the export is audited."""
    event = _event_or_404(event_id)
    rows = list(db.session.scalars(live.event_leads_query(event, q=request.args.get("q") or "")))
    content = live.export_leads_xlsx(event, rows, current_user)
    db.session.commit()
    response = Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="roadshow-leads-{event.id}.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ==== public winners ===============================================================================


@bp.get("/theme-days/<int:event_id>/roadshow/winners")
@public
def public_winners(event_id: int) -> str:
    """The awarded road-show projects, once the host published them (“尚未公布” before)."""
    event = db.session.get(Event, event_id)
    if event is None or publication(event) is None or calls.get_call(event) is None:
        abort(404)
    return render_template("roadshow/live/winners.html", event=event, winners=live.winners(event), call=calls.get_call(event))
