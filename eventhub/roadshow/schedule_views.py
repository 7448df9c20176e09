"""The host's schedule pages: sessions and panels, draft, automatic placement, hand edits, publish, run sheets.

Every page is ``roadshow.manage`` (hosts and organisers) plus ``can_manage_event``; another host's
event, session or panel member answers 404. Views parse and render; every rule is in
:mod:`eventhub.roadshow.schedule`. The edit form works without JavaScript (the server refuses hard
conflicts and says why); ``static/js/roadshow_schedule.js`` asks ``schedule/check`` first and shows
the conflicts before anything is saved.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eventhub.core.permissions import can_manage_event, require
from eventhub.core.timeutil import to_shanghai
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.roadshow import bp, calls, scheduling
from eventhub.roadshow import schedule as svc
from eventhub.roadshow.models import PANEL_ROLE_LABELS, PanelMember, PanelRole, ProjectApplication, RoadshowSession, ScheduleStatus
from eventhub.roadshow.schedule_forms import ActionForm, ConfirmForm, EditForm, PanelForm, SessionForm

VERSION_LABELS = {ScheduleStatus.DRAFT.value: "草稿", ScheduleStatus.PUBLISHED.value: "已发布", ScheduleStatus.SUPERSEDED.value: "已被取代"}


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    return event


def _session_or_404(event: Event, session_id: int) -> RoadshowSession:
    session = svc.get_session(event, session_id)
    if session is None:
        abort(404)
    return session


def _application_or_404(event: Event, application_id: Any) -> ProjectApplication:
    try:
        application = db.session.get(ProjectApplication, int(application_id))
    except (TypeError, ValueError):
        application = None
    if application is None or application.event_id != event.id:
        abort(404)
    return application


def _slot_label(slot: scheduling.Slot, sessions: dict[int, RoadshowSession]) -> str:
    session = sessions.get(int(slot.session_id))
    where = (session.room or _("线上")) if session is not None else ""
    return f"{to_shanghai(slot.start):%m-%d %H:%M} · {where} · {session.title if session else ''}"


def _conflict_json(conflicts: list[scheduling.Conflict], names: dict[int, str]) -> list[dict[str, Any]]:
    return [
        {"code": c.code, "level": c.level, "message": c.message, "projects": [names.get(p, str(p)) for p in c.projects if isinstance(p, int)]}
        for c in conflicts
    ]


# ---- the schedule page --------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/roadshow/schedule")
@require("roadshow.manage")
def schedule(event_id: int) -> str:
    """Sessions with panels, the draft grid per day and room, the unplaced list, auto-schedule, edit, publish."""
    event = _event_or_404(event_id)
    sessions = svc.sessions_of(event)
    by_id = {s.id: s for s in sessions}
    draft = svc.get_draft(event)
    published = svc.current_published(event)
    shown = draft or published
    applications = svc.shortlisted(event)
    names = {a.id: a.project_name for a in applications}
    placed_ids = {p.application_id for p in shown.placements} if shown is not None else set()
    report = (shown.report or {}) if shown is not None else {}
    unplaced = [(a, report.get("unplaced", {}).get(str(a.id))) for a in applications if a.id not in placed_ids]
    days: dict[Any, list[tuple[RoadshowSession, list[svc.SlotRow], list[Any]]]] = defaultdict(list)
    for session in sessions:
        days[session.day].append((session, svc.session_rows(session, shown), svc.stale_placements(session, shown)))
    ctx = svc.edit_context(event)
    conflicts = [c for c in scheduling.check(ctx.placements, ctx.slots, ctx.projects)] if shown is not None else []
    occupant = {slot_id: app_id for app_id, slot_id in ctx.placements.items()}
    edit_form = EditForm()
    edit_form.application_id.choices = [(str(a.id), f"{a.project_name}（{a.org_name}）") for a in applications]
    edit_form.slot_id.choices = [("", _("移出日程"))] + [
        (str(s.id), _slot_label(s, by_id) + (f" · {names.get(occupant[s.id], '')}" if s.id in occupant else f" · {_('空')}")) for s in ctx.slots
    ]
    chosen = request.args.get("project", type=int)
    if chosen in names:
        edit_form.application_id.data = str(chosen)
    return render_template(
        "roadshow/schedule/index.html",
        event=event,
        sessions=sessions,
        days=sorted(days.items()),
        draft=draft,
        published=published,
        shown=shown,
        report=report,
        unplaced=unplaced,
        applications=applications,
        conflicts=[c for c in conflicts if c.level == scheduling.ERROR],
        names=names,
        overlaps=svc.panel_overlaps(event, sessions),
        call=calls.get_call(event),
        edit_form=edit_form,
        action_form=ActionForm(),
        role_labels=PANEL_ROLE_LABELS,
        version_labels=VERSION_LABELS,
    )


@bp.post("/events/<int:event_id>/roadshow/schedule/auto")
@require("roadshow.manage")
def schedule_auto(event_id: int) -> Any:
    """Run the solver on the draft (pinned projects stay)."""
    event = _event_or_404(event_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not svc.sessions_of(event):
        flash(_("请先添加路演场次。"), "warning")
        return redirect(url_for("roadshow.schedule", event_id=event.id))
    result = svc.auto_schedule(event, current_user)
    db.session.commit()
    if result.unplaced:
        flash(_("已自动排期：安排 %(placed)d 个项目，%(left)d 个未能安排（原因见下方）。", placed=result.placed, left=len(result.unplaced)), "warning")
    else:
        flash(_("已自动排期：%(placed)d 个项目全部安排。", placed=result.placed), "success")
    return redirect(url_for("roadshow.schedule", event_id=event.id))


@bp.get("/events/<int:event_id>/roadshow/schedule/check")
@require("roadshow.manage")
def schedule_check(event_id: int) -> Any:
    """JSON: what moving ``application_id`` to ``slot_id`` would do (move, swap or remove) and its conflicts. Saves nothing."""
    event = _event_or_404(event_id)
    application = _application_or_404(event, request.args.get("application_id"))
    slot_id = request.args.get("slot_id", "")
    ctx = svc.edit_context(event)
    names = {a.id: a.project_name for a in svc.shortlisted(event)}
    if slot_id and slot_id not in ctx.slot_by_id:
        return jsonify({"error": _("所选时段不存在。")}), 400
    other = next((a for a, s in ctx.placements.items() if s == slot_id and a != application.id), None) if slot_id else None
    if other is not None:
        conflicts, action = svc.preview_swap(ctx, application.id, other), "swap"
    else:
        conflicts, action = svc.preview_move(ctx, application.id, slot_id or None), "remove" if not slot_id else "move"
    return jsonify(
        {
            "action": action,
            "with": names.get(other) if other is not None else None,
            "ok": not svc.errors_of(conflicts),
            "conflicts": _conflict_json(conflicts, names),
        }
    )


@bp.post("/events/<int:event_id>/roadshow/schedule/edit")
@require("roadshow.manage")
def schedule_edit(event_id: int) -> Any:
    """Move a project into a free slot, swap it with the project in an occupied one, or take it out."""
    event = _event_or_404(event_id)
    form = EditForm()
    if not form.validate_on_submit():
        abort(400)
    application = _application_or_404(event, form.application_id.data)
    slot_id = form.slot_id.data or ""
    ctx = svc.edit_context(event)
    other_id = next((a for a, s in ctx.placements.items() if s == slot_id and a != application.id), None) if slot_id else None
    try:
        if other_id is not None:
            other = _application_or_404(event, other_id)
            warnings = svc.swap_placements(event, application, other, current_user)
            message = _("已交换“%(a)s”与“%(b)s”的时段。", a=application.project_name, b=other.project_name)
        else:
            warnings = svc.move_placement(event, application, slot_id or None, current_user)
            message = _("已将“%(a)s”移出日程。", a=application.project_name) if not slot_id else _("已调整“%(a)s”的时段。", a=application.project_name)
    except svc.ScheduleError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("roadshow.schedule", event_id=event.id, project=application.id) + "#edit")
    db.session.commit()
    flash(message, "success")
    for w in warnings:
        flash(_("提醒：%(msg)s", msg=w.message), "warning")
    return redirect(url_for("roadshow.schedule", event_id=event.id) + "#grid")


@bp.post("/events/<int:event_id>/roadshow/schedule/unpin")
@require("roadshow.manage")
def schedule_unpin(event_id: int) -> Any:
    """Unpin every placement of the draft, so the next automatic run may move them."""
    event = _event_or_404(event_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    count = svc.unpin_all(event, current_user)
    db.session.commit()
    flash(_("已解除 %(n)d 个项目的固定。", n=count), "info")
    return redirect(url_for("roadshow.schedule", event_id=event.id))


@bp.route("/events/<int:event_id>/roadshow/schedule/publish", methods=["GET", "POST"])
@require("roadshow.manage")
def schedule_publish(event_id: int) -> Any:
    """Confirm, then publish the draft: who will be notified is listed first."""
    event = _event_or_404(event_id)
    draft = svc.get_draft(event)
    if draft is None:
        flash(_("没有待发布的草稿。"), "info")
        return redirect(url_for("roadshow.schedule", event_id=event.id))
    form = ConfirmForm()
    ctx = svc.edit_context(event)
    hard = svc.errors_of(scheduling.check(ctx.placements, ctx.slots, ctx.projects))
    if request.method == "POST" and form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("请先勾选确认。")]
        else:
            try:
                outcome = svc.publish(event, draft, current_user)
            except svc.ScheduleError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
                return redirect(url_for("roadshow.schedule", event_id=event.id))
            db.session.commit()
            flash(
                _(
                    "日程第 %(n)d 版已发布：%(changed)d 个项目有新安排，%(removed)d 个被取消，已发送 %(mails)d 封通知邮件。",
                    n=outcome.version.number,
                    changed=outcome.changed,
                    removed=outcome.removed,
                    mails=outcome.mails,
                ),
                "success",
            )
            return redirect(url_for("roadshow.schedule", event_id=event.id))
    plan = svc.plan_publication(event, draft)
    return render_template(
        "roadshow/schedule/publish.html",
        event=event,
        draft=draft,
        plan=plan,
        form=form,
        hard=hard,
        names={a.id: a.project_name for a in svc.shortlisted(event)},
        presenter_emails=svc.presenter_emails,
        role_labels=PANEL_ROLE_LABELS,
    )


@bp.get("/events/<int:event_id>/roadshow/schedule/versions")
@require("roadshow.manage")
def schedule_versions(event_id: int) -> str:
    """Version history: draft, published, superseded, with what each publication changed."""
    event = _event_or_404(event_id)
    page = db.paginate(
        db.select(svc.ScheduleVersion).where(svc.ScheduleVersion.event_id == event.id).order_by(svc.ScheduleVersion.number.desc()),
        page=request.args.get("page", 1, type=int),
        per_page=20,
        error_out=False,
    )
    return render_template("roadshow/schedule/versions.html", event=event, pagination=page, version_labels=VERSION_LABELS)


# ---- sessions -----------------------------------------------------------------------------------


def _session_form(event: Event, session: RoadshowSession | None) -> SessionForm:
    if request.method == "POST":
        form = SessionForm()
    elif session is not None:
        data = {name: getattr(session, name) for name in svc.SESSION_FIELDS}
        data.update(
            day=session.day.isoformat(),
            start_time=session.start_time.strftime("%H:%M"),
            end_time=session.end_time.strftime("%H:%M"),
            slot_minutes=str(session.slot_minutes),
            breaks=svc.breaks_text(session.breaks),
            event_session_id=str(session.event_session_id or ""),
        )
        form = SessionForm(data=data)
    else:
        form = SessionForm(data={"slot_minutes": "15", "day": event.start_date.isoformat()})
    tracks = svc.track_choices(event)
    if session is not None and session.track and session.track not in tracks:
        tracks.append(session.track)
    form.set_choices(calls.event_days(event), tracks, svc.agenda_sessions(event))
    return form


def _save_session_page(event: Event, session: RoadshowSession | None) -> Any:
    form = _session_form(event, session)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            saved = svc.save_session(event, form.values(), current_user, session)
        except svc.ScheduleError as exc:
            for name, message in exc.errors.items():
                if name in form:
                    form[name].errors = [*(form[name].errors or []), message]
            status = 400
        else:
            db.session.commit()
            flash(_("场次“%(title)s”已保存。", title=saved.title), "success")
            return redirect(url_for("roadshow.schedule", event_id=event.id) + "#sessions")
    elif request.method == "POST":
        status = 400
    return render_template("roadshow/schedule/session_form.html", event=event, session=session, form=form), status


@bp.route("/events/<int:event_id>/roadshow/sessions/new", methods=["GET", "POST"])
@require("roadshow.manage")
def session_new(event_id: int) -> Any:
    return _save_session_page(_event_or_404(event_id), None)


@bp.route("/events/<int:event_id>/roadshow/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@require("roadshow.manage")
def session_edit(event_id: int, session_id: int) -> Any:
    event = _event_or_404(event_id)
    return _save_session_page(event, _session_or_404(event, session_id))


@bp.route("/events/<int:event_id>/roadshow/sessions/<int:session_id>/delete", methods=["GET", "POST"])
@require("roadshow.manage")
def session_delete(event_id: int, session_id: int) -> Any:
    """Delete a session after confirmation (refused while the published schedule uses it)."""
    event = _event_or_404(event_id)
    session = _session_or_404(event, session_id)
    form = ConfirmForm()
    draft = svc.get_draft(event)
    in_draft = [p for p in draft.placements if p.session_id == session.id] if draft is not None else []
    if request.method == "POST" and form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("请先勾选确认。")]
        else:
            try:
                svc.delete_session(event, session, current_user)
            except svc.ScheduleError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
                return redirect(url_for("roadshow.schedule", event_id=event.id) + "#sessions")
            db.session.commit()
            flash(_("场次已删除。"), "info")
            return redirect(url_for("roadshow.schedule", event_id=event.id) + "#sessions")
    return render_template(
        "roadshow/schedule/session_delete.html", event=event, session=session, form=form, in_draft=in_draft, can_delete=svc.can_delete_session(event, session)
    )


@bp.route("/events/<int:event_id>/roadshow/sessions/<int:session_id>/panel", methods=["GET", "POST"])
@require("roadshow.manage")
def session_panel(event_id: int, session_id: int) -> Any:
    """评审团: judges (experts) and investors of a session, added by their account's e-mail."""
    event = _event_or_404(event_id)
    session = _session_or_404(event, session_id)
    form = PanelForm()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            svc.add_panel_member(session, svc.find_user(form.email.data or ""), form.role.data or PanelRole.JUDGE.value, current_user)
        except svc.ScheduleError as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                form._fields.get(name, form.email).errors = [message]
            status = 400
        else:
            db.session.commit()
            flash(_("已添加。"), "success")
            return redirect(url_for("roadshow.session_panel", event_id=event.id, session_id=session.id))
    overlaps = [o for o in svc.panel_overlaps(event) if session.id in (o.first.id, o.second.id)]
    return render_template(
        "roadshow/schedule/panel.html", event=event, session=session, form=form, remove_form=ActionForm(), overlaps=overlaps, role_labels=PANEL_ROLE_LABELS
    ), status


