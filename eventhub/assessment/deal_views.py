"""The host's deal pages (合作项目): record, evidence, start from an answer or a lead; organiser review of disputes.

Thin: parse, call :mod:`eventhub.assessment.deals` (rules, mails, audit rows, one transaction per
call), render. Every URL names an event: writing needs ``assessment.record`` and ``can_manage_event``
(the event's host, organisers); reading (list, detail, export, evidence) needs ``events.private``
and ``can_view_event_private``, so the third-party assessor reads every deal but changes none.
Another host's event or deal answers 404, as if it did not exist.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eventhub.assessment import bp, deals
from eventhub.assessment.deal_forms import ActionForm, DealForm, deal_values, form_data
from eventhub.assessment.models import Deal, DealStatus
from eventhub.core import audit
from eventhub.core.permissions import can_manage_event, can_view_event_private, require
from eventhub.core.uploads import send_stored
from eventhub.core.wordcount import count_zishu
from eventhub.events.models import Event
from eventhub.extensions import db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_BADGES = {
    DealStatus.UNCONFIRMED.value: "text-bg-warning",
    DealStatus.CONFIRMED.value: "text-bg-success",
    DealStatus.DISPUTED.value: "text-bg-danger",
    DealStatus.WITHDRAWN.value: "text-bg-secondary",
}


# ---- helpers ------------------------------------------------------------------------------------


def _actor() -> Any:
    return current_user._get_current_object()


def _readable_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_view_event_private(current_user, event):
        abort(404)
    return event


def _managed_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    return event


def _deal_or_404(event: Event, deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None or deal.event_id != event.id:
        abort(404)
    return deal


def _labels() -> dict[str, Any]:
    return {
        **deals.labels(),
        "status_badges": STATUS_BADGES,
        "action_labels": deals.ACTION_LABELS,
    }


def _put_errors(form: DealForm, errors: dict[str, str]) -> str | None:
    """Field messages next to their fields; what has no field is returned for the top of the form."""
    general = []
    for name, message in errors.items():
        if name and name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            general.append(message)
    return "；".join(general) or None


def _form_page(event: Event, form: DealForm, *, deal: Deal | None = None, general_error: str | None = None, status: int = 200) -> Any:
    source = None
    if form.source_type.data and form.source_id.data and str(form.source_id.data).isdigit():
        source = deals.describe_source(form.source_type.data, int(form.source_id.data))
    page = render_template(
        "assessment/deals/form.html",
        **_labels(),
        event=event,
        form=form,
        deal=deal,
        source=source,
        general_error=general_error,
        count_zishu=count_zishu,
        max_evidence=deals.EVIDENCE_MAX,
        earliest=deals.earliest_date(event),
        today=deals.today_local(),
    )
    return page, status


# ---- list and export ----------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/deals")
@require("events.private")
def deals_list(event_id: int) -> Any:
    """合作项目: counts confirmed vs unconfirmed, status badges, filters, 50 a page."""
    event = _readable_event(event_id)
    filters = deals.filters_from_args(request.args)
    pagination = db.paginate(deals.deal_query(event, filters), page=request.args.get("page", 1, type=int), per_page=deals.PER_PAGE, error_out=False)
    return render_template(
        "assessment/deals/list.html",
        **_labels(),
        event=event,
        filters=filters,
        pagination=pagination,
        counts=deals.status_counts(event),
        figures=deals.deal_figures(event),
        can_edit=can_manage_event(current_user, event),
    )


@bp.get("/events/<int:event_id>/deals.xlsx")
@require("events.private")
def deals_export(event_id: int) -> Response:
    """The filtered deals (all pages) as Excel, with full contacts; the export is audited."""
    event = _readable_event(event_id)
    filters = deals.filters_from_args(request.args)
    rows = list(db.session.scalars(deals.deal_query(event, filters)))
    data = deals.export_xlsx(event, rows, actor=_actor())
    db.session.commit()
    response = send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"合作项目-{event.id}.xlsx", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- one deal -----------------------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/deals/<int:deal_id>")
@require("events.private")
def deal_detail(event_id: int, deal_id: int) -> Any:
    """One deal in full: status and the counterparty's answer, evidence, duplicate warning, history."""
    event = _readable_event(event_id)
    deal = _deal_or_404(event, deal_id)
    duplicate = db.session.get(Deal, deal.duplicate_of_id) if deal.duplicate_of_id else None
    return render_template(
        "assessment/deals/detail.html",
        **_labels(),
        event=event,
        deal=deal,
        duplicate=duplicate,
        source=deals.source_label(deal),
        history=audit.history_of(deal),
        can_edit=can_manage_event(current_user, event),
        action_form=ActionForm(),
    )


