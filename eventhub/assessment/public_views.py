"""Pages reached by signed links: confirm / dispute a deal, say whether a mechanism is active, answer the survey."""


# ==== satisfaction survey (满意度调查) — added by the survey helper =====================================
# The personal link /survey/<token>: one answer per invitation, editable until the survey closes.

from typing import Any as _Any  # noqa: E402

from flask import abort as _abort  # noqa: E402
from flask import current_app as _current_app  # noqa: E402
from flask import make_response as _make_response  # noqa: E402
from flask import redirect as _redirect  # noqa: E402
from flask import render_template as _render_template  # noqa: E402
from flask import request as _request  # noqa: E402
from flask import url_for as _url_for  # noqa: E402
from flask_babel import gettext as _gettext  # noqa: E402

from eventhub.assessment import bp as _bp  # noqa: E402
from eventhub.assessment import surveys as _surveys  # noqa: E402
from eventhub.assessment.survey_forms import SurveyAnswerForm  # noqa: E402
from eventhub.core.permissions import public as _public  # noqa: E402
from eventhub.core.urls import secret_page as _deal_private
from eventhub.core.urls import secret_page as _mech_private
from eventhub.core.urls import secret_page as _survey_private
from eventhub.events.models import Event as _Event  # noqa: E402
from eventhub.extensions import csrf as _csrf  # noqa: E402
from eventhub.extensions import db as _db  # noqa: E402
from eventhub.extensions import limiter as _limiter  # noqa: E402

SURVEY_RATE_LIMIT = "10 per minute"


def _survey_limit() -> str:
    return _current_app.config.get("SURVEY_RATE_LIMIT", SURVEY_RATE_LIMIT)


@_bp.route("/survey/<token>", methods=["GET", "POST"])
@_public
@_csrf.exempt  # the form checks the same token itself, so an expired page keeps what was typed
@_limiter.limit(_survey_limit, methods=["POST"], error_message=lambda: _gettext("提交过于频繁，请稍后再试。"))
def survey_page(token: str) -> _Any:
    """The participant's survey: the form, the thank-you state, or "closed"; no link, no answer."""
    invitation = _surveys.find_invitation(token)
    if invitation is None:
        _abort(404)
    questionnaire = invitation.questionnaire
    questions = list(questionnaire.questions)
    response = _surveys.response_of(invitation)
    is_open = _surveys.is_open(invitation)
    form = SurveyAnswerForm()
    context: dict[str, _Any] = {
        "invitation": invitation,
        "questionnaire": questionnaire,
        "questions": questions,
        "event": _db.session.get(_Event, invitation.event_id),
        "response": response,
        "is_open": is_open,
        "form": form,
        "token": token,
        "errors": {},
        "field_name": _surveys.field_name,
        "closes": _surveys.format_local(invitation.closes_at),
        "answer_text": lambda q: _surveys.format_answer(q, (response.answers or {}).get(str(q.id)) if response else None),
    }
    if _request.method == "GET":
        editing = is_open and (response is None or _request.args.get("edit") == "1")
        values = _surveys.form_values(questions, response.answers if response else None)
        page = _render_template("assessment/survey/answer.html", state="form" if editing else ("thanks" if response else "closed"), values=values, **context)
        return _survey_private(_make_response(page))
    values = {k: (_request.form.getlist(k) if len(_request.form.getlist(k)) > 1 else _request.form.get(k)) for k in _request.form}
    for question in questions:  # multiple choice: always a list, even with one box ticked
        if question.kind == "multiple":
            values[_surveys.field_name(question)] = _request.form.getlist(_surveys.field_name(question))
    if not is_open:
        page = _render_template("assessment/survey/answer.html", state="thanks" if response else "closed", values=values, **context)
        return _survey_private(_make_response(page, 400))
    if not form.validate_on_submit():
        expired = _gettext("页面已过期，请重新提交（已填写的内容仍在下方）。")
        page = _render_template("assessment/survey/answer.html", state="form", values=values, general_error=expired, **context)
        return _survey_private(_make_response(page, 400))
    try:
        _row, created = _surveys.submit_response(invitation, _request.form)
    except _surveys.SurveyError as exc:
        _db.session.rollback()
        state = "closed" if exc.closed else "form"
        context["errors"] = exc.errors
        page = _render_template("assessment/survey/answer.html", state=state, values=values, general_error=exc.errors.get(""), **context)
        return _survey_private(_make_response(page, 400))
    _db.session.commit()
    return _survey_private(_redirect(_url_for("assessment.survey_page", token=token, saved="new" if created else "edit")))


