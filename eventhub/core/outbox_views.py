"""The organisers' view of the mail outbox (发件箱): search, status, details, resend, send now.

Thin: parse the request, call :mod:`eventhub.core.mail`, commit, redirect. Every POST carries a
CSRF token; a resend also needs the confirmation box ticked (it puts a message in front of a
person again).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from eventhub.core import audit, mail
from eventhub.core.mail import MAIL_STATUS_LABELS, MailAttachment, MailMessage, MailStatus
from eventhub.core.permissions import require
from eventhub.core.urls import mask_private_links
from eventhub.extensions import db

bp = Blueprint("outbox", __name__, url_prefix="/outbox")


class OutboxFilterForm(Form):
    """The GET search above the list (no CSRF: it changes nothing)."""

    q = StringField(_l("收件人、主题或标识"), validators=[Optional(), Length(max=200)], render_kw={"placeholder": _l("搜索收件人、主题或标识")})
    status = SelectField(_l("状态"), validate_choice=False)


class ResendForm(FlaskForm):
    confirm = BooleanField(_l("确认重新发送"))


class DeliverNowForm(FlaskForm):
    """Only the CSRF token: running the worker needs no input."""


def _status_choices(counts: dict[str, int]) -> list[SelectChoice]:
    total = sum(counts.values())
    return [SelectChoice("", _("全部状态（%(n)d）", n=total))] + [
        SelectChoice(status.value, f"{_(MAIL_STATUS_LABELS[status])}（{counts.get(status.value, 0)}）") for status in MailStatus
    ]


def _message_or_404(message_id: int) -> MailMessage:
    message = db.session.get(MailMessage, message_id)
    if message is None:
        abort(404)
    return message


@bp.get("/")
@require("outbox.manage")
def index() -> str:
    """Every message, newest first: search, filter by status (with counts), paged."""
    form = OutboxFilterForm(request.args)
    q = (form.q.data or "").strip()[:200]
    status = form.status.data if form.status.data in {s.value for s in MailStatus} else ""
    counts = mail.status_counts(q)
    form.status.choices = _status_choices(counts)
    page = mail.search_outbox(q=q, status=status, page=request.args.get("page", 1, type=int), per_page=int(current_app.config.get("PAGE_SIZE", 20)))
    return render_template(
        "outbox/index.html",
        page=page,
        form=form,
        q=q,
        status=status,
        counts=counts,
        labels=MAIL_STATUS_LABELS,
        statuses=list(MailStatus),
        filtered=bool(q or status),
        deliver_form=DeliverNowForm(),
        mail_configured=mail.mail_configured(),
    )


@bp.get("/<int:message_id>")
@require("outbox.manage")
def detail(message_id: int) -> str:
    """One message: headers, text and HTML bodies, attachments, delivery attempts and history.

    The secret part of private links in the bodies is hidden (:func:`mask_private_links`): an
    organiser helping someone resends the mail rather than reading their link off this page."""
    message = _message_or_404(message_id)
    resends = []
    if message.status == MailStatus.SENT.value:
        resends = list(
            db.session.scalars(db.select(MailMessage).where(MailMessage.key.startswith(f"{message.key}:resend:", autoescape=True)).order_by(MailMessage.id))
        )
    return render_template(
        "outbox/detail.html",
        message=message,
        body=mask_private_links(message.body),
        html_body=mask_private_links(message.html_body),
        message_id_header=mail.message_id(message),
        key_header=mail.KEY_HEADER,
        sender=current_app.config.get("MAIL_DEFAULT_SENDER"),
        labels=MAIL_STATUS_LABELS,
        resend_form=ResendForm(),
        resends=resends,
        history=audit.history_of(message),
        mail_configured=mail.mail_configured(),
    )


@bp.get("/<int:message_id>/attachments/<int:attachment_id>")
@require("outbox.manage")
def attachment(message_id: int, attachment_id: int) -> Response:
    """Download an attachment exactly as it is (or will be) mailed."""
    item = db.session.get(MailAttachment, attachment_id)
    if item is None or item.message_id != message_id:
        abort(404)
    return send_file(
        io.BytesIO(item.data), mimetype=item.content_type.split(";")[0].strip() or "application/octet-stream", as_attachment=True, download_name=item.filename
    )


@bp.post("/<int:message_id>/resend")
@require("outbox.manage")
def resend(message_id: int) -> Response:
    """Failed / logged / pending → pending again (attempts reset); sent → a new copy is queued."""
    message = _message_or_404(message_id)
    form = ResendForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        flash(_("请勾选“确认重新发送”后再提交。"), "warning")
        return redirect(url_for(".detail", message_id=message.id))
    was_sent = message.status == MailStatus.SENT.value
    try:
        queued = mail.resend(message, current_user._get_current_object())
    except mail.MailError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".detail", message_id=message.id))
    db.session.commit()
    if was_sent:
        flash(_("已生成一份新的副本并加入发件箱，将发送到 %(email)s。", email=queued.recipient), "success")
    else:
        flash(_("邮件已重新加入发送队列，将发送到 %(email)s。", email=queued.recipient), "success")
    if not mail.mail_configured():
        flash(_("注意：未配置邮件服务器，邮件只会记录在日志中，不会真正发出。"), "warning")
    return redirect(url_for(".detail", message_id=queued.id))


@bp.post("/deliver-now")
@require("outbox.manage")
def deliver_now() -> Response:
    """Run the delivery worker in this request (it also runs on the scheduler) and say what happened."""
    form = DeliverNowForm()
    if not form.validate_on_submit():
        abort(400)
    report = mail.run_delivery()
    audit.record("mail.deliver_now", object_type="MailOutbox", after={"summary": report.summary()}, actor=current_user._get_current_object())
    db.session.commit()
    if report.total == 0:
        flash(_("没有到期待发送的邮件。"), "info")
    else:
        flash(
            _(
                "投递完成：发送成功 %(sent)d 封，稍后重试 %(retry)d 封，失败 %(failed)d 封，仅记录 %(logged)d 封。",
                sent=report.sent,
                retry=report.retry,
                failed=report.failed,
                logged=report.logged,
            ),
            "success" if not (report.retry or report.failed) else "warning",
        )
    return redirect(_back())


def _back() -> Any:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for(".index")