@bp.get("/events/<int:event_id>/deals/<int:deal_id>/evidence/<int:evidence_id>")
@require("events.private")
def deal_evidence_file(event_id: int, deal_id: int, evidence_id: int) -> Response:
    """An evidence file: the event's host users, organisers and assessors only."""
    event = _readable_event(event_id)
    deal = _deal_or_404(event, deal_id)
    stored = deals.evidence_of(deal, evidence_id)
    if stored is None:
        abort(404)
    return send_stored(stored, inline=stored.kind != "pdf" or request.args.get("inline") == "1")


# ---- record, edit, withdraw, re-ask --------------------------------------------------------------


@bp.route("/events/<int:event_id>/deals/new", methods=["GET", "POST"])
@require("assessment.record")
def deal_new(event_id: int) -> Any:
    """登记合作项目, optionally started from an answer (``?response=``) or a lead (``?lead=``)."""
    event = _managed_event(event_id)
    form = DealForm()
    if request.method == "GET":
        prefill: dict[str, Any] | None = {"lead_party": event.host_base.name if event.host_base else ""}
        if request.args.get("response", type=int):
            prefill = deals.prefill_from_response(event, request.args.get("response", type=int))
        elif request.args.get("lead", type=int):
            prefill = deals.prefill_from_lead(event, request.args.get("lead", type=int))
        if prefill is None:
            abort(404)
        form.fill(prefill)
        return _form_page(event, form)
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        return _form_page(event, form, general_error=_("页面已过期，请刷新后重新提交（已填写的内容仍在下方，附件需重新选择）。"), status=400)
    try:
        deal, _token = deals.record_deal(event, form_data(form), request.files.getlist("evidence"), actor=_actor())
    except deals.DealError as exc:
        db.session.rollback()
        return _form_page(event, form, general_error=_put_errors(form, exc.errors), status=400)
    if deal.duplicate_of_id:
        flash(_("合作项目已登记，确认邮件已发送给合作方。注意：它与第 %(id)s 号合作项目疑似重复。", id=deal.duplicate_of_id), "warning")
    else:
        flash(_("合作项目已登记，确认邮件已发送给合作方。"), "success")
    return redirect(url_for("assessment.deal_detail", event_id=event.id, deal_id=deal.id))


@bp.route("/events/<int:event_id>/deals/<int:deal_id>/edit", methods=["GET", "POST"])
@require("assessment.record")
def deal_edit(event_id: int, deal_id: int) -> Any:
    """修改: an essential change asks the counterparty again (the page says so before saving)."""
    event = _managed_event(event_id)
    deal = _deal_or_404(event, deal_id)
    if not deals.editable(deal):
        flash(_("已撤回的合作项目不能修改。"), "warning")
        return redirect(url_for("assessment.deal_detail", event_id=event.id, deal_id=deal.id))
    form = DealForm()
    if request.method == "GET":
        form.fill(deal_values(deal))
        return _form_page(event, form, deal=deal)
    if not form.validate_on_submit():
        return _form_page(event, form, deal=deal, general_error=_("页面已过期，请刷新后重新提交（已填写的内容仍在下方，附件需重新选择）。"), status=400)
    data = form_data(form)
    data["source_type"], data["source_id"] = deal.source_type, deal.source_id  # the origin does not change
    try:
        deal, token = deals.update_deal(deal, data, request.files.getlist("evidence"), remove_evidence=request.form.getlist("remove_evidence"), actor=_actor())
    except deals.DealError as exc:
        db.session.rollback()
        return _form_page(event, form, deal=deal, general_error=_put_errors(form, exc.errors), status=400)
    if token is not None:
        flash(_("修改已保存。由于修改了合作的关键信息，已重新请合作方确认（原确认链接失效）。"), "warning")
    else:
        flash(_("修改已保存。"), "success")
    return redirect(url_for("assessment.deal_detail", event_id=event.id, deal_id=deal.id))


