"""Survey pages: the organiser's questionnaire editor, response rates, non-respondents, results per question.

* ``/campaigns/<id>/survey`` and its actions: ``assessment.manage`` (organisers). Versions; the
  draft is edited (settings, questions added / edited / removed / moved), published with a
  confirmation; a published version is read only ("new version" copies it into a draft).
* ``/events/<id>/survey`` (+ ``export.xlsx``): organisers and assessors (``assessment.review``)
  see everything — who has not answered yet, free text, every answer in the export; the
  event's own host (``assessment.record`` + ``can_manage_event``) sees aggregates only, never
  who said what and never free text. Anyone else: 404. Gate: ``events.private`` (organisers,
  assessors, hosts) plus that object check.

Views parse and render; every rule is in :mod:`eventhub.assessment.surveys`.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eventhub.assessment import bp
from eventhub.assessment import surveys as svc
from eventhub.assessment.models import Questionnaire, QuestionnaireStatus, SurveyQuestion
from eventhub.assessment.survey_forms import ActionForm, ConfirmForm, QuestionForm, SettingsForm
from eventhub.campaigns.models import Campaign
from eventhub.core import audit
from eventhub.core.permissions import can_manage_event, has_permission, require
from eventhub.core.timeutil import format_local, utcnow
from eventhub.core.validators import mask_mobile
from eventhub.events.models import Event
from eventhub.extensions import db

PER_PAGE = 30


def _actor() -> Any:
    return current_user._get_current_object()


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def _questionnaire_or_404(campaign: Campaign, questionnaire_id: int) -> Questionnaire:
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None or questionnaire.campaign_id != campaign.id:
        abort(404)
    return questionnaire


def _question_or_404(campaign: Campaign, question_id: int) -> SurveyQuestion:
    question = db.session.get(SurveyQuestion, question_id)
    if question is None or question.questionnaire.campaign_id != campaign.id:
        abort(404)
    return question


def _back(campaign: Campaign, questionnaire: Questionnaire | None = None) -> Response:
    args = {"version": questionnaire.version} if questionnaire is not None else {}
    return redirect(url_for("assessment.survey_editor", campaign_id=campaign.id, **args))


def _settings_form(questionnaire: Questionnaire, formdata: Any = None) -> SettingsForm:
    form = SettingsForm(formdata=formdata) if formdata is not None else SettingsForm(formdata=None)
    if formdata is None:
        form.title.data = questionnaire.title
        form.intro.data = questionnaire.intro
        form.invite_org_types.data = list(questionnaire.invite_org_types or [])
        form.open_days.data = questionnaire.open_days
        form.reminder_days.data = ", ".join(str(d) for d in questionnaire.reminder_days or [])
    return form


def _editor(campaign: Campaign, shown: Questionnaire, settings_form: SettingsForm | None = None, status: int = 200) -> Any:
    all_versions = svc.versions(campaign)
    page = render_template(
        "assessment/survey/editor.html",
        campaign=campaign,
        versions=all_versions,
        shown=shown,
        editable=shown.status == QuestionnaireStatus.DRAFT.value,
        draft=next((v for v in all_versions if v.status == QuestionnaireStatus.DRAFT.value), None),
        settings_form=settings_form or _settings_form(shown),
        action_form=ActionForm(),
        status_labels=svc.STATUS_LABELS,
        kind_labels=svc.KIND_LABELS,
        invited_labels=svc.invited_type_labels(shown),
        statuses=QuestionnaireStatus,
        format_local=format_local,
    )
    return page, status


@bp.get("/campaigns/<int:campaign_id>/survey")
@require("assessment.manage")
def survey_editor(campaign_id: int) -> Any:
    """The versions of the campaign's questionnaire; the draft (if any) is shown for editing."""
    campaign = _campaign_or_404(campaign_id)
    published = svc.ensure_questionnaire(campaign, actor=_actor())
    db.session.commit()
    version = request.args.get("version", type=int)
    all_versions = svc.versions(campaign)
    shown = next((v for v in all_versions if v.version == version), None) if version else None
    if version and shown is None:
        abort(404)
    if shown is None:
        shown = next((v for v in all_versions if v.status == QuestionnaireStatus.DRAFT.value), published)
    return _editor(campaign, shown)


