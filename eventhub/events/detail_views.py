"""Views of the detailed plan (活动方案): the host writes it, the organiser reviews it.

Thin: parse with :mod:`eventhub.events.detail_forms`, call :mod:`eventhub.events.detail_plans`,
render. Every URL names an event and checks it: a host sees only its own base's events (another
host's event answers 404, as if it did not exist); organisers and assessors read every plan, and
only organisers decide. Section forms are small pages (no JavaScript needed); a refused value is
shown next to its field with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from eventhub.campaigns import services as campaigns
from eventhub.campaigns.models import Campaign
from eventhub.core.permissions import can_manage_event, can_view_event_private, has_permission, require
from eventhub.core.uploads import send_stored
from eventhub.events import bp, content
from eventhub.events import detail_forms as forms
from eventhub.events import detail_plans as services
from eventhub.events.models import DetailPlan, DetailPlanAttachment, DetailPlanBase, Event, EventSession, SharedResource, TechNeed
from eventhub.extensions import db

PER_PAGE = 25


# ---- helpers ------------------------------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    """An event the current user may read privately (host of its base, organiser, assessor)."""
    event = db.session.get(Event, event_id)
    if event is None or not can_view_event_private(current_user, event):
        abort(404)
    return event


def _host_event_or_404(event_id: int) -> Event:
    """An event of the current host's own base (other hosts' events do not exist for them)."""
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    return event


def _host_plan(event_id: int) -> tuple[Event, DetailPlan]:
    """The event and its working copy; a copy created on this visit is committed at once, so a
    refused form (which rolls back) never takes the new copy with it."""
    event = _host_event_or_404(event_id)
    if services.get_detail_plan(event) is None:
        services.ensure_detail_plan(event)
        db.session.commit()
    return event, services.ensure_detail_plan(event)


def _plan_url(event: Event, section: str = "") -> str:
    return url_for("events.detail_plan", event_id=event.id) + (f"#{section}" if section else "")


def _apply_errors(form: FlaskForm, errors: dict[str, list[str]]) -> None:
    """Service messages next to their fields (a field that already failed to parse keeps its own)."""
    for name, messages in errors.items():
        target = form._fields.get(name)
        if target is None:
            continue
        if target.errors and target.process_errors:
            continue
        target.errors = list(target.errors or []) + [m for m in messages if m not in (target.errors or [])]


def _locked(plan: DetailPlan, section: str) -> Any | None:
    """Redirect back to the plan page with the reason when the working copy cannot be edited."""
    try:
        services.check_editable(plan)
    except services.DetailPlanError as exc:
        flash(str(exc), "error")
        return redirect(_plan_url(plan.event, section))
    return None


def _labels() -> dict[str, Any]:
    return {
        "sections": services.section_labels(),
        "status_labels": services.status_labels(),
        "decision_labels": services.decision_labels(),
        "kind_labels": services.session_kind_labels(),
        "access_labels": services.session_access_labels(),
        "resource_labels": services.resource_kind_labels(),
        "mode_labels": services.approval_mode_labels(),
        "content_types": services.content_type_labels(),
        "budget_label": services.budget_label,
        "iso_local": services.iso_local,
        "filesize": services.filesize,
    }


def _form_page(event: Event, plan: DetailPlan, form: FlaskForm, *, section: str, heading: str, fields: list[str], status: int = 200, **extra: Any) -> Any:
    return (
        render_template(
            "events/detail/section_form.html", **_labels(), event=event, plan=plan, form=form, section=section, heading=heading, fields=fields, **extra
        ),
        status,
    )


def _save(plan: DetailPlan, form: FlaskForm, check: Any, save: Any) -> dict[str, list[str]] | None:
    """Validate the form (parsing) and the service rules; save when both pass. Returns errors or None."""
    form.validate()
    errors = check()
    _apply_errors(form, errors)
    if form.errors:
        return form.errors
    try:
        save()
        db.session.commit()
    except services.SectionError as exc:
        db.session.rollback()
        _apply_errors(form, exc.errors)
        return exc.errors
    return None


# ---- host: my events and the plan page -----------------------------------------------------------


@bp.get("/events/mine")
@require("events.host")
def my_events() -> str:
    """The host base's theme days with the plan's state, due time and countdown."""
    base_id = current_user.base_id
    events = services.host_events(base_id) if base_id else []
    rows = []
    for event in events:
        plan = services.get_detail_plan(event)
        rows.append({"event": event, "plan": plan, "due": services.due_info(event)})
    return render_template("events/detail/my_events.html", **_labels(), rows=rows, remaining_text=campaigns.remaining_text)


def _render_plan(event: Event, plan: DetailPlan, short_form: forms.ShortNameForm | None = None, status: int = 200) -> Any:
    problems = services.validation_problems(plan)
    return (
        render_template(
            "events/detail/plan.html",
            **_labels(),
            event=event,
            plan=plan,
            title=services.title_of(event),
            has_short_name=services.has_short_name(event),
            short_form=short_form or forms.ShortNameForm(),
            due=services.due_info(event),
            problems=problems,
            problem_sections={p.section for p in problems},
            editable=services.is_editable(plan),
            latest=services.latest_version(plan),
            approved=services.approved_version(plan),
            covered={c for s in plan.sessions for c in (s.content_types or [])},
            min_types=services.MIN_CONTENT_TYPES,
            event_end=services.event_end(event),
        ),
        status,
    )


@bp.get("/events/<int:event_id>/plan")
@require("events.host")
def detail_plan(event_id: int) -> Any:
    """The host's editing page: every section, what is missing, submit / withdraw / revise."""
    event, plan = _host_plan(event_id)
    return _render_plan(event, plan)


