"""The host's road-show pages: the call's settings and the screening of applications.

Every page is ``roadshow.manage`` (hosts and organisers) plus ``can_manage_event``; another
host's event answers 404, so its existence is not revealed. The pitch deck is served to the
event's managers and assessors (``events.private`` + ``can_view_event_private``) and, through
the pre-screen pages, to judges assigned to the application in the judging engine.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eventhub.core import audit
from eventhub.core.permissions import can_manage_event, can_view_event_private, has_permission, require
from eventhub.core.timeutil import SHANGHAI, to_shanghai, utcnow
from eventhub.core.uploads import send_stored
from eventhub.core.wordcount import count_zishu
from eventhub.events.content import publication
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow import bp, calls
from eventhub.roadshow import project_fields as pf
from eventhub.roadshow.forms import BulkForm, CallForm, ScreenForm
from eventhub.roadshow.models import APPLICATION_STATUS_LABELS, PROJECT_STAGE_LABELS, ProjectApplication, ProjectCall

PER_PAGE = 30


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    return event


def _call_or_404(event: Event) -> ProjectCall:
    call = calls.get_call(event)
    if call is None:
        abort(404)
    return call


def _application_or_404(call: ProjectCall, application_id: int) -> ProjectApplication:
    application = calls.get_application(call, application_id)
    if application is None:
        abort(404)
    return application


def _local_input(value: datetime | None) -> str:
    return to_shanghai(value).strftime("%Y-%m-%dT%H:%M:%S") if value else ""


def _org_type_label(value: str) -> str:
    return _(ORG_TYPE_LABELS[OrgType(value)]) if value in {t.value for t in OrgType} else value


# ---- the call's settings ------------------------------------------------------------------------


@bp.route("/events/<int:event_id>/roadshow/call", methods=["GET", "POST"])
@require("roadshow.manage")
def call_settings(event_id: int) -> Any:
    """Open or change the event's call for projects: dates, intro, fields, 字数 limits."""
    event = _event_or_404(event_id)
    call = calls.get_call(event)
    pub = publication(event)
    need_fields = calls.need_fields(pub)
    if request.method == "POST":
        form = CallForm()
        chosen = request.form.getlist("fields")
    elif call is not None:
        form = CallForm(
            data={
                "opens_at": _local_input(call.opens_at),
                "closes_at": _local_input(call.closes_at),
                "intro": call.intro,
                "extra_fields": "、".join(f for f in call.fields or [] if f not in need_fields),
                "summary_min": call.summary_min,
                "summary_max": call.summary_max,
            }
        )
        chosen = [f for f in call.fields or [] if f in need_fields]
    else:
        closes = datetime.combine(event.start_date - timedelta(days=7), time(23, 59, 59), tzinfo=SHANGHAI)
        form = CallForm(
            data={
                "opens_at": _local_input(utcnow().replace(second=0, microsecond=0)),
                "closes_at": _local_input(closes),
                "summary_min": 100,
                "summary_max": 800,
            }
        )
        chosen = list(need_fields)
    extra_errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        data = {
            "opens_at": form.opens_at.data,
            "closes_at": form.closes_at.data,
            "intro": form.intro.data,
            "fields": [f for f in chosen if f in need_fields] + calls._clean_fields_list(form.extra_fields.data),
            "summary_min": request.form.get("summary_min", ""),
            "summary_max": request.form.get("summary_max", ""),
        }
        try:
            saved = calls.save_call(event, data, current_user)
        except calls.CallError as exc:
            for name, message in exc.errors.items():
                if name in form and name != "fields":
                    form[name].errors = [*(form[name].errors or []), message]
                else:
                    extra_errors[name or "general"] = message
            status = 400
        else:
            db.session.commit()
            flash(_("项目征集设置已保存。"), "success")
            return redirect(url_for("roadshow.call_settings", event_id=saved.event_id))
    elif request.method == "POST":
        status = 400
    return render_template(
        "roadshow/manage/call.html",
        event=event,
        call=call,
        pub=pub,
        form=form,
        need_fields=need_fields,
        chosen=chosen,
        extra_errors=extra_errors,
        state=calls.call_state(call),
    ), status


# ---- the list of applications -------------------------------------------------------------------


def _filters() -> dict[str, str]:
    return {key: (request.args.get(key) or "").strip() for key in ("q", "status", "field", "stage")}


@bp.get("/events/<int:event_id>/roadshow/applications")
@require("roadshow.manage")
def applications(event_id: int) -> str:
    """The call's applications: search, filters, counts, pre-screen ranking, bulk actions."""
    event = _event_or_404(event_id)
    call = calls.get_call(event)
    if call is None:
        flash(_("尚未开启项目征集，请先完成征集设置。"), "info")
        return redirect(url_for("roadshow.call_settings", event_id=event.id))  # type: ignore[return-value]
    filters = _filters()
    pagination = db.paginate(calls.applications_query(call, **filters), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    rnd = calls.prescreen_round(call)
    return render_template(
        "roadshow/manage/applications.html",
        event=event,
        call=call,
        filters=filters,
        pagination=pagination,
        counts=calls.status_counts(call),
        statuses=APPLICATION_STATUS_LABELS,
        stages=PROJECT_STAGE_LABELS,
        ranking=calls.prescreen_ranking(call),
        prescreen=calls.prescreen_order(call),
        prescreen_round=rnd,
        can_manage_round=has_permission(current_user, "judging.manage"),
        bulk_form=BulkForm(),
        state=calls.call_state(call),
    )


@bp.get("/events/<int:event_id>/roadshow/applications.xlsx")
@require("roadshow.manage")
def export_applications(event_id: int) -> Response:
    """The (filtered) applications as an Excel file; the export is audited."""
    event = _event_or_404(event_id)
    call = _call_or_404(event)
    rows = list(db.session.scalars(calls.applications_query(call, **_filters())))
    content = calls.export_xlsx(call, rows, current_user)
    db.session.commit()
    response = Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="roadshow-applications-{event.id}.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/events/<int:event_id>/roadshow/applications/bulk")
