"""Public registration pages: the form (报名), the registrant's private page and what hangs off it.

The private page (by its secret link) shows the status and the ticket QR, and leads to the
``.ics`` of the day and the chosen sessions, the edit page (answers that may change) and the
printable A6 ticket.

Thin views: every rule (window, places, waiting list, duplicates, field checks) is in
:mod:`eventhub.registration.services`; here the form is parsed, the service called and its
Chinese field errors put back next to the fields with what was typed kept. The private page's
URL is the secret, so it and its ticket images are never cached, indexed or referred on.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from eventhub.core.permissions import public
from eventhub.core.timeutil import utcnow
from eventhub.core.urls import secret_page as _private
from eventhub.events.content import Publication, publication
from eventhub.events.models import ApprovalMode, Event
from eventhub.extensions import csrf, db, limiter
from eventhub.registration import bp, services, tickets
from eventhub.registration import questions as q
from eventhub.registration.forms import CancelForm, EditForm, RegistrationForm, current_values, edit_data, service_data
from eventhub.registration.models import Registration, RegistrationStatus

RATE_LIMIT = "5 per minute"


def _register_limit() -> str:
    return current_app.config.get("REGISTRATION_RATE_LIMIT", RATE_LIMIT)


def _registration_or_404(token: str) -> Registration:
    registration = services.find_by_token(token)
    if registration is None:
        abort(404)
    return registration


def _closed_reason(pub: Publication | None) -> str | None:
    """Why the form is not shown (no approved plan, not yet open, closed), or None."""
    if pub is None:
        return _("该活动尚未发布，暂不接受报名。")
    try:
        services.check_window(pub, utcnow())
    except services.RegistrationError as exc:
        return str(exc)
    return None


@bp.route("/theme-days/<int:event_id>/register", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
@limiter.limit(_register_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def register_form(event_id: int) -> Any:
    """The public registration form of a published theme day."""
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    pub = publication(event)
    form = RegistrationForm()
    questions = q.active_questions(event)
    context: dict[str, Any] = {"event": event, "pub": pub, "form": form, "questions": questions, "field_name": q.field_name, "extra_errors": {}}
    closed = _closed_reason(pub)
    if closed is not None:
        return render_template("registration/form.html", closed=closed, **context), 200 if request.method == "GET" else 400
    context["posted"] = request.form
    if request.method == "GET":
        return render_template("registration/form.html", closed=None, **context)
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        expired = _("页面已过期，请刷新后重新提交（已填写的内容仍在下方）。")
        return render_template("registration/form.html", closed=None, general_error=expired, **context), 400
    if form.website.data:
        current_app.logger.info("honeypot filled on the registration form of event %s", event_id)
        return render_template("registration/form.html", closed=None, generic_error=True, **context), 400
    try:
        _row, token = services.register(event, service_data(form, request.form, questions), locale=str(get_locale() or "zh_Hans_CN"))
    except services.RegistrationError as exc:
        for name, message in exc.errors.items():
            if name and name in form and name != "website":
                form[name].errors = [*form[name].errors, message]
            elif name:
                context["extra_errors"][name] = message
        page = render_template(
            "registration/form.html", closed=str(exc) if exc.closed else None, general_error=exc.errors.get(""), duplicate=exc.duplicate, **context
        )
        return page, 400
    flash(_("报名已提交。本页是您的专属报名链接，请收藏；链接也已发送到您的邮箱。"), "success")
    return _private(redirect(url_for("registration.private_page", token=token)))


def _session_titles(registration: Registration) -> list[str]:
    pub = publication(registration.event)
    titles = []
    for sid in registration.session_ids or []:
        session = pub.session(sid) if pub is not None else None
        titles.append(session.title if session is not None else _("场次 %(id)s（已取消）", id=sid))
    return titles


@bp.get("/registrations/<token>")
@public
def private_page(token: str) -> Response:
    """The registrant's own page: status, event, sessions, the ticket QR and the cancel button."""
    registration = _registration_or_404(token)
    ticket = registration.ticket if registration.status == RegistrationStatus.CONFIRMED.value else None
    if ticket is not None and ticket.revoked_at is not None:
        ticket = None
    active = registration.status in services.ACTIVE_STATUSES
    page = render_template(
        "registration/private.html",
        registration=registration,
        event=registration.event,
        sessions=_session_titles(registration),
        ticket=ticket,
        token=token,
        cancel_form=CancelForm(),
        active=active,
        editable=active and publication(registration.event) is not None,
    )
    return _private(make_response(page))