@bp.post("/events/<int:event_id>/roadshow/sessions/<int:session_id>/panel/<int:member_id>/remove")
@require("roadshow.manage")
def session_panel_remove(event_id: int, session_id: int, member_id: int) -> Any:
    event = _event_or_404(event_id)
    session = _session_or_404(event, session_id)
    member = db.session.get(PanelMember, member_id)
    if member is None or member.session_id != session.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    svc.remove_panel_member(member, current_user)
    db.session.commit()
    flash(_("已从评审团移除。"), "info")
    return redirect(url_for("roadshow.session_panel", event_id=event.id, session_id=session.id))


@bp.get("/events/<int:event_id>/roadshow/sessions/<int:session_id>/run-sheet")
@require("roadshow.manage")
def run_sheet(event_id: int, session_id: int) -> str:
    """The chair's printable run sheet: slot, project, presenters with full mobile numbers.

    The published version by default; ``?version=draft`` prints the draft (marked as such).
    """
    event = _event_or_404(event_id)
    session = _session_or_404(event, session_id)
    want_draft = request.args.get("version") == "draft"
    version = svc.get_draft(event) if want_draft else svc.current_published(event)
    return render_template(
        "roadshow/schedule/run_sheet.html",
        event=event,
        session=session,
        version=version,
        want_draft=want_draft,
        rows=svc.session_rows(session, version),
        role_labels=PANEL_ROLE_LABELS,
    )
