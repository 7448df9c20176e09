"""Scores and reports: weights, the campaign dashboard, per-event reports, assessor comments and finalisation.

Thin: parse, call :mod:`eventhub.assessment.scores`, render. Who sees what:

* organisers and assessors (``assessment.review``): every event's figures, scores, comments;
  assessors comment and finalise; organisers also set weights, publish and reopen (``assessment.manage``);
* a host (``assessment.own_result``): after publication only, its own events' result and
  “rank k of n” — never another event's name, figures or score. Any other event answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from eventhub.assessment import bp, scores
from eventhub.assessment.report_forms import CommentForm, ConfirmForm, FinaliseForm, WeightsForm
from eventhub.campaigns.models import Campaign
from eventhub.core.permissions import can_manage_event, has_permission, require
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return event


def _satisfaction_distribution(rows: list[scores.EventRow]) -> dict[str, Any] | None:
    """Counts of the answers 1–5 to the “overall” question per event (all questionnaire versions the
    event used), from the surveys part's ``question_results``; None when no event has an answer."""
    try:
        from eventhub.assessment.surveys import event_questionnaires, question_results
    except ImportError:
        return None
    series = []
    for r in rows:
        counts = [0] * 5
        for questionnaire in event_questionnaires(r.event):
            for result in question_results(r.event, questionnaire, include_text=False):
                if result.question.key == "overall" and result.question.kind == "scale5":
                    for label, count, _share in result.rows:
                        if label in {"1", "2", "3", "4", "5"}:
                            counts[int(label) - 1] += count
        series.append({"label": r.event.host_base.display_short_name, "data": counts})
    if not any(sum(s["data"]) for s in series):
        return None
    return {"labels": ["1", "2", "3", "4", "5"], "series": series}


def _chart_data(rows: list[scores.EventRow], *, with_satisfaction: bool = True) -> dict[str, Any]:
    """What static/js/assessment_charts.js draws (read from a JSON script tag; no inline code)."""
    return {
        "labels": [r.event.host_base.display_short_name for r in rows],
        "deals": {
            "confirmed": [r.figures.deals_confirmed for r in rows],
            "unconfirmed": [r.figures.deals_unconfirmed for r in rows],
            "disputed": [r.figures.deals_disputed for r in rows],
            "names": [_("已确认"), _("待确认"), _("有异议")],
        },
        "response_rate": {
            "values": [None if r.figures.response_rate is None else round(r.figures.response_rate * 100, 1) for r in rows],
            "name": _("回收率（%）"),
        },
        "composite": {"values": [None if r.score.composite is None else round(r.score.composite, 2) for r in rows], "name": _("综合得分")},
        "satisfaction": _satisfaction_distribution(rows) if with_satisfaction else None,
        "satisfaction_name": _("份数"),
    }


def _common() -> dict[str, Any]:
    return {"metrics": scores.METRICS, "metric_keys": scores.METRIC_KEYS, "fmt": scores.format_metric, "single_score": scores.SINGLE_VALUE_SCORE}


# ---- organisers and assessors ------------------------------------------------------------------------


@bp.get("/assessment")
@require("assessment.review")
def review_index() -> str:
    """Every campaign with its assessment state: a way in to the dashboards."""
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc())))
    states = []
    for campaign in campaigns:
        events = scores.assessed_events(campaign)
        finalised = sum(1 for e in events if (a := scores.assessment_of(e)) is not None and a.finalised_at is not None)
        states.append({"campaign": campaign, "events": len(events), "finalised": finalised, "published": scores.is_published(campaign)})
    return render_template("assessment/report/index.html", states=states)


@bp.get("/campaigns/<int:campaign_id>/assessment")
@require("assessment.review")
def dashboard(campaign_id: int) -> str:
    """Events side by side: raw figures, normalised metrics, composite, rank, finalised state, charts."""
    campaign = _campaign_or_404(campaign_id)
    result = scores.campaign_result(campaign)
    chart = _chart_data(result.rows)
    return render_template("assessment/report/dashboard.html", result=result, chart=chart, publish_form=ConfirmForm(), **_common())


@bp.get("/campaigns/<int:campaign_id>/assessment/report")
@require("assessment.review")
def campaign_report(campaign_id: int) -> str:
    """The print-ready campaign report (browser print / PDF; charts drawn without animation)."""
    campaign = _campaign_or_404(campaign_id)
    result = scores.campaign_result(campaign)
    return render_template("assessment/report/campaign_report.html", result=result, chart=_chart_data(result.rows), now=utcnow(), **_common())


@bp.get("/campaigns/<int:campaign_id>/assessment.xlsx")
@require("assessment.review")
def campaign_export(campaign_id: int) -> Response:
    """Every table of the dashboard as one workbook; the export is audited."""
    campaign = _campaign_or_404(campaign_id)
    content = scores.export_xlsx(scores.campaign_result(campaign), current_user)
    db.session.commit()
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="assessment-{campaign.year}.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/campaigns/<int:campaign_id>/assessment/weights", methods=["GET", "POST"])
@require("assessment.manage")
def weights(campaign_id: int) -> Any:
    """The organiser's weights per metric (any numbers ≥ 0; divided by their sum)."""
    campaign = _campaign_or_404(campaign_id)
    current = scores.campaign_weights(campaign)
    form = WeightsForm(data=current) if request.method == "GET" else WeightsForm()
    if form.validate_on_submit():
        values = {m: float(getattr(form, m).data) for m in scores.METRIC_KEYS}
        try:
            scores.set_weights(campaign, values, current_user)
            db.session.commit()
        except scores.AssessmentError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
        else:
            flash(_("权重已保存。"), "success")
            return redirect(url_for("assessment.dashboard", campaign_id=campaign.id))
    elif request.method == "POST":
        flash(_("请检查标红的权重。"), "warning")
    return render_template(
        "assessment/report/weights.html",
        campaign=campaign,
        form=form,
        defaults=scores.DEFAULT_WEIGHTS,
        published=scores.is_published(campaign),
        **_common(),
    )