@bp.route("/events/<int:event_id>/deals/<int:deal_id>/withdraw", methods=["GET", "POST"])
@require("assessment.record")
def deal_withdraw(event_id: int, deal_id: int) -> Any:
    """撤回 (confirmation page, then POST): the deal stays on record but is no longer counted."""
    event = _managed_event(event_id)
    deal = _deal_or_404(event, deal_id)
    form = ActionForm()
    if deal.status == DealStatus.WITHDRAWN.value:
        flash(_("该合作项目已撤回。"), "info")
        return redirect(url_for("assessment.deal_detail", event_id=event.id, deal_id=deal.id))
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("页面已过期，请刷新后重试。"), "danger")
        else:
            deals.withdraw_deal(deal, actor=_actor())
            flash(_("合作项目已撤回，不再计入评估。"), "success")
            return redirect(url_for("assessment.deals_list", event_id=event.id))
    return render_template("assessment/deals/withdraw.html", **_labels(), event=event, deal=deal, form=form)


@bp.post("/events/<int:event_id>/deals/<int:deal_id>/reask")
@require("assessment.record")
def deal_reask(event_id: int, deal_id: int) -> Response:
    """重新发送确认邮件: a new link to the counterparty (unconfirmed or disputed deals)."""
    event = _managed_event(event_id)
    deal = _deal_or_404(event, deal_id)
    if not ActionForm().validate_on_submit():
        flash(_("页面已过期，请刷新后重试。"), "danger")
    else:
        try:
            deals.reask(deal, actor=_actor())
        except deals.DealError as exc:
            flash(str(exc), "warning")
        else:
            flash(_("已重新发送确认邮件至 %(email)s，原确认链接已失效。", email=deal.counterparty_email), "success")
    return redirect(url_for("assessment.deal_detail", event_id=event.id, deal_id=deal.id))


# ---- start from an answer or a lead -------------------------------------------------------------------


@bp.get("/events/<int:event_id>/deals/from-answer")
@require("assessment.record")
def deal_from_answer(event_id: int) -> Any:
    """Pick a technology-need answer of this event to start a deal from (used ones are marked)."""
    event = _managed_event(event_id)
    return render_template(
        "assessment/deals/pick_answer.html", event=event, answers=deals.answers_for_picker(event), used=deals.used_sources(event, "need_response")
    )


@bp.get("/events/<int:event_id>/deals/from-lead")
@require("assessment.record")
def deal_from_lead(event_id: int) -> Any:
    """Pick a road-show lead of this event to start a deal from (used ones are marked)."""
    event = _managed_event(event_id)
    return render_template("assessment/deals/pick_lead.html", event=event, leads=deals.leads_for_picker(event), used=deals.used_sources(event, "lead"))


# ---- disputes across events (organiser, assessor) ------------------------------------------------------


@bp.get("/assessment/deals/disputed")
@require("assessment.review")
def deals_disputed() -> Any:
    """Every disputed deal of every event, the latest answer first, with the counterparty's reason."""
    q = (request.args.get("q") or "").strip()[:100]
    pagination = db.paginate(deals.disputed_query(q), page=request.args.get("page", 1, type=int), per_page=deals.PER_PAGE, error_out=False)
    return render_template("assessment/deals/disputed.html", **_labels(), pagination=pagination, q=q)