@bp.post("/campaigns/<int:campaign_id>/survey/new-version")
@require("assessment.manage")
def survey_new_version(campaign_id: int) -> Response:
    """Copy the published version into a draft (or open the existing draft)."""
    campaign = _campaign_or_404(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    existed = svc.draft_of(campaign) is not None
    draft = svc.new_version(campaign, actor=_actor())
    db.session.commit()
    flash(_("已有草稿版本 v%(v)s，请继续编辑。", v=draft.version) if existed else _("已创建草稿版本 v%(v)s。", v=draft.version), "info")
    return _back(campaign, draft)


@bp.post("/campaigns/<int:campaign_id>/survey/<int:questionnaire_id>/settings")
@require("assessment.manage")
def survey_settings(campaign_id: int, questionnaire_id: int) -> Any:
    """Save title, intro, extra invited org types, open days and reminder days of the draft."""
    campaign = _campaign_or_404(campaign_id)
    questionnaire = _questionnaire_or_404(campaign, questionnaire_id)
    form = _settings_form(questionnaire, request.form)
    if not form.validate_on_submit():
        return _editor(campaign, questionnaire, form, 400)
    data = {
        "title": form.title.data,
        "intro": form.intro.data,
        "invite_org_types": form.invite_org_types.data,
        "open_days": form.open_days.data,
        "reminder_days": form.reminder_days.data,
    }
    try:
        svc.update_settings(questionnaire, data, actor=_actor())
    except svc.SurveyError as exc:
        db.session.rollback()
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
            else:
                flash(message, "danger")
        return _editor(campaign, questionnaire, form, 400)
    db.session.commit()
    flash(_("问卷设置已保存。"), "success")
    return _back(campaign, questionnaire)


@bp.route("/campaigns/<int:campaign_id>/survey/<int:questionnaire_id>/questions/new", methods=["GET", "POST"])
@bp.route("/campaigns/<int:campaign_id>/survey/questions/<int:question_id>", methods=["GET", "POST"])
@require("assessment.manage")
def survey_question(campaign_id: int, questionnaire_id: int | None = None, question_id: int | None = None) -> Any:
    """Add a question to the draft, or edit one of its questions."""
    campaign = _campaign_or_404(campaign_id)
    question = _question_or_404(campaign, question_id) if question_id is not None else None
    questionnaire = question.questionnaire if question is not None else _questionnaire_or_404(campaign, questionnaire_id or 0)
    if questionnaire.status != QuestionnaireStatus.DRAFT.value:
        flash(_("已发布的问卷版本不能修改，请先“新建版本”。"), "warning")
        return _back(campaign, questionnaire)
    if request.method == "GET":
        form = QuestionForm(formdata=None)
        if question is not None:
            form.label.data, form.kind.data, form.help_text.data = question.label, question.kind, question.help_text
            form.choices.data, form.key.data, form.required.data = "\n".join(question.choices or []), question.key, question.required
        else:
            form.required.data = True
    else:
        form = QuestionForm()
    context = {"campaign": campaign, "questionnaire": questionnaire, "question": question, "form": form}
    if request.method == "GET":
        return render_template("assessment/survey/question_form.html", **context)
    if not form.validate_on_submit():
        return render_template("assessment/survey/question_form.html", **context), 400
    data = {name: form[name].data for name in ("label", "kind", "help_text", "choices", "key", "required")}
    try:
        if question is None:
            svc.add_question(questionnaire, data, actor=_actor())
        else:
            svc.update_question(question, data, actor=_actor())
    except svc.SurveyError as exc:
        db.session.rollback()
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
        return render_template("assessment/survey/question_form.html", general_error=exc.errors.get(""), **context), 400
    db.session.commit()
    flash(_("题目已保存。"), "success")
    return _back(campaign, questionnaire)


@bp.post("/campaigns/<int:campaign_id>/survey/questions/<int:question_id>/move")
@require("assessment.manage")
def survey_question_move(campaign_id: int, question_id: int) -> Response:
    campaign = _campaign_or_404(campaign_id)
    question = _question_or_404(campaign, question_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        svc.move_question(question, -1 if request.form.get("direction") == "up" else 1, actor=_actor())
    except svc.SurveyError as exc:
        flash(str(exc), "warning")
    db.session.commit()
    return _back(campaign, question.questionnaire)


@bp.route("/campaigns/<int:campaign_id>/survey/questions/<int:question_id>/delete", methods=["GET", "POST"])
@require("assessment.manage")
def survey_question_delete(campaign_id: int, question_id: int) -> Any:
    """Remove a question from the draft, after a confirmation page."""
    campaign = _campaign_or_404(campaign_id)
    question = _question_or_404(campaign, question_id)
    questionnaire = question.questionnaire
    form = ConfirmForm()
    context = {
        "campaign": campaign,
        "questionnaire": questionnaire,
        "form": form,
        "title": _("删除题目"),
        "message": _(
            "确定从草稿版本 v%(v)s 中删除题目“%(label)s”吗？已发布版本中的同一题目和已有回答不受影响。", v=questionnaire.version, label=question.label
        ),
        "button": _("删除题目"),
        "danger": True,
    }
    if request.method == "GET":
        return render_template("assessment/survey/confirm.html", **context)
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        return render_template("assessment/survey/confirm.html", general_error=_("请先勾选确认。"), **context), 400
    try:
        svc.remove_question(question, actor=_actor())
    except svc.SurveyError as exc:
        flash(str(exc), "warning")
        return _back(campaign, questionnaire)
    db.session.commit()
    flash(_("题目已删除。"), "info")
    return _back(campaign, questionnaire)


@bp.route("/campaigns/<int:campaign_id>/survey/<int:questionnaire_id>/publish", methods=["GET", "POST"])
@require("assessment.manage")
def survey_publish(campaign_id: int, questionnaire_id: int) -> Any:
    """Publish the draft after a confirmation that says what changes."""
    campaign = _campaign_or_404(campaign_id)
    questionnaire = _questionnaire_or_404(campaign, questionnaire_id)
    if questionnaire.status != QuestionnaireStatus.DRAFT.value:
        flash(_("该版本已发布或已停用。"), "info")
        return _back(campaign, questionnaire)
    current = svc.published(campaign)
    form = ConfirmForm()
    message = _(
        "发布后，v%(v)s 将用于之后发出的所有问卷邀请，且不能再修改；已发出的邀请仍使用原版本%(old)s，已有回答保持不变。",
        v=questionnaire.version,
        old=_("（v%(v)s，将停用）", v=current.version) if current is not None else "",
    )
    context = {"campaign": campaign, "questionnaire": questionnaire, "form": form, "title": _("发布问卷 v%(v)s", v=questionnaire.version)}
    context.update(message=message, button=_("确认发布"), danger=False, questions=questionnaire.questions)
    if request.method == "GET":
        return render_template("assessment/survey/confirm.html", **context)
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        return render_template("assessment/survey/confirm.html", general_error=_("请先勾选确认。"), **context), 400
    try:
        svc.publish(questionnaire, actor=_actor())
    except svc.SurveyError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _back(campaign, questionnaire)
    db.session.commit()
    flash(_("问卷 v%(v)s 已发布。", v=questionnaire.version), "success")
    return _back(campaign, questionnaire)


@bp.route("/campaigns/<int:campaign_id>/survey/<int:questionnaire_id>/discard", methods=["GET", "POST"])
@require("assessment.manage")
def survey_discard(campaign_id: int, questionnaire_id: int) -> Any:
    """Throw the draft away (confirmation first); published versions are kept."""
    campaign = _campaign_or_404(campaign_id)
    questionnaire = _questionnaire_or_404(campaign, questionnaire_id)
    if questionnaire.status != QuestionnaireStatus.DRAFT.value:
        abort(404)
    form = ConfirmForm()
    context = {
        "campaign": campaign,
        "questionnaire": questionnaire,
        "form": form,
        "title": _("放弃草稿 v%(v)s", v=questionnaire.version),
        "message": _("草稿中的所有修改将被删除，正在使用的版本不受影响。"),
        "button": _("放弃草稿"),
        "danger": True,
    }
    if request.method == "GET":
        return render_template("assessment/survey/confirm.html", **context)
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        return render_template("assessment/survey/confirm.html", general_error=_("请先勾选确认。"), **context), 400
    svc.discard_draft(questionnaire, actor=_actor())
    db.session.commit()
    flash(_("草稿已放弃。"), "info")
    return _back(campaign)


# ---- results of one event ------------------------------------------------------------------------


def _access(event_id: int) -> tuple[Event, bool]:
    """The event and whether the user sees everything (organiser, assessor) or aggregates (its host)."""
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    if has_permission(current_user, "assessment.review"):
        return event, True
    if has_permission(current_user, "assessment.record") and can_manage_event(current_user, event):
        return event, False
    abort(404)


def _chosen_version(event: Event) -> tuple[list[Questionnaire], Questionnaire | None]:
    used = svc.event_questionnaires(event)
    version = request.args.get("version", type=int)
    chosen = next((q for q in used if q.version == version), None) if version else (used[0] if used else None)
    if version and chosen is None:
        abort(404)
    return used, chosen


@bp.get("/events/<int:event_id>/survey")
@require("events.private")
def survey_results(event_id: int) -> str:
    """Live response rate, results per question (CSS bars), and — organisers/assessors — who has not answered."""
    event, full = _access(event_id)
    used, chosen = _chosen_version(event)
    results = svc.question_results(event, chosen, include_text=full) if chosen is not None else []
    pending, registrations = None, {}
    if full:
        pending = db.paginate(svc.non_respondents_query(event), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
        registrations = svc.registrations_of(pending.items)
    return render_template(
        "assessment/survey/results.html",
        registrations=registrations,
        event=event,
        full=full,
        figures=svc.survey_figures(event),
        used=used,
        chosen=chosen,
        results=results,
        pending=pending,
        mask_mobile=mask_mobile,
        format_local=format_local,
        waiting=svc.not_yet_eligible_reason(event),
        invite_from=svc.invite_from(event),
        invited_labels=svc.invited_type_labels(chosen or svc.published(event.campaign)),
        now=utcnow(),
    )


@bp.get("/events/<int:event_id>/survey/export.xlsx")
@require("events.private")
def survey_export(event_id: int) -> Response:
    """XLSX: summary and distributions; organisers and assessors also get every answer (audited)."""
    event, full = _access(event_id)
    data = svc.export_xlsx(event, full=full)
    audit.record("survey.export", event, after={"full": full}, actor=_actor())
    db.session.commit()
    response = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="survey-event-{event.id}.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    return response