@bp.post("/events/<int:event_id>/plan/short-name")
@require("events.host")
def detail_plan_short_name(event_id: int) -> Any:
    """Fill in the base's missing short name (written to the registry, audited)."""
    event, plan = _host_plan(event_id)
    form = forms.ShortNameForm()
    if form.validate():
        try:
            services.set_short_name(event, form.short_name.data or "", current_user)
            db.session.commit()
        except services.SectionError as exc:
            db.session.rollback()
            _apply_errors(form, exc.errors)
        except services.DetailPlanError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(_plan_url(event, "short-name"))
        else:
            flash(_("已登记基地简称。方案标题：%(title)s", title=services.title_of(event)), "success")
            return redirect(_plan_url(event, "short-name"))
    return _render_plan(event, plan, short_form=form, status=422)


# ---- text sections -----------------------------------------------------------------------------


def _text_heading(section: str) -> str:
    return services.section_labels()[section]


@bp.route("/events/<int:event_id>/plan/text/<section>", methods=["GET", "POST"])
@require("events.host")
def detail_plan_text(event_id: int, section: str) -> Any:
    """Goals (活动目标), main venue (主会场) or emergency plan (应急预案)."""
    if section not in services.TEXT_SECTIONS:
        abort(404)
    event, plan = _host_plan(event_id)
    if (locked := _locked(plan, section)) is not None:
        return locked
    attribute = services.TEXT_SECTIONS[section]
    form = forms.TextSectionForm() if request.method == "POST" else forms.TextSectionForm(data={"text": getattr(plan, attribute)})
    form.text.label.text = _text_heading(section)
    if section == "venue":
        form.text.render_kw = {"rows": 2, "maxlength": 300}
        form.text.description = _("线下活动的主会场地址；全部场次均为线上时可不填")
    elif section == "emergency":
        form.text.description = _("疫情防控、人员密集场所安全、突发事件处置等安排")
    if request.method == "POST":
        errors = _save(plan, form, lambda: {}, lambda: services.update_text(plan, section, form.text.data or "", current_user))
        if errors is None:
            flash(_("已保存：%(section)s", section=_text_heading(section)), "success")
            return redirect(_plan_url(event, section))
        return _form_page(event, plan, form, section=section, heading=_text_heading(section), fields=["text"], status=422)
    return _form_page(event, plan, form, section=section, heading=_text_heading(section), fields=["text"])


