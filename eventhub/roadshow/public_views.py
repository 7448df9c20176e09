"""Public road-show pages: the call for projects (项目征集), the applicant's private page, the public agenda.

Thin views: every rule (window, fields, deck, duplicates, who may edit) is in
:mod:`eventhub.roadshow.calls`; here the form is parsed, the service called and its Chinese
field errors put back next to the fields with what was typed kept (a file input cannot be
refilled, so the page says the deck must be chosen again). The private page's URL is the
secret, so it is never cached, indexed or referred on.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eventhub.core.permissions import public
from eventhub.core.uploads import max_bytes
from eventhub.core.urls import secret_page as _private
from eventhub.core.wordcount import count_zishu
from eventhub.events.content import Publication, publication
from eventhub.events.models import Event
from eventhub.extensions import csrf, db, limiter
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow import bp, calls
from eventhub.roadshow import project_fields as pf
from eventhub.roadshow.forms import ApplicationForm, WithdrawForm, application_data, posted_from_values
from eventhub.roadshow.models import ProjectApplication, ProjectCall

# ==== the call for projects and the applicant's private page (项目征集) ==========================


def _call_limit() -> str:
    return current_app.config.get("ROADSHOW_CALL_RATE_LIMIT", calls.RATE_LIMIT)


def _call_or_404(event_id: int) -> tuple[Event, ProjectCall, Publication]:
    event = db.session.get(Event, event_id)
    call = calls.get_call(event) if event is not None else None
    pub = publication(event) if event is not None else None
    if call is None or pub is None:
        abort(404)
    return event, call, pub


def _application_or_404(token: str) -> ProjectApplication:
    application = calls.find_by_token(token)
    if application is None:
        abort(404)
    return application


def _form_context(event: Event, call: ProjectCall, pub: Publication, form: ApplicationForm, posted: Any) -> dict[str, Any]:
    return {
        "event": event,
        "call": call,
        "pub": pub,
        "form": form,
        "posted": posted,
        "extra_errors": {},
        "days": calls.event_days(event),
        "limits": pf,
        "count_zishu": count_zishu,
        "max_mb": max_bytes() // (1024 * 1024),
        "state": calls.call_state(call),
    }


def _put_errors(form: ApplicationForm, errors: dict[str, str], context: dict[str, Any]) -> None:
    for name, message in errors.items():
        if name and name in form and name != "website":
            form[name].errors = [*form[name].errors, message]
        elif name:
            context["extra_errors"][name] = message


@bp.route("/theme-days/<int:event_id>/projects", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
@limiter.limit(_call_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def call_page(event_id: int) -> Any:
    """The public call for projects: what is sought, the dates and the application form."""
    event, call, pub = _call_or_404(event_id)
    form = ApplicationForm(call)
    context = _form_context(event, call, pub, form, request.form)
    if context["state"] != "open":
        return render_template("roadshow/call/page.html", **context), 200 if request.method == "GET" else 400
    if request.method == "GET":
        return render_template("roadshow/call/page.html", **context)
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        expired = _("页面已过期，请刷新后重新提交（已填写的内容仍在下方，路演材料需重新选择）。")
        return render_template("roadshow/call/page.html", general_error=expired, **context), 400
    if form.website.data:
        current_app.logger.info("honeypot filled on the project call of event %s", event_id)
        return render_template("roadshow/call/page.html", generic_error=True, **context), 400
    try:
        _row, token = calls.submit_application(call, application_data(form, request.form), request.files, locale=str(get_locale() or "zh_Hans_CN"))
    except calls.CallError as exc:
        _put_errors(form, exc.errors, context)
        if exc.closed:
            context["state"] = calls.call_state(call)
        page = render_template("roadshow/call/page.html", general_error=exc.errors.get(""), duplicate=exc.duplicate, **context)
        return page, 400
    flash(_("项目申报已提交。本页是您的专属链接，请收藏；链接也已发送到您的邮箱。"), "success")
    return _private(redirect(url_for("roadshow.private_page", token=token)))


@bp.get("/projects/<token>")
@public
def private_page(token: str) -> Response:
    """The applicant's own page: status, the host's note, what was submitted, edit and withdraw."""
    application = _application_or_404(token)
    call = application.call
    pub = publication(application.event)
    needs = {n.id: n for n in pub.needs} if pub is not None else {}
    page = render_template(
        "roadshow/call/private.html",
        application=application,
        call=call,
        event=application.event,
        token=token,
        needs=[needs[i] for i in application.need_ids or [] if i in needs],
        unavailable=pf.unavailable_rows(application.unavailable),
        org_type_label=ORG_TYPE_LABELS.get(OrgType(application.org_type)) if application.org_type in {t.value for t in OrgType} else application.org_type,
        editable=calls.can_edit(application),
        withdrawable=calls.can_withdraw(application),
        withdraw_form=WithdrawForm(),
        state=calls.call_state(call),
    )
    return _private(make_response(page))


@bp.route("/projects/<token>/edit", methods=["GET", "POST"])
@public
@csrf.exempt  # checked by the form, as on the call page
@limiter.limit(_call_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def edit_application(token: str) -> Any:
    """The applicant edits the application (until the call closes, or when the host asked for changes)."""
    application = _application_or_404(token)
    call = application.call
    pub = publication(application.event)
    if not calls.can_edit(application) or pub is None:
        flash(_("该申报当前不能修改。"), "warning")
        return _private(redirect(url_for("roadshow.private_page", token=token)))
    if request.method == "GET":
        values = calls.form_values(application)
        form = ApplicationForm(call, data={k: values[k] for k in pf.TEXT_KEYS})
        posted = posted_from_values(values)
    else:
        form = ApplicationForm(call)
        posted = request.form
    context = _form_context(application.event, call, pub, form, posted)
    context.update(application=application, token=token)
    if request.method == "GET":
        return _private(make_response(render_template("roadshow/call/edit.html", **context)))
    if not form.validate_on_submit():
        expired = _("页面已过期，请刷新后重新提交（已填写的内容仍在下方，如需更换路演材料请重新选择）。")
        return _private(make_response(render_template("roadshow/call/edit.html", general_error=expired, **context), 400))
    try:
        changed = calls.update_application(application, application_data(form, request.form), request.files)
    except calls.CallError as exc:
        _put_errors(form, exc.errors, context)
        page = render_template("roadshow/call/edit.html", general_error=exc.errors.get(""), duplicate=exc.duplicate, **context)
        return _private(make_response(page, 400))
    flash(_("修改已保存。") if changed else _("没有需要保存的修改。"), "success" if changed else "info")
    return _private(redirect(url_for("roadshow.private_page", token=token)))


@bp.post("/projects/<token>/withdraw")
@public
def withdraw_application(token: str) -> Response:
    """Withdraw the application (the page asks for confirmation first)."""
    application = _application_or_404(token)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        flash(_("请先勾选确认，再撤回申报。"), "warning")
        return _private(redirect(url_for("roadshow.private_page", token=token)))
    try:
        calls.withdraw(application)
    except calls.CallError as exc:
        flash(str(exc), "warning")
    else:
        flash(_("申报已撤回。"), "info")
    return _private(redirect(url_for("roadshow.private_page", token=token)))


# ==== the public agenda (added by the scheduling helper) ==========================================


@bp.get("/theme-days/<int:event_id>/roadshow")
@public
def public_agenda(event_id: int) -> str:
    """路演日程: the PUBLISHED schedule per day and room — project names and organisations, no contacts.

    Only events with an approved plan have public pages (404 otherwise); before the first
    publication the page says the schedule is not out yet. A draft never shows here.
    """
    from eventhub.roadshow import schedule as roadshow_schedule

    event = db.session.get(Event, event_id)
    pub = publication(event) if event is not None else None
    if pub is None:
        abort(404)
    version, days = roadshow_schedule.public_agenda(event)
    return render_template("roadshow/agenda.html", event=event, version=version, days=days)