# ==== end of the satisfaction survey section ==========================================================


# ==== deal confirmation (合作项目确认) — added by the deals helper =======================================
# The counterparty's link /deals/confirm/<token>: shows this one deal (no other deals, no host
# internals) with CONFIRM and DISPUTE (reason required). An answer is locked until the host re-asks.

from typing import Any as _DealAny  # noqa: E402

from flask import abort as _deal_abort  # noqa: E402
from flask import current_app as _deal_current_app  # noqa: E402
from flask import make_response as _deal_make_response  # noqa: E402
from flask import redirect as _deal_redirect  # noqa: E402
from flask import render_template as _deal_render_template  # noqa: E402
from flask import request as _deal_request  # noqa: E402
from flask import url_for as _deal_url_for  # noqa: E402
from flask_babel import gettext as _deal_gettext  # noqa: E402

from eventhub.assessment import bp as _deal_bp  # noqa: E402
from eventhub.assessment import deals as _deals  # noqa: E402
from eventhub.assessment.deal_forms import AnswerForm as _DealAnswerForm  # noqa: E402
from eventhub.core.permissions import public as _deal_public  # noqa: E402
from eventhub.extensions import csrf as _deal_csrf  # noqa: E402
from eventhub.extensions import db as _deal_db  # noqa: E402
from eventhub.extensions import limiter as _deal_limiter  # noqa: E402

DEAL_CONFIRM_RATE_LIMIT = "10 per minute"


def _deal_confirm_limit() -> str:
    return _deal_current_app.config.get("DEAL_CONFIRM_RATE_LIMIT", DEAL_CONFIRM_RATE_LIMIT)


@_deal_bp.route("/deals/confirm/<token>", methods=["GET", "POST"])
@_deal_public
@_deal_csrf.exempt  # the form checks the same token itself, so an expired page keeps the typed reason
@_deal_limiter.limit(_deal_confirm_limit, methods=["POST"], error_message=lambda: _deal_gettext("提交过于频繁，请稍后再试。"))
def deal_confirm(token: str) -> _DealAny:
    """The counterparty confirms or disputes the one deal its link names."""
    deal = _deals.find_by_token(token)
    if deal is None:
        _deal_abort(404)
    form = _DealAnswerForm()
    context: dict[str, _DealAny] = {
        **_deals.labels(),
        "deal": deal,
        "event": deal.event,
        "form": form,
        "token": token,
        "can_answer": _deals.can_answer(deal),
        "saved": _deal_request.args.get("saved", ""),
    }
    if _deal_request.method == "GET":
        return _deal_private(_deal_make_response(_deal_render_template("assessment/deals/confirm.html", **context)))
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        expired = _deal_gettext("页面已过期，请重新提交（已填写的内容仍在下方）。")
        return _deal_private(_deal_make_response(_deal_render_template("assessment/deals/confirm.html", general_error=expired, **context), 400))
    action = _deal_request.form.get("action", "")
    try:
        _deals.respond(deal, action, form.note.data or "")
    except _deals.DealError as exc:
        _deal_db.session.rollback()
        if "note" in exc.errors:
            form.note.errors = [*form.note.errors, exc.errors["note"]]
        page = _deal_render_template("assessment/deals/confirm.html", general_error=exc.errors.get(""), **context)
        return _deal_private(_deal_make_response(page, 400))
    return _deal_private(_deal_redirect(_deal_url_for("assessment.deal_confirm", token=token, saved=action)))


# ==== end of the deal confirmation section ============================================================


# ==== mechanism follow-up (合作机制回访) — added by the mechanisms helper ================================
# The member's link /mechanisms/check/<token>: one click "仍在运行" / "已停止" plus an optional note,
# changeable while the wave is open (see eventhub.assessment.mechanisms). Opening it never answers.