# ---- sessions ---------------------------------------------------------------------------------


def _session_or_404(plan: DetailPlan, session_id: int) -> EventSession:
    session = db.session.get(EventSession, session_id)
    if session is None or session.plan_id != plan.id:
        abort(404)
    return session


def _session_page(event: Event, plan: DetailPlan, session: EventSession | None) -> Any:
    if (locked := _locked(plan, "sessions")) is not None:
        return locked
    heading = _("编辑场次") if session else _("添加场次")
    fields = ["title", "kind", "day", "start_time", "end_time", "venue", "online_url", "access", "content_types", "description", "capacity"]
    extra = {"date_range": (event.start_date, event.end_date)}
    if request.method == "GET":
        return _form_page(event, plan, forms.SessionForm.for_session(session), section="sessions", heading=heading, fields=fields, **extra)
    form = forms.SessionForm()
    data = form.values()

    def save() -> None:
        if session is None:
            services.add_session(plan, form.values(), current_user)
        else:
            services.update_session(session, form.values(), current_user)

    errors = _save(plan, form, lambda: services.session_errors(plan, data), save)
    if errors is None:
        flash(_("场次已保存：%(title)s", title=data.title), "success")
        return redirect(_plan_url(event, "sessions"))
    return _form_page(event, plan, form, section="sessions", heading=heading, fields=fields, status=422, **extra)


@bp.route("/events/<int:event_id>/plan/sessions/new", methods=["GET", "POST"])
@require("events.host")
def detail_plan_session_new(event_id: int) -> Any:
    event, plan = _host_plan(event_id)
    return _session_page(event, plan, None)


@bp.route("/events/<int:event_id>/plan/sessions/<int:session_id>", methods=["GET", "POST"])
@require("events.host")
def detail_plan_session_edit(event_id: int, session_id: int) -> Any:
    event, plan = _host_plan(event_id)
    return _session_page(event, plan, _session_or_404(plan, session_id))


@bp.post("/events/<int:event_id>/plan/sessions/<int:session_id>/delete")
@require("events.host")
def detail_plan_session_delete(event_id: int, session_id: int) -> Any:
    event, plan = _host_plan(event_id)
    session = _session_or_404(plan, session_id)
    return _delete(plan, "sessions", lambda: services.delete_session(session, current_user), _("已删除场次：%(t)s", t=session.title))


def _delete(plan: DetailPlan, section: str, action: Any, message: str) -> Any:
    try:
        action()
        db.session.commit()
        flash(message, "success")
    except services.DetailPlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(_plan_url(plan.event, section))


# ---- participating bases -----------------------------------------------------------------------


def _base_row_or_404(plan: DetailPlan, row_id: int) -> DetailPlanBase:
    row = db.session.get(DetailPlanBase, row_id)
    if row is None or row.plan_id != plan.id:
        abort(404)
    return row


@bp.route("/events/<int:event_id>/plan/bases", methods=["GET", "POST"])
@require("events.host")
def detail_plan_bases(event_id: int) -> Any:
    """Participating bases: add one from the registry with its role; edit roles; remove."""
    event, plan = _host_plan(event_id)
    if (locked := _locked(plan, "bases")) is not None:
        return locked
    form = forms.BaseAddForm()
    form.set_choices(plan)
    status = 200
    if request.method == "POST":
        errors = _save(plan, form, lambda: {}, lambda: services.add_base(plan, form.base_id_value, form.role.data or "", current_user))
        if errors is None:
            flash(_("已添加参与基地"), "success")
            return redirect(url_for("events.detail_plan_bases", event_id=event.id))
        status = 422
    return render_template("events/detail/bases.html", **_labels(), event=event, plan=plan, form=form, role_forms={}), status