@bp.get("/registrations/<token>/calendar.ics")
@public
def registration_ics(token: str) -> Response:
    """The theme day and the sessions this person chose (same UIDs as the public .ics files)."""
    registration = _registration_or_404(token)
    if registration.status not in services.ACTIVE_STATUSES:
        abort(404)
    response = Response(services.registration_ics(registration), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="theme-day-{registration.event_id}-registration.ics"'
    return _private(response)


@bp.route("/registrations/<token>/edit", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
def edit_answers(token: str) -> Any:
    """The registrant changes the answers that may change (organisation, position, interests, questions).

    In moderated mode an edit of a confirmed registration goes back to the host
    (``services.update_answers`` sets ``needs_reapproval``); the ticket stays valid meanwhile.
    """
    registration = _registration_or_404(token)
    event = registration.event
    pub = publication(event)
    if registration.status not in services.ACTIVE_STATUSES or pub is None:
        flash(_("该报名当前不能修改。"), "warning")
        return _private(redirect(url_for("registration.private_page", token=token)))
    questions = q.active_questions(event)
    if request.method == "GET":
        form = EditForm(obj=registration)
        form.uscc.data = registration.uscc or ""
        posted = current_values(registration, questions)
    else:
        form = EditForm()
        posted = request.form
    context: dict[str, Any] = {
        "registration": registration,
        "event": event,
        "pub": pub,
        "form": form,
        "questions": questions,
        "field_name": q.field_name,
        "posted": posted,
        "extra_errors": {},
        "token": token,
        "moderated": pub.approval_mode == ApprovalMode.MODERATED.value and registration.status == RegistrationStatus.CONFIRMED.value,
    }
    if request.method == "GET":
        return _private(make_response(render_template("registration/edit.html", **context)))
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        expired = _("页面已过期，请刷新后重新提交（已填写的内容仍在下方）。")
        return _private(make_response(render_template("registration/edit.html", general_error=expired, **context), 400))
    was_flagged = registration.needs_reapproval
    try:
        updated = services.update_answers(registration, edit_data(form, request.form, questions))
    except services.RegistrationError as exc:
        for name, message in exc.errors.items():
            if name and name in form:
                form[name].errors = [*form[name].errors, message]
            elif name:
                context["extra_errors"][name] = message
        page = render_template("registration/edit.html", general_error=exc.errors.get(""), **context)
        return _private(make_response(page, 400))
    if updated.needs_reapproval and not was_flagged:
        flash(_("修改已保存，需承办方重新审核；审核期间您的电子票仍然有效。"), "info")
    else:
        flash(_("修改已保存。"), "success")
    return _private(redirect(url_for("registration.private_page", token=token)))


@bp.get("/registrations/<token>/ticket")
@public
def ticket_page(token: str) -> Response:
    """The printable A6 ticket (105 × 148 mm): QR as SVG, event, date, venue, name, sessions, code."""
    registration = _registration_or_404(token)
    payload = _payload_or_404(token)
    event = registration.event
    pub = publication(event)
    chosen = set(registration.session_ids or [])
    sessions = [s for s in pub.sessions if s.id in chosen] if pub is not None else []
    page = render_template(
        "registration/ticket.html",
        registration=registration,
        event=event,
        pub=pub,
        sessions=sessions,
        ticket=registration.ticket,
        qr_svg=Markup(_inline_svg(tickets.qr_svg(payload))),  # noqa: S704 - SVG built by qrcode from our own signed payload (QR-alphanumeric text only)
        token=token,
    )
    return _private(make_response(page))


def _inline_svg(svg: bytes) -> str:
    """The QR SVG for inlining in HTML: without the XML declaration, scaled by CSS (viewBox kept)."""
    text = svg.decode("utf-8")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :].lstrip()
    return text


def _payload_or_404(token: str) -> str:
    registration = _registration_or_404(token)
    ticket = registration.ticket
    if registration.status != RegistrationStatus.CONFIRMED.value or ticket is None or ticket.revoked_at is not None:
        abort(404)
    try:
        return tickets.ticket_payload(ticket)
    except tickets.TicketError:
        abort(404)


@bp.get("/registrations/<token>/ticket.png")
@public
def ticket_qr_png(token: str) -> Response:
    """The ticket's signed QR code as PNG (shown inline on the private page)."""
    return _private(Response(tickets.qr_png(_payload_or_404(token)), mimetype="image/png"))


@bp.get("/registrations/<token>/ticket.svg")
@public
def ticket_qr_svg(token: str) -> Response:
    """The ticket's signed QR code as SVG (for printing)."""
    return _private(Response(tickets.qr_svg(_payload_or_404(token)), mimetype="image/svg+xml"))


@bp.post("/registrations/<token>/cancel")
@public
def cancel_registration(token: str) -> Response:
    """The registrant cancels from the private page (the confirmation box must be ticked)."""
    registration = _registration_or_404(token)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("页面已过期，请刷新后重试。"), "danger")
    elif not form.confirm.data:
        flash(_("请先勾选确认框，再取消报名。"), "danger")
    else:
        try:
            services.cancel(registration)
        except services.RegistrationError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("报名已取消。"), "success")
    return _private(redirect(url_for("registration.private_page", token=token)))
