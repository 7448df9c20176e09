"""The host's registration management pages (报名管理): list, search, filters, bulk decisions, export, questions.

Thin: parse, call :mod:`eventhub.registration.services` (places, waiting list, mails and audit rows
of every decision live there, one transaction per call) or :mod:`eventhub.registration.questions`,
and render; :mod:`eventhub.registration.queries` reads the list, counts and the export. Every URL
names an event and checks it with ``can_manage_event``: a host sees only its own base's events
(another host's event or registration answers 404, as if it did not exist); organisers see all.

Decisions that reach a registrant (approve, decline, cancel) take two steps: the list posts the
chosen rows to a confirmation page, which shows what will happen and posts again.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from eventhub.core import audit
from eventhub.core.i18n import N_, join_list
from eventhub.core.permissions import can_manage_event, has_permission, require
from eventhub.events.content import publication
from eventhub.events.models import ApprovalMode, Event
from eventhub.extensions import db
from eventhub.registration import bp, queries, services
from eventhub.registration import manage_forms as forms
from eventhub.registration import questions as q
from eventhub.registration.models import ORG_TYPE_LABELS, REGISTRATION_STATUS_LABELS, OrgType, Registration, RegistrationQuestion, RegistrationStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTION_LABELS = {
    "registration.create": N_("提交报名"),
    "registration.update": N_("报名人修改了信息"),
    "registration.approve": N_("审核通过"),
    "registration.reapprove": N_("修改后重新审核通过"),
    "registration.decline": N_("审核未通过"),
    "registration.cancel": N_("取消报名"),
    "registration.promote": N_("候补递补"),
}


# ---- helpers ------------------------------------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    """An event the current user manages (host of its base, organiser); others do not exist."""
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    return event


def _registration_or_404(event: Event, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    return registration


def _question_or_404(event: Event, question_id: int) -> RegistrationQuestion:
    question = db.session.get(RegistrationQuestion, question_id)
    if question is None or question.event_id != event.id:
        abort(404)
    return question


def _actor() -> Any:
    return current_user._get_current_object()


def _labels() -> dict[str, Any]:
    return {
        "status_labels": {s.value: REGISTRATION_STATUS_LABELS[s] for s in RegistrationStatus},
        "status_order": queries.STATUS_ORDER,
        "org_labels": {t.value: ORG_TYPE_LABELS[t] for t in OrgType},
        "kind_labels": {k.value: v for k, v in q.QUESTION_KIND_LABELS.items()},
        "action_labels": ACTION_LABELS,
    }


def _list_url(event: Event, filters: queries.Filters | None = None) -> str:
    return url_for("registration.manage_list", event_id=event.id, **(filters.as_args() if filters else {}))


def _back_filters() -> queries.Filters:
    """The list's filters carried through a POST (``back`` = the list's query string), re-parsed."""
    from urllib.parse import parse_qsl

    return queries.filters_from_args(dict(parse_qsl(request.form.get("back", ""))))


# ---- every event one manages --------------------------------------------------------------------------


@bp.get("/events/registrations")
@require("registration.manage")
def manage_overview() -> Any:
    """报名总览: the events the user manages (organisers: all; a host: its base's) with counts by status."""
    query = select(Event).order_by(Event.start_date.desc(), Event.id.desc())
    if not has_permission(current_user, "events.manage"):
        query = query.where(Event.host_base_id == (current_user.base_id or -1))
    events = [e for e in db.session.scalars(query) if can_manage_event(current_user, e)]
    return render_template(
        "registration/manage/overview.html",
        **_labels(),
        events=events,
        counts=queries.overview(events),
        published={e.id: publication(e) is not None for e in events},
    )


# ---- the list -----------------------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/registrations")
@require("registration.manage")
def manage_list(event_id: int) -> Any:
    """报名管理: counts, places, counts by organisation type, search and filters, 50 rows a page."""
    event = _event_or_404(event_id)
    pub = publication(event)
    filters = queries.filters_from_args(request.args)
    pagination = queries.page_of(event, filters)
    counts = queries.counts(event)
    moderated = pub is not None and pub.approval_mode == ApprovalMode.MODERATED.value
    return render_template(
        "registration/manage/list.html",
        **_labels(),
        event=event,
        pub=pub,
        filters=filters,
        pagination=pagination,
        counts=counts,
        places=queries.places(event, pub),
        sort_labels=queries.SORT_LABELS,
        session_titles=lambda r: queries.session_titles(pub, r),
        moderated=moderated or bool(counts.by_status.get(RegistrationStatus.PENDING.value)) or bool(counts.needs_reapproval),
        bulk_form=forms.BulkForm(),
        waiting=counts.by_status.get(RegistrationStatus.WAITLISTED.value, 0),
    )


@bp.get("/events/<int:event_id>/registrations.xlsx")
@require("registration.manage")
def manage_export(event_id: int) -> Response:
    """The filtered list (all pages) as Excel with full contacts and answers; the export is audited."""
    event = _event_or_404(event_id)
    filters = queries.filters_from_args(request.args)
    rows = queries.export_rows(event, filters)
    data = queries.export_xlsx(event, rows)
    audit.record("registration.export", event, after={"rows": len(rows), "filters": filters.as_args()}, actor=_actor())
    db.session.commit()
    stamp = event.start_date.strftime("%Y%m%d")
    response = send_file(
        io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"报名名单-{event.host_base.display_short_name}-{stamp}.xlsx", max_age=0
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/events/<int:event_id>/registrations/<int:registration_id>")
@require("registration.manage")
def manage_detail(event_id: int, registration_id: int) -> Any:
    """One registration in full: contacts, sessions, interests, answers, ticket, history."""
    event = _event_or_404(event_id)
    registration = _registration_or_404(event, registration_id)
    pub = publication(event)
    needs, resources = queries.interest_titles(pub, registration)
    ticket = registration.ticket
    return render_template(
        "registration/manage/detail.html",
        **_labels(),
        event=event,
        registration=registration,
        sessions=queries.session_titles(pub, registration),
        needs=needs,
        resources=resources,
        answers=queries.answer_rows(q.all_questions(event), registration),
        ticket=ticket if ticket is not None and ticket.revoked_at is None else None,
        revoked_ticket=ticket if ticket is not None and ticket.revoked_at is not None else None,
        history=audit.history_of(registration),
        active=registration.status in services.ACTIVE_STATUSES,
        decidable=registration.status == RegistrationStatus.PENDING.value
        or (registration.status == RegistrationStatus.CONFIRMED.value and registration.needs_reapproval),
        bulk_form=forms.BulkForm(),
        waiting_rank=_waiting_rank(event, registration),
    )


def _waiting_rank(event: Event, registration: Registration) -> int | None:
    if registration.status != RegistrationStatus.WAITLISTED.value:
        return None
    ids = [r.id for r in services.waiting_list(event)]
    return ids.index(registration.id) + 1 if registration.id in ids else None


# ---- bulk approve / decline ----------------------------------------------------------------------------


def _decidable(registration: Registration) -> bool:
    return registration.status == RegistrationStatus.PENDING.value or (
        registration.status == RegistrationStatus.CONFIRMED.value and registration.needs_reapproval
    )


def _confirm_page(event: Event, action: str, chosen: list[Registration], form: forms.BulkForm, back: str, status: int = 200) -> Any:
    pub = publication(event)
    decidable = [r for r in chosen if _decidable(r)]
    new_places = sum(1 for r in decidable if r.status == RegistrationStatus.PENDING.value)
    event_places = queries.places(event, pub)[0] if pub is not None else None
    return (
        render_template(
            "registration/manage/confirm_bulk.html",
            **_labels(),
            event=event,
            action=action,
            chosen=chosen,
            decidable=decidable,
            skipped=[r for r in chosen if not _decidable(r)],
            new_places=new_places,
            event_places=event_places,
            form=form,
            back=back,
        ),
        status,
    )


@bp.post("/events/<int:event_id>/registrations/bulk")
@require("registration.manage")
def manage_bulk(event_id: int) -> Any:
    """Step 1 (from the list): show what approving / declining the chosen rows will do. Step 2: do it."""
    event = _event_or_404(event_id)
    form = forms.BulkForm()
    back = request.form.get("back", "")
    filters = _back_filters()
    action = request.form.get("action", "")
    if not form.validate_on_submit() or action not in forms.BULK_ACTIONS:
        flash(_("页面已过期或操作无效，请重试。"), "error")
        return redirect(_list_url(event, filters))
    chosen = queries.registrations_by_ids(event, forms.parse_ids(request.form.getlist("ids")))
    if not chosen:
        flash(_("请先勾选要处理的报名。"), "warning")
        return redirect(_list_url(event, filters))
    if form.confirmed.data != "1":
        form.confirmed.data = "1"
        return _confirm_page(event, action, chosen, form, back)
    if action == "approve":
        return _do_approve(event, chosen, filters)
    try:
        declined = services.decline(chosen, form.note.data or "", _actor())
    except services.RegistrationError as exc:
        db.session.rollback()
        form.note.errors = [*list(form.note.errors or []), *[m for k, m in exc.errors.items() if k in ("note", "")]]
        return _confirm_page(event, action, chosen, form, back, status=400)
    if declined:
        flash(_("已将 %(n)d 份报名标记为“未通过”，并已邮件通知报名人。", n=len(declined)), "success")
    skipped = len(chosen) - len(declined)
    if skipped:
        flash(_("%(n)d 份报名不是待审核状态，未作处理。", n=skipped), "info")
    return redirect(_list_url(event, filters))


def _do_approve(event: Event, chosen: list[Registration], filters: queries.Filters) -> Any:
    try:
        result = services.approve(chosen, _actor())
    except services.RegistrationError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(_list_url(event, filters))
    if result.approved:
        flash(_("已通过 %(n)d 份报名，报名人已收到确认邮件和电子票。", n=len(result.approved)), "success")
    if result.still_pending:
        flash(
            _("%(n)d 份报名因名额已满仍为待审核：%(list)s 可提高名额后再审核，或标记为未通过。", n=len(result.still_pending), list="；".join(result.messages)),
            "warning",
        )
    if result.skipped:
        flash(_("%(n)d 份报名不是待审核状态，未作处理。", n=len(result.skipped)), "info")
    return redirect(_list_url(event, filters))


# ---- cancelling one registration -------------------------------------------------------------------------


@bp.route("/events/<int:event_id>/registrations/<int:registration_id>/cancel", methods=["GET", "POST"])
@require("registration.manage")
def manage_cancel(event_id: int, registration_id: int) -> Any:
    """The host cancels a registration (confirmation page; the places go to the waiting list in order)."""
    event = _event_or_404(event_id)
    registration = _registration_or_404(event, registration_id)
    detail = url_for("registration.manage_detail", event_id=event.id, registration_id=registration.id)
    if registration.status not in services.ACTIVE_STATUSES:
        flash(_("该报名已是“%(status)s”状态，无法取消。", status=_(registration.status_label)), "warning")
        return redirect(detail)
    form = forms.CancelForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and form.confirm.data:
            name = registration.name
            try:
                promoted = services.cancel(registration, actor=_actor())
            except services.RegistrationError as exc:
                flash(str(exc), "error")
                return redirect(detail)
            flash(_("已取消 %(name)s 的报名，并已邮件通知。", name=name), "success")
            if promoted:
                flash(_("候补递补：%(names)s 已获得名额并收到通知。", names=join_list(r.name for r in promoted)), "info")
            return redirect(detail)
        if not form.errors:
            form.confirm.errors = [_("请先勾选确认框，再取消报名。")]
        status = 400
    return render_template("registration/manage/confirm_cancel.html", **_labels(), event=event, registration=registration, form=form), status


# ---- the waiting list -------------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/registrations/waitlist")
@require("registration.manage")
def manage_waitlist(event_id: int) -> Any:
    """候补名单 in the order places will be given."""
    event = _event_or_404(event_id)
    pub = publication(event)
    return render_template(
        "registration/manage/waitlist.html",
        **_labels(),
        event=event,
        waiting=services.waiting_list(event),
        places=queries.places(event, pub),
        session_titles=lambda r: queries.session_titles(pub, r),
        form=forms.ConfirmForm(),
    )


@bp.post("/events/<int:event_id>/registrations/waitlist/promote")
@require("registration.manage")
def manage_promote(event_id: int) -> Any:
    """Give free places (e.g. after the capacity was raised) to the waiting list, in order."""
    event = _event_or_404(event_id)
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        flash(_("页面已过期，请重试。"), "error")
    else:
        promoted = services.promote_waitlist(event, _actor())
        if promoted:
            flash(_("已按顺序递补 %(n)d 人：%(names)s。", n=len(promoted), names=join_list(r.name for r in promoted)), "success")
        else:
            flash(_("暂无空余名额，或候补人员所选场次已满，没有人递补。"), "info")
    return redirect(url_for("registration.manage_waitlist", event_id=event.id))


# ---- the host's questions -----------------------------------------------------------------------------


def _questions_page(event: Event, form: forms.QuestionForm, status: int = 200) -> Any:
    return (
        render_template(
            "registration/manage/questions.html",
            **_labels(),
            event=event,
            questions=q.active_questions(event),
            removed=[x for x in q.all_questions(event) if not x.active],
            answered=q.answer_counts(event),
            form=form,
            move_form=forms.ConfirmForm(),
            registered=queries.counts(event).total,
        ),
        status,
    )


@bp.route("/events/<int:event_id>/registration/questions", methods=["GET", "POST"])
@require("registration.manage")
def manage_questions(event_id: int) -> Any:
    """The host's own questions on the registration form: list, reorder, add."""
    event = _event_or_404(event_id)
    form = forms.QuestionForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                question = q.define_question(
                    event,
                    form.label.data or "",
                    form.kind.data or "",
                    required=bool(form.required.data),
                    choices=form.choice_lines(),
                    help_text=form.help_text.data or "",
                    actor=_actor(),
                )
                db.session.commit()
            except q.QuestionError as exc:
                db.session.rollback()
                form.apply_errors(exc.errors)
            else:
                flash(_("已添加问题“%(label)s”，报名表上已显示。", label=question.label), "success")
                return redirect(url_for("registration.manage_questions", event_id=event.id))
        return _questions_page(event, form, 400)
    return _questions_page(event, form)


@bp.route("/events/<int:event_id>/registration/questions/<int:question_id>", methods=["GET", "POST"])
@require("registration.manage")
def manage_question_edit(event_id: int, question_id: int) -> Any:
    """Edit a question's wording, choices, help text or whether it is required (not its kind)."""
    event = _event_or_404(event_id)
    question = _question_or_404(event, question_id)
    if not question.active:
        abort(404)
    if request.method == "POST":
        form = forms.QuestionForm()
        form.kind.data = question.kind
        if form.validate_on_submit():
            try:
                q.update_question(
                    question,
                    form.label.data or "",
                    required=bool(form.required.data),
                    choices=form.choice_lines(),
                    help_text=form.help_text.data or "",
                    actor=_actor(),
                )
                db.session.commit()
            except q.QuestionError as exc:
                db.session.rollback()
                form.apply_errors(exc.errors)
            else:
                flash(_("已保存问题“%(label)s”。", label=question.label), "success")
                return redirect(url_for("registration.manage_questions", event_id=event.id))
        status = 400
    else:
        form = forms.QuestionForm(
            formdata=None,
            data={
                "label": question.label,
                "kind": question.kind,
                "required": question.required,
                "choices": "\n".join(question.choices or []),
                "help_text": question.help_text,
            },
        )
        status = 200
    question = _question_or_404(event, question_id)  # re-read after a rollback
    used = q.chosen_values(question) if question.kind in ("single", "multiple") else {}
    return render_template(
        "registration/manage/question_edit.html",
        **_labels(),
        event=event,
        question=question,
        form=form,
        used=used,
        answered=q.answer_counts(event).get(question.id, 0),
    ), status


@bp.route("/events/<int:event_id>/registration/questions/<int:question_id>/remove", methods=["GET", "POST"])
@require("registration.manage")
def manage_question_remove(event_id: int, question_id: int) -> Any:
    """Remove a question from the form after a confirmation; answers already given are kept."""
    event = _event_or_404(event_id)
    question = _question_or_404(event, question_id)
    form = forms.ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        label = question.label
        q.remove_question(question, actor=_actor())
        db.session.commit()
        flash(_("已从报名表移除问题“%(label)s”；已有的回答仍保留在报名详情和导出中。", label=label), "success")
        return redirect(url_for("registration.manage_questions", event_id=event.id))
    if not question.active:
        return redirect(url_for("registration.manage_questions", event_id=event.id))
    return render_template(
        "registration/manage/question_remove.html",
        **_labels(),
        event=event,
        question=question,
        form=form,
        answered=q.answer_counts(event).get(question.id, 0),
    ), 200 if request.method == "GET" else 400


@bp.post("/events/<int:event_id>/registration/questions/<int:question_id>/move")
@require("registration.manage")
def manage_question_move(event_id: int, question_id: int) -> Any:
    """Move a question one place up or down on the form."""
    event = _event_or_404(event_id)
    question = _question_or_404(event, question_id)
    form = forms.ConfirmForm()
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""), 0)
    if form.validate_on_submit() and offset and q.move_question(question, offset, actor=_actor()):
        db.session.commit()
    return redirect(url_for("registration.manage_questions", event_id=event.id) + f"#question-{question_id}")