@bp.post("/events/<int:event_id>/plan/bases/<int:row_id>")
@require("events.host")
def detail_plan_base_edit(event_id: int, row_id: int) -> Any:
    event, plan = _host_plan(event_id)
    row = _base_row_or_404(plan, row_id)
    if (locked := _locked(plan, "bases")) is not None:
        return locked
    form = forms.BaseRoleForm(prefix=f"row{row.id}", meta={"csrf": False})  # the global CSRFProtect checked the token
    errors = _save(plan, form, lambda: {}, lambda: services.update_base_role(row, form.role.data or "", current_user))
    if errors is None:
        flash(_("已保存 %(name)s 的分工", name=row.base.display_short_name), "success")
        return redirect(url_for("events.detail_plan_bases", event_id=event.id))
    add_form = forms.BaseAddForm(formdata=None)
    add_form.set_choices(plan)
    return render_template("events/detail/bases.html", **_labels(), event=event, plan=plan, form=add_form, role_forms={row.id: form}), 422


@bp.post("/events/<int:event_id>/plan/bases/<int:row_id>/delete")
@require("events.host")
def detail_plan_base_delete(event_id: int, row_id: int) -> Any:
    event, plan = _host_plan(event_id)
    row = _base_row_or_404(plan, row_id)
    name = row.base.display_short_name
    return _delete(plan, "bases", lambda: services.remove_base(row, current_user), _("已移除参与基地：%(name)s", name=name))


# ---- technology needs --------------------------------------------------------------------------


def _need_or_404(plan: DetailPlan, need_id: int) -> TechNeed:
    need = db.session.get(TechNeed, need_id)
    if need is None or need.plan_id != plan.id:
        abort(404)
    return need


def _need_page(event: Event, plan: DetailPlan, need: TechNeed | None) -> Any:
    if (locked := _locked(plan, "needs")) is not None:
        return locked
    heading = _("编辑技术需求") if need else _("添加技术需求")
    fields = ["title", "field", "description", "expected_result", "budget_min", "budget_max", "response_deadline"]
    extra = {"date_range": (None, event.end_date)}
    if request.method == "GET":
        return _form_page(event, plan, forms.NeedForm.for_need(need), section="needs", heading=heading, fields=fields, **extra)
    form = forms.NeedForm()
    data = form.values()

    def save() -> None:
        if need is None:
            services.add_need(plan, form.values(), current_user)
        else:
            services.update_need(need, form.values(), current_user)

    errors = _save(plan, form, lambda: services.need_errors(plan, data), save)
    if errors is None:
        flash(_("技术需求已保存：%(title)s", title=data.title), "success")
        return redirect(_plan_url(event, "needs"))
    return _form_page(event, plan, form, section="needs", heading=heading, fields=fields, status=422, **extra)


@bp.route("/events/<int:event_id>/plan/needs/new", methods=["GET", "POST"])
@require("events.host")
def detail_plan_need_new(event_id: int) -> Any:
    event, plan = _host_plan(event_id)
    return _need_page(event, plan, None)


@bp.route("/events/<int:event_id>/plan/needs/<int:need_id>", methods=["GET", "POST"])
@require("events.host")
def detail_plan_need_edit(event_id: int, need_id: int) -> Any:
    event, plan = _host_plan(event_id)
    return _need_page(event, plan, _need_or_404(plan, need_id))


@bp.post("/events/<int:event_id>/plan/needs/<int:need_id>/delete")
@require("events.host")
def detail_plan_need_delete(event_id: int, need_id: int) -> Any:
    event, plan = _host_plan(event_id)
    need = _need_or_404(plan, need_id)
    return _delete(plan, "needs", lambda: services.delete_need(need, current_user), _("已删除技术需求：%(t)s", t=need.title))


# ---- shared resources --------------------------------------------------------------------------


def _resource_or_404(plan: DetailPlan, resource_id: int) -> SharedResource:
    resource = db.session.get(SharedResource, resource_id)
    if resource is None or resource.plan_id != plan.id:
        abort(404)
    return resource


