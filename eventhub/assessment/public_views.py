"""Pages reached by signed links, without an account: a counterparty confirms or disputes a deal,
a mechanism member says whether it is still running, a checked-in participant answers the survey.

Each page's URL is its secret (``core.urls.secret_page`` headers), each POST is rate-limited and
checks its CSRF token in the form itself, so an expired page keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from eventhub.assessment import bp, deals, mechanisms, surveys
from eventhub.assessment.deal_forms import AnswerForm as DealAnswerForm
from eventhub.assessment.mechanism_forms import CheckAnswerForm
from eventhub.assessment.models import MECHANISM_KIND_LABELS, MechanismKind
from eventhub.assessment.survey_forms import SurveyAnswerForm
from eventhub.core.permissions import public
from eventhub.core.urls import secret_page
from eventhub.events.models import Event
from eventhub.extensions import csrf, db, limiter

# ==== satisfaction survey (满意度调查)
# The personal link /survey/<token>: one answer per invitation, editable until the survey closes.


SURVEY_RATE_LIMIT = "10 per minute"


def _survey_limit() -> str:
    return current_app.config.get("SURVEY_RATE_LIMIT", SURVEY_RATE_LIMIT)


@bp.route("/survey/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
@limiter.limit(_survey_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def survey_page(token: str) -> Any:
    """The participant's survey: the form, the thank-you state, or "closed"; no link, no answer."""
    invitation = surveys.find_invitation(token)
    if invitation is None:
        abort(404)
    questionnaire = invitation.questionnaire
    questions = list(questionnaire.questions)
    response = surveys.response_of(invitation)
    is_open = surveys.is_open(invitation)
    form = SurveyAnswerForm()
    context: dict[str, Any] = {
        "invitation": invitation,
        "questionnaire": questionnaire,
        "questions": questions,
        "event": db.session.get(Event, invitation.event_id),
        "response": response,
        "is_open": is_open,
        "form": form,
        "token": token,
        "errors": {},
        "field_name": surveys.field_name,
        "closes": surveys.format_local(invitation.closes_at),
        "answer_text": lambda q: surveys.format_answer(q, (response.answers or {}).get(str(q.id)) if response else None),
    }
    if request.method == "GET":
        editing = is_open and (response is None or request.args.get("edit") == "1")
        values = surveys.form_values(questions, response.answers if response else None)
        page = render_template("assessment/survey/answer.html", state="form" if editing else ("thanks" if response else "closed"), values=values, **context)
        return secret_page(make_response(page))
    values = {k: (request.form.getlist(k) if len(request.form.getlist(k)) > 1 else request.form.get(k)) for k in request.form}
    for question in questions:  # multiple choice: always a list, even with one box ticked
        if question.kind == "multiple":
            values[surveys.field_name(question)] = request.form.getlist(surveys.field_name(question))
    if not is_open:
        page = render_template("assessment/survey/answer.html", state="thanks" if response else "closed", values=values, **context)
        return secret_page(make_response(page, 400))
    if not form.validate_on_submit():
        expired = _("页面已过期，请重新提交（已填写的内容仍在下方）。")
        page = render_template("assessment/survey/answer.html", state="form", values=values, general_error=expired, **context)
        return secret_page(make_response(page, 400))
    try:
        _row, created = surveys.submit_response(invitation, request.form)
    except surveys.SurveyError as exc:
        db.session.rollback()
        state = "closed" if exc.closed else "form"
        context["errors"] = exc.errors
        page = render_template("assessment/survey/answer.html", state=state, values=values, general_error=exc.errors.get(""), **context)
        return secret_page(make_response(page, 400))
    db.session.commit()
    return secret_page(redirect(url_for("assessment.survey_page", token=token, saved="new" if created else "edit")))


# ==== deal confirmation (合作项目确认)
# The counterparty's link /deals/confirm/<token>: shows this one deal (no other deals, no host
# internals) with CONFIRM and DISPUTE (reason required). An answer is locked until the host re-asks.


