"""Public theme-day pages, their QR codes and .ics files, and answers to technology needs (揭榜).

All of it is public (no log-in) and reads only the approved publication
(:mod:`eventhub.events.public`, :mod:`eventhub.events.responses`), so drafts never leak. A
withdrawn event keeps its page, saying clearly that it was withdrawn (the calendar lists it
struck through and links here). The answer's private page is found by its token only.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, StringField, TelField, TextAreaField

from eventhub.core.permissions import can_view_event_private, public
from eventhub.core.uploads import KINDS, max_bytes, send_stored
from eventhub.core.urls import secret_page as _private
from eventhub.core.wordcount import count_zishu
from eventhub.events import bp
from eventhub.events import public as pages
from eventhub.events import responses as answers
from eventhub.events.content import publication
from eventhub.events.models import Event
from eventhub.extensions import csrf, db, limiter
from eventhub.plans.services import content_type_labels


class NeedResponseForm(FlaskForm):
    """The 揭榜 form. Checks live in :func:`eventhub.events.responses.clean_input` (one place)."""

    org_name = StringField(_l("单位名称"), render_kw={"maxlength": answers.ORG_NAME_MAX, "autocomplete": "organization"})
    uscc = StringField(
        _l("统一社会信用代码"),
        render_kw={"maxlength": 22, "autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
        description=_l("18 位，见营业执照；最后一位是校验位。"),
    )
    contact_name = StringField(_l("联系人姓名"), render_kw={"maxlength": answers.CONTACT_NAME_MAX, "autocomplete": "name"})
    contact_mobile = TelField(_l("手机号码"), render_kw={"maxlength": 20, "inputmode": "tel", "autocomplete": "tel"})
    contact_email = EmailField(_l("电子邮箱"), render_kw={"maxlength": 254, "autocomplete": "email"}, description=_l("专属进度链接和处理结果将发送到此邮箱。"))
    proposal = TextAreaField(_l("方案概述"), render_kw={"rows": 10})
    attachment = FileField(_l("附件（可选）"))
    consent = BooleanField(_l("我确认所填信息真实，并同意承办基地和组织方为揭榜对接查看和联系。"))
    website = StringField(_l("网址（请勿填写）"))  # honeypot: hidden from people, filled by bots


def _required(form: NeedResponseForm) -> None:
    for name in ("org_name", "uscc", "contact_name", "contact_mobile", "contact_email", "proposal", "consent"):
        form[name].flags.required = True


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return event


def _respond_limit() -> str:
    return current_app.config.get("NEED_RESPONSE_RATE_LIMIT", answers.RATE_LIMIT)


# ---- the public page, QR, .ics --------------------------------------------------------------


@bp.get("/theme-days/<int:event_id>")
@public
def public_page(event_id: int) -> Any:
    """The public page of a theme day (phone first; approved content only)."""
    data = pages.page_data(_event_or_404(event_id))
    return render_template(
        "events/public/page.html",
        data=data,
        event=data.event,
        pub=data.publication,
        og_description=pages.og_description(data),
        content_types=content_type_labels(),
        can_see_answers=current_user.is_authenticated and can_view_event_private(current_user, data.event),
        project_call_state=_project_call_state(data.event),
    )


def _project_call_state(event: Event) -> str:
    """The road-show call's state for the page's button (``"none"`` when the event has no call)."""
    from eventhub.roadshow import calls  # the road-show package builds on events, not the other way round

    return calls.call_state(calls.get_call(event))


def _qr_response(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/theme-days/<int:event_id>/qr.png")
@public
def public_qr_png(event_id: int) -> Response:
    """The page's own absolute URL as a QR code (PNG, to share in WeChat or print)."""
    return _qr_response(pages.qr_png(pages.page_url(_event_or_404(event_id))), "image/png")


@bp.get("/theme-days/<int:event_id>/qr.svg")
@public
def public_qr_svg(event_id: int) -> Response:
    """The same QR code as SVG (sharp at poster size)."""
    return _qr_response(pages.qr_svg(pages.page_url(_event_or_404(event_id))), "image/svg+xml")