@require("roadshow.manage")
def bulk_action(event_id: int) -> Response:
    """Shortlist the ticked applications, or send them to the experts' pre-screen."""
    event = _event_or_404(event_id)
    call = _call_or_404(event)
    form = BulkForm()
    back = redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/") else url_for("roadshow.applications", event_id=event.id))
    if not form.validate_on_submit():
        abort(400)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    if not ids:
        flash(_("请先勾选申报项目。"), "warning")
        return back
    if form.action.data == "shortlist":
        changed = calls.bulk_shortlist(call, ids, current_user)
        db.session.commit()
        flash(_("已将 %(n)d 个项目标记为入围（已撤回或已入围的项目不变）。", n=changed), "success")
    elif form.action.data == "prescreen":
        chosen = [a for a in (calls.get_application(call, i) for i in ids) if a is not None]
        try:
            rnd = calls.send_to_prescreen(call, chosen, current_user)
        except calls.CallError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
            return back
        db.session.commit()
        flash(_("已将所选项目送专家预审（评审轮次：%(title)s，共 %(n)d 个项目）。", title=rnd.title, n=len([i for i in rnd.items if i.active])), "success")
    else:
        abort(400)
    return back


# ---- one application ---------------------------------------------------------------------------


def _detail_context(event: Event, call: ProjectCall, application: ProjectApplication) -> dict[str, Any]:
    pub = publication(event)
    needs = {n.id: n for n in pub.needs} if pub is not None else {}
    return {
        "event": event,
        "call": call,
        "application": application,
        "needs": [needs[i] for i in application.need_ids or [] if i in needs],
        "unavailable": pf.unavailable_rows(application.unavailable),
        "org_type_label": _org_type_label(application.org_type),
        "zishu": count_zishu(application.summary),
        "ranking": calls.prescreen_ranking(call).get(application.id),
        "history": audit.history_of(application),
        "action_labels": calls.ACTION_LABELS,
    }


@bp.route("/events/<int:event_id>/roadshow/applications/<int:application_id>", methods=["GET", "POST"])
@require("roadshow.manage")
def application_detail(event_id: int, application_id: int) -> Any:
    """One application with the screening actions (shortlist, decline with a reason, ask for changes)."""
    event = _event_or_404(event_id)
    call = _call_or_404(event)
    application = _application_or_404(call, application_id)
    form = ScreenForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            changed = calls.screen(application, form.action.data or "", form.note.data or "", current_user)
        except calls.CallError as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                if name == "note":
                    form.note.errors = [*(form.note.errors or []), message]
                else:
                    flash(message, "warning")
            status = 400
        else:
            db.session.commit()
            if changed:
                flash(_("已更新为“%(status)s”，并已通知申报方。", status=_(application.status_label)), "success")
            else:
                flash(_("状态和说明没有变化，未重复通知。"), "info")
            return redirect(url_for("roadshow.application_detail", event_id=event.id, application_id=application.id))
    elif application.decision_note:
        form.note.data = application.decision_note
    return render_template("roadshow/manage/application.html", form=form, **_detail_context(event, call, application)), status


@bp.get("/events/<int:event_id>/roadshow/applications/<int:application_id>/deck")
@require("events.private")
def application_deck(event_id: int, application_id: int) -> Response:
    """The pitch deck, for the event's host, organisers and assessors."""
    event = db.session.get(Event, event_id)
    if event is None or not can_view_event_private(current_user, event):
        abort(404)
    call = _call_or_404(event)
    application = _application_or_404(call, application_id)
    if application.deck_file is None:
        abort(404)
    return send_stored(application.deck_file)


# ---- the pre-screen judges' view ------------------------------------------------------------


def _assigned_or_404(application_id: int) -> ProjectApplication:
    application = db.session.get(ProjectApplication, application_id)
    if application is None or not calls.can_download_deck(current_user, application):
        abort(404)
    return application


@bp.get("/roadshow/prescreen/<int:application_id>")
@require("judging.score")
def prescreen_application(application_id: int) -> str:
    """What a pre-screen judge assigned to the application reads (no contact details) before scoring."""
    application = _assigned_or_404(application_id)
    pub = publication(application.event)
    needs = {n.id: n for n in pub.needs} if pub is not None else {}
    return render_template(
        "roadshow/manage/prescreen.html",
        application=application,
        event=application.event,
        needs=[needs[i] for i in application.need_ids or [] if i in needs],
        org_type_label=_org_type_label(application.org_type),
        zishu=count_zishu(application.summary),
    )


@bp.get("/roadshow/prescreen/<int:application_id>/deck")
@require("judging.score")
def prescreen_deck(application_id: int) -> Response:
    """The pitch deck for a pre-screen judge assigned to the application."""
    application = _assigned_or_404(application_id)
    if application.deck_file is None:
        abort(404)
    return send_stored(application.deck_file)