@bp.post("/campaigns/<int:campaign_id>/assessment/publish")
@require("assessment.manage")
def publish(campaign_id: int) -> Response:
    """Publish the results to the hosts (box ticked, every event finalised) or withdraw the publication."""
    campaign = _campaign_or_404(campaign_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action")
    try:
        if action == "publish":
            if not form.confirm.data:
                flash(_("请先勾选确认，再公布结果。"), "warning")
                return redirect(url_for("assessment.dashboard", campaign_id=campaign.id) + "#publish")
            scores.publish(campaign, current_user)
            message = _("评估结果已公布：各承办基地现在可以看到本方的得分与名次。")
        elif action == "unpublish":
            scores.unpublish(campaign, current_user)
            message = _("已撤回公布，承办基地不再能看到评估结果。")
        else:
            abort(400)
        db.session.commit()
    except scores.AssessmentError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(message, "success")
    return redirect(url_for("assessment.dashboard", campaign_id=campaign.id) + "#publish")


@bp.get("/events/<int:event_id>/assessment")
@require("assessment.review")
def event_review(event_id: int) -> str:
    """One event's figures and score with the assessor's comment and finalisation form."""
    event = _event_or_404(event_id)
    result = scores.campaign_result(event.campaign)
    row = result.row_for(event.id)
    assessment = scores.assessment_of(event)
    comment = assessment.comment if assessment else ""
    return render_template(
        "assessment/report/event.html",
        event=event,
        result=result,
        row=row,
        live=row.live if row else scores.collect(event),
        assessment=assessment,
        comment_form=CommentForm(data={"comment": comment}),
        finalise_form=FinaliseForm(data={"comment": comment}),
        reopen_form=ConfirmForm(),
        ended=event.end_date < scores.today_beijing(),
        **_common(),
    )


@bp.post("/events/<int:event_id>/assessment/comment")
@require("assessment.review")
def event_comment(event_id: int) -> Response:
    event = _event_or_404(event_id)
    form = CommentForm()
    if not form.validate_on_submit():
        flash(_("评估意见最多 %(n)d 字。", n=5000), "warning")
        return redirect(url_for("assessment.event_review", event_id=event.id))
    try:
        scores.save_comment(event, form.comment.data or "", current_user)
        db.session.commit()
    except scores.AssessmentError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(_("评估意见已保存。"), "success")
    return redirect(url_for("assessment.event_review", event_id=event.id))


@bp.post("/events/<int:event_id>/assessment/finalise")
@require("assessment.review")
def event_finalise(event_id: int) -> Response:
    """Freeze the figures (box ticked) with the comment."""
    event = _event_or_404(event_id)
    form = FinaliseForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        flash(_("请先勾选确认，再定稿。"), "warning")
        return redirect(url_for("assessment.event_review", event_id=event.id) + "#finalise")
    try:
        scores.finalise(event, current_user, comment=form.comment.data or "")
        db.session.commit()
    except scores.AssessmentError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(_("评估已定稿，数据已冻结。"), "success")
    return redirect(url_for("assessment.event_review", event_id=event.id))


@bp.post("/events/<int:event_id>/assessment/reopen")
@require("assessment.manage")
def event_reopen(event_id: int) -> Response:
    """Reopen a finalised event (organiser only, box ticked, not while published)."""
    event = _event_or_404(event_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        flash(_("请先勾选确认，再重新打开评估。"), "warning")
        return redirect(url_for("assessment.event_review", event_id=event.id) + "#reopen")
    try:
        scores.unfinalise(event, current_user)
        db.session.commit()
    except scores.AssessmentError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        flash(_("评估已重新打开，数据将随实时数据更新。"), "success")
    return redirect(url_for("assessment.event_review", event_id=event.id))


# ---- per-event report: reviewers always, the event's host after publication ----------------------------


@bp.get("/events/<int:event_id>/assessment/report")
@require("events.private")
def event_report(event_id: int) -> str:
    """Print-ready report of one event: its figures, breakdown, composite and “rank k of n”."""
    event = _event_or_404(event_id)
    reviewer = has_permission(current_user, "assessment.review")
    if not reviewer and not (has_permission(current_user, "assessment.own_result") and can_manage_event(current_user, event)):
        abort(404)
    if not reviewer and not scores.is_published(event.campaign):
        abort(404)
    result = scores.campaign_result(event.campaign)
    row = result.row_for(event.id)
    if row is None:
        abort(404)
    own = [row]
    return render_template(
        "assessment/report/event_report.html",
        event=event,
        row=row,
        ranked=result.ranked,
        weights=result.weights,
        chart=_chart_data(own),
        reviewer=reviewer,
        now=utcnow(),
        **_common(),
    )


# ---- hosts -------------------------------------------------------------------------------------------


@bp.get("/assessment/my-result")
@require("assessment.own_result")
def own_result() -> str:
    """The host's published results: its own figures, breakdown and “rank k of n”, nothing of the others."""
    results = scores.own_results(current_user.base_id)
    return render_template("assessment/report/my_result.html", results=results, **_common())