DEAL_CONFIRM_RATE_LIMIT = "10 per minute"


def _deal_confirm_limit() -> str:
    return current_app.config.get("DEAL_CONFIRM_RATE_LIMIT", DEAL_CONFIRM_RATE_LIMIT)


@bp.route("/deals/confirm/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps the typed reason
@limiter.limit(_deal_confirm_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def deal_confirm(token: str) -> Any:
    """The counterparty confirms or disputes the one deal its link names."""
    deal = deals.find_by_token(token)
    if deal is None:
        abort(404)
    form = DealAnswerForm()
    context: dict[str, Any] = {
        **deals.labels(),
        "deal": deal,
        "event": deal.event,
        "form": form,
        "token": token,
        "can_answer": deals.can_answer(deal),
        "saved": request.args.get("saved", ""),
    }
    if request.method == "GET":
        return secret_page(make_response(render_template("assessment/deals/confirm.html", **context)))
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        expired = _("页面已过期，请重新提交（已填写的内容仍在下方）。")
        return secret_page(make_response(render_template("assessment/deals/confirm.html", general_error=expired, **context), 400))
    action = request.form.get("action", "")
    try:
        deals.respond(deal, action, form.note.data or "")
    except deals.DealError as exc:
        db.session.rollback()
        if "note" in exc.errors:
            form.note.errors = [*form.note.errors, exc.errors["note"]]
        page = render_template("assessment/deals/confirm.html", general_error=exc.errors.get(""), **context)
        return secret_page(make_response(page, 400))
    return secret_page(redirect(url_for("assessment.deal_confirm", token=token, saved=action)))


# ==== mechanism follow-up (合作机制回访)
# The member's link /mechanisms/check/<token>: one click "仍在运行" / "已停止" plus an optional note,
# changeable while the wave is open (see eventhub.assessment.mechanisms). Opening it never answers.


MECHANISM_CHECK_RATE_LIMIT = "10 per minute"


def _mech_check_limit() -> str:
    return current_app.config.get("MECHANISM_CHECK_RATE_LIMIT", MECHANISM_CHECK_RATE_LIMIT)


@bp.route("/mechanisms/check/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # the form checks the same token itself, so an expired page keeps the typed note
@limiter.limit(_mech_check_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试。"))
def mechanism_check(token: str) -> Any:
    """A member says whether the mechanism is still running (this member, this wave only)."""
    check = mechanisms.find_check(token)
    if check is None:
        abort(404)
    mechanism = mechanisms.check_mechanism(check)
    form = CheckAnswerForm()
    if request.method == "GET":
        form.note.data = check.note
    context: dict[str, Any] = {
        "check": check,
        "mechanism": mechanism,
        "member": check.member,
        "event": mechanism.event,
        "kind_label": _(MECHANISM_KIND_LABELS[MechanismKind(mechanism.kind)]),
        "form": form,
        "is_open": mechanisms.answer_open(check),
        "closes": mechanisms.wave_closes(mechanism.event, check.wave),
    }
    if request.method == "GET":
        return secret_page(make_response(render_template("assessment/mechanisms/check.html", **context)))
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        error = _("页面已过期，请重新提交（已填写的内容仍在下方）。")
        return secret_page(make_response(render_template("assessment/mechanisms/check.html", error=error, **context), 400))
    if not (form.active.data or form.stopped.data):
        error = _("请点击“仍在运行”或“已停止”。")
        return secret_page(make_response(render_template("assessment/mechanisms/check.html", error=error, **context), 400))
    try:
        mechanisms.answer_check(check, bool(form.active.data), form.note.data or "")
    except mechanisms.MechanismError as exc:
        db.session.rollback()
        if "note" in exc.errors:
            form.note.errors = [*form.note.errors, exc.errors["note"]]
        page = render_template("assessment/mechanisms/check.html", error=exc.errors.get(""), **context)
        return secret_page(make_response(page, 400))
    db.session.commit()
    return secret_page(redirect(url_for("assessment.mechanism_check", token=token)))