from flask import abort as _mech_abort  # noqa: E402
from flask import current_app as _mech_current_app  # noqa: E402
from flask import make_response as _mech_make_response  # noqa: E402
from flask import redirect as _mech_redirect  # noqa: E402
from flask import render_template as _mech_render_template  # noqa: E402
from flask import request as _mech_request  # noqa: E402
from flask import url_for as _mech_url_for  # noqa: E402
from flask_babel import gettext as _mech_gettext  # noqa: E402

from eventhub.assessment import bp as _mech_bp  # noqa: E402
from eventhub.assessment import mechanisms as _mechanisms  # noqa: E402
from eventhub.assessment.mechanism_forms import CheckAnswerForm as _MechCheckAnswerForm  # noqa: E402
from eventhub.assessment.models import MECHANISM_KIND_LABELS as _MECH_KIND_LABELS  # noqa: E402
from eventhub.assessment.models import MechanismKind as _MechanismKind  # noqa: E402
from eventhub.core.permissions import public as _mech_public  # noqa: E402
from eventhub.extensions import csrf as _mech_csrf  # noqa: E402
from eventhub.extensions import db as _mech_db  # noqa: E402
from eventhub.extensions import limiter as _mech_limiter  # noqa: E402

MECHANISM_CHECK_RATE_LIMIT = "10 per minute"


def _mech_check_limit() -> str:
    return _mech_current_app.config.get("MECHANISM_CHECK_RATE_LIMIT", MECHANISM_CHECK_RATE_LIMIT)


@_mech_bp.route("/mechanisms/check/<token>", methods=["GET", "POST"])
@_mech_public
@_mech_csrf.exempt  # the form checks the same token itself, so an expired page keeps the typed note
@_mech_limiter.limit(_mech_check_limit, methods=["POST"], error_message=lambda: _mech_gettext("提交过于频繁，请稍后再试。"))
def mechanism_check(token: str) -> _DealAny:
    """A member says whether the mechanism is still running (this member, this wave only)."""
    check = _mechanisms.find_check(token)
    if check is None:
        _mech_abort(404)
    mechanism = _mechanisms.check_mechanism(check)
    form = _MechCheckAnswerForm()
    if _mech_request.method == "GET":
        form.note.data = check.note
    context: dict[str, _DealAny] = {
        "check": check,
        "mechanism": mechanism,
        "member": check.member,
        "event": mechanism.event,
        "kind_label": _mech_gettext(_MECH_KIND_LABELS[_MechanismKind(mechanism.kind)]),
        "form": form,
        "is_open": _mechanisms.answer_open(check),
        "closes": _mechanisms.wave_closes(mechanism.event, check.wave),
    }
    if _mech_request.method == "GET":
        return _mech_private(_mech_make_response(_mech_render_template("assessment/mechanisms/check.html", **context)))
    if not form.validate_on_submit():  # only the CSRF token is checked by WTForms
        error = _mech_gettext("页面已过期，请重新提交（已填写的内容仍在下方）。")
        return _mech_private(_mech_make_response(_mech_render_template("assessment/mechanisms/check.html", error=error, **context), 400))
    if not (form.active.data or form.stopped.data):
        error = _mech_gettext("请点击“仍在运行”或“已停止”。")
        return _mech_private(_mech_make_response(_mech_render_template("assessment/mechanisms/check.html", error=error, **context), 400))
    try:
        _mechanisms.answer_check(check, bool(form.active.data), form.note.data or "")
    except _mechanisms.MechanismError as exc:
        _mech_db.session.rollback()
        if "note" in exc.errors:
            form.note.errors = [*form.note.errors, exc.errors["note"]]
        page = _mech_render_template("assessment/mechanisms/check.html", error=exc.errors.get(""), **context)
        return _mech_private(_mech_make_response(page, 400))
    _mech_db.session.commit()
    return _mech_private(_mech_redirect(_mech_url_for("assessment.mechanism_check", token=token)))


# ==== end of the mechanism follow-up section ==========================================================