def _resource_page(event: Event, plan: DetailPlan, resource: SharedResource | None) -> Any:
    if (locked := _locked(plan, "resources")) is not None:
        return locked
    heading = _("编辑开放资源") if resource else _("添加开放资源")
    fields = ["name", "kind", "description", "access_terms"]
    if request.method == "GET":
        return _form_page(event, plan, forms.ResourceForm.for_resource(resource), section="resources", heading=heading, fields=fields)
    form = forms.ResourceForm()
    data = form.values()

    def save() -> None:
        if resource is None:
            services.add_resource(plan, form.values(), current_user)
        else:
            services.update_resource(resource, form.values(), current_user)

    errors = _save(plan, form, lambda: services.resource_errors(data), save)
    if errors is None:
        flash(_("开放资源已保存：%(name)s", name=data.name), "success")
        return redirect(_plan_url(event, "resources"))
    return _form_page(event, plan, form, section="resources", heading=heading, fields=fields, status=422)


@bp.route("/events/<int:event_id>/plan/resources/new", methods=["GET", "POST"])
@require("events.host")
def detail_plan_resource_new(event_id: int) -> Any:
    event, plan = _host_plan(event_id)
    return _resource_page(event, plan, None)


@bp.route("/events/<int:event_id>/plan/resources/<int:resource_id>", methods=["GET", "POST"])
@require("events.host")
def detail_plan_resource_edit(event_id: int, resource_id: int) -> Any:
    event, plan = _host_plan(event_id)
    return _resource_page(event, plan, _resource_or_404(plan, resource_id))


@bp.post("/events/<int:event_id>/plan/resources/<int:resource_id>/delete")
@require("events.host")
def detail_plan_resource_delete(event_id: int, resource_id: int) -> Any:
    event, plan = _host_plan(event_id)
    resource = _resource_or_404(plan, resource_id)
    return _delete(plan, "resources", lambda: services.delete_resource(resource, current_user), _("已删除开放资源：%(n)s", n=resource.name))


# ---- registration settings ---------------------------------------------------------------------


@bp.route("/events/<int:event_id>/plan/registration", methods=["GET", "POST"])
@require("events.host")
def detail_plan_registration(event_id: int) -> Any:
    event, plan = _host_plan(event_id)
    if (locked := _locked(plan, "registration")) is not None:
        return locked
    heading = services.section_labels()["registration"]
    fields = ["capacity", "opens_at", "closes_at", "approval_mode"]
    extra = {"event_end": services.event_end(event)}
    if request.method == "GET":
        return _form_page(event, plan, forms.RegistrationForm.for_plan(plan), section="registration", heading=heading, fields=fields, **extra)
    form = forms.RegistrationForm()
    data = form.values()
    errors = _save(plan, form, lambda: services.registration_errors(plan, data), lambda: services.update_registration(plan, form.values(), current_user))
    if errors is None:
        flash(_("报名设置已保存"), "success")
        return redirect(_plan_url(event, "registration"))
    return _form_page(event, plan, form, section="registration", heading=heading, fields=fields, status=422, **extra)


# ---- attachments --------------------------------------------------------------------------------


@bp.route("/events/<int:event_id>/plan/attachments", methods=["GET", "POST"])
@require("events.host")
def detail_plan_attachments(event_id: int) -> Any:
    """Upload (checked by content, ≤ 20 MB), list with sizes, delete while editable."""
    event, plan = _host_plan(event_id)
    form = forms.AttachmentForm()
    status = 200
    if request.method == "POST":
        if (locked := _locked(plan, "attachments")) is not None:
            return locked
        errors = _save(plan, form, lambda: {}, lambda: services.add_attachment(plan, form.file.data, form.title.data or "", current_user))
        if errors is None:
            flash(_("附件已上传"), "success")
            return redirect(url_for("events.detail_plan_attachments", event_id=event.id))
        status = 422
    return render_template("events/detail/attachments.html", **_labels(), event=event, plan=plan, form=form, editable=services.is_editable(plan)), status