def _ics_response(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/theme-days/<int:event_id>.ics")
@public
def event_ics(event_id: int) -> Response:
    """The theme day and every session of its approved agenda (cancelled ones as CANCELLED)."""
    event = _event_or_404(event_id)
    return _ics_response(pages.event_ics(event), f"theme-day-{event.id}.ics")


@bp.get("/theme-days/<int:event_id>/sessions/<int:session_id>.ics")
@public
def session_ics(event_id: int, session_id: int) -> Response:
    """One session of the approved agenda (404 for anything not in the publication)."""
    event = _event_or_404(event_id)
    pub = publication(event)
    session = pub.session(session_id) if pub is not None else None
    if session is None:
        abort(404)
    return _ics_response(pages.session_ics(event, session, pub), f"theme-day-{event.id}-session-{session.id}.ics")


# ---- answering a need (揭榜) ------------------------------------------------------------------


@bp.route("/theme-days/<int:event_id>/needs/<int:need_id>/respond", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
@limiter.limit(_respond_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试（每个网络地址每分钟最多 5 次）。"))
def respond_need(event_id: int, need_id: int) -> Any:
    """The public form to answer a published, open technology need."""
    event = _event_or_404(event_id)
    pub = publication(event)
    need = pub.need(need_id) if pub is not None else None
    if need is None:
        abort(404)
    form = NeedResponseForm()
    _required(form)
    context = {
        "event": event,
        "need": need,
        "deadline": pages.response_deadline(event, need),
        "limits": answers,
        "count_zishu": count_zishu,
        "max_mb": max_bytes() // (1024 * 1024),
        "kinds": "、".join(KINDS[k].label for k in answers.ATTACHMENT_KINDS),
    }
    closed = not pages.need_is_open(event, need)
    if closed:
        return render_template("events/responses/form.html", form=form, closed=True, **context), 200 if request.method == "GET" else 400
    if request.method == "GET":
        return render_template("events/responses/form.html", form=form, closed=False, **context)
    if not form.validate_on_submit():  # only the CSRF token is validated here
        expired = _("页面已过期，请刷新后重新提交（已填写的内容仍在下方）。")
        return render_template("events/responses/form.html", form=form, closed=False, general_error=expired, **context), 400
    if form.website.data:
        current_app.logger.info("honeypot filled on need %s answer form", need_id)
        return render_template("events/responses/form.html", form=form, closed=False, generic_error=True, **context), 400
    data = answers.ResponseInput(
        org_name=form.org_name.data or "",
        uscc=form.uscc.data or "",
        contact_name=form.contact_name.data or "",
        contact_mobile=form.contact_mobile.data or "",
        contact_email=form.contact_email.data or "",
        proposal=form.proposal.data or "",
        consent=bool(form.consent.data),
    )
    try:
        _row, token = answers.submit_response(event, need_id, data, request.files.get("attachment"), locale=str(get_locale() or "zh_Hans_CN"))
    except LookupError:
        abort(404)
    except answers.ResponseError as exc:
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
        general = exc.errors.get("")
        closed = exc.closed
        page = render_template("events/responses/form.html", form=form, closed=closed, general_error=general, duplicate=exc.duplicate, **context)
        return page, 400
    flash(_("揭榜响应已提交。本页是您的专属进度链接，请收藏；链接也已发送到您的邮箱。"), "success")
    return _private(redirect(url_for("events.response_status", token=token)))


@bp.get("/responses/<token>")
@public
def response_status(token: str) -> Response:
    """The respondent's private page: the need, their answer, its status and the host's note."""
    response = answers.find_by_token(token)
    if response is None:
        abort(404)
    page = render_template(
        "events/responses/status.html",
        response=response,
        need=answers.published_need(response),
        event=response.event,
        token=token,
        own_url=answers.status_url(token),
        count_zishu=count_zishu,
    )
    return _private(make_response(page))


@bp.get("/responses/<token>/attachment")
@public
def response_attachment(token: str) -> Response:
    """The respondent's own attachment, served through their private link."""
    response = answers.find_by_token(token)
    if response is None or response.attachment is None:
        abort(404)
    return _private(send_stored(response.attachment))