@bp.post("/events/<int:event_id>/plan/attachments/<int:attachment_id>/delete")
@require("events.host")
def detail_plan_attachment_delete(event_id: int, attachment_id: int) -> Any:
    event, plan = _host_plan(event_id)
    attachment = db.session.get(DetailPlanAttachment, attachment_id)
    if attachment is None or attachment.plan_id != plan.id:
        abort(404)
    name = attachment.file.original_name
    try:
        services.delete_attachment(attachment, current_user)
        db.session.commit()
        flash(_("已删除附件：%(name)s", name=name), "success")
    except services.DetailPlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("events.detail_plan_attachments", event_id=event.id))


@bp.get("/events/<int:event_id>/plan/files/<int:file_id>")
@require("events.private")
def detail_plan_file(event_id: int, file_id: int) -> Any:
    """Download an attachment: only the base's hosts, organisers and assessors; never public.

    Login is enforced globally; the object check (``can_view_event_private``) is the rule here,
    since three roles share it. Files listed in earlier versions stay downloadable for history.
    """
    event = _event_or_404(event_id)
    plan = services.get_detail_plan(event)
    stored = services.plan_file(plan, file_id) if plan is not None else None
    if stored is None:
        abort(404)
    return send_stored(stored)


# ---- submit, withdraw, revise -------------------------------------------------------------------


@bp.route("/events/<int:event_id>/plan/submit", methods=["GET", "POST"])
@require("events.host")
def detail_plan_submit(event_id: int) -> Any:
    """Confirmation page listing every problem (with links); POST submits a new version."""
    event, plan = _host_plan(event_id)
    if request.method == "POST":
        try:
            version = services.submit(plan, current_user)
            db.session.commit()
        except services.PlanIncompleteError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("events.detail_plan_submit", event_id=event.id))
        except services.DetailPlanError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(_plan_url(event))
        if version.late:
            flash(_("已提交第 %(n)d 版。提交时间晚于截止时间，已标记为逾期提交。", n=version.number), "warning")
        else:
            flash(_("已提交第 %(n)d 版，等待组织方审核", n=version.number), "success")
        return redirect(_plan_url(event))
    return render_template(
        "events/detail/submit.html",
        **_labels(),
        event=event,
        plan=plan,
        title=services.title_of(event),
        problems=services.validation_problems(plan),
        due=services.due_info(event),
        editable=services.is_editable(plan),
        next_number=len(plan.versions) + 1,
    )


@bp.post("/events/<int:event_id>/plan/withdraw")
@require("events.host")
def detail_plan_withdraw(event_id: int) -> Any:
    event, plan = _host_plan(event_id)
    try:
        services.withdraw(plan, current_user)
        db.session.commit()
        flash(_("已撤回提交，方案回到草稿状态，可修改后重新提交"), "success")
    except services.DetailPlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(_plan_url(event))


@bp.post("/events/<int:event_id>/plan/revise")
@require("events.host")
def detail_plan_revise(event_id: int) -> Any:
    event, plan = _host_plan(event_id)
    try:
        services.start_revision(plan, current_user)
        db.session.commit()
        flash(_("已开始修订。新版本批准前，公开页面仍显示第 %(n)d 版。", n=plan.approved_version_number or 0), "success")
    except services.DetailPlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(_plan_url(event))


# ---- versions (host, organiser, assessor) ---------------------------------------------------------


@bp.get("/events/<int:event_id>/plan/versions/<int:number>")
@require("events.private")
def detail_plan_version(event_id: int, number: int) -> Any:
    """One submitted version, rendered from its snapshot, with its decision.

    Login is enforced globally; ``can_view_event_private`` (host of the base, organiser,
    assessor) is the rule, since three roles read versions.
    """
    event = _event_or_404(event_id)
    plan = services.get_detail_plan(event) or abort(404)
    version = services.get_version(plan, number) or abort(404)
    previous = services.get_version(plan, number - 1)
    return render_template(
        "events/detail/version.html",
        **_labels(),
        event=event,
        plan=plan,
        version=version,
        snap=version.snapshot,
        diffs=services.diff_snapshots(previous.snapshot if previous else None, version.snapshot),
        previous=previous,
    )


# ---- organiser / assessor --------------------------------------------------------------------------


def _campaign_arg() -> Campaign | None:
    campaign_id = request.args.get("campaign_id", type=int)
    if campaign_id:
        return db.session.get(Campaign, campaign_id) or abort(404)
    return services.default_campaign()


@bp.get("/events/plans")
@require("events.view")
def detail_plans() -> str:
    """Every theme day of a campaign with its plan's state, due time, lateness and last submission."""
    campaign = _campaign_arg()
    filters = services.ListFilters.from_args(request.args)
    pagination = (
        db.paginate(services.list_query(campaign, filters), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
        if campaign
        else None
    )
    rows = []
    for event in pagination.items if pagination else []:
        plan = services.get_detail_plan(event)
        rows.append({"event": event, "plan": plan, "due": services.due_info(event), "latest": services.latest_version(plan) if plan else None})
    return render_template(
        "events/detail/list.html",
        **_labels(),
        campaign=campaign,
        campaigns=campaigns.list_campaigns(include_drafts=True),
        filters=filters,
        pagination=pagination,
        rows=rows,
        counts=services.status_counts(campaign) if campaign else {},
    )


@bp.get("/events/<int:event_id>/plan/review")
@require("events.view")
def review_detail_plan(event_id: int) -> Any:
    """The latest submitted version with a per-section diff, the history, and the decision forms."""
    event = _event_or_404(event_id)
    plan = services.get_detail_plan(event)
    latest = services.latest_version(plan) if plan else None
    previous = services.get_version(plan, latest.number - 1) if plan and latest else None
    can_decide = bool(plan and latest and has_permission(current_user, "events.manage") and plan.status == "submitted")
    form = forms.DecisionForm(data={"version": latest.number if latest else ""})
    return render_template(
        "events/detail/review.html",
        **_labels(),
        event=event,
        plan=plan,
        latest=latest,
        previous=previous,
        snap=latest.snapshot if latest else None,
        diffs=services.diff_snapshots(previous.snapshot if previous else None, latest.snapshot) if latest else [],
        due=services.due_info(event),
        can_decide=can_decide,
        form=form,
        publication=content.publication(event),
    )


def _decide(event_id: int, approve: bool) -> Any:
    event = _event_or_404(event_id)
    plan = services.get_detail_plan(event) or abort(404)
    form = forms.DecisionForm()
    form.validate()
    if not form.confirm.data:
        flash(_("请勾选确认后再提交审核决定"), "error")
        return redirect(url_for("events.review_detail_plan", event_id=event.id) + "#decision")
    try:
        if approve:
            version = services.approve(plan, form.version_number, current_user, form.comment.data or "")
            message = _("已批准第 %(n)d 版，公开页面将显示该版本", n=version.number)
        else:
            version = services.request_changes(plan, form.version_number, form.comment.data or "", current_user)
            message = _("已退回第 %(n)d 版，请承办基地修改", n=version.number)
        db.session.commit()
    except services.DetailPlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("events.review_detail_plan", event_id=event.id) + "#decision")
    flash(message, "success")
    return redirect(url_for("events.review_detail_plan", event_id=event.id))


@bp.post("/events/<int:event_id>/plan/review/approve")
@require("events.manage")
def approve_detail_plan(event_id: int) -> Any:
    return _decide(event_id, approve=True)


@bp.post("/events/<int:event_id>/plan/review/request-changes")
@require("events.manage")
def request_detail_plan_changes(event_id: int) -> Any:
    return _decide(event_id, approve=False)
