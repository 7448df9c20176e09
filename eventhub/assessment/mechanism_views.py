"""The host's lasting-mechanism pages (合作机制) and the follow-up answers.

* ``/events/<id>/mechanisms`` and its new / edit / delete pages: ``assessment.record`` (hosts and
  organisers) plus ``can_manage_event`` — another host's event or mechanism answers 404. The list
  shows every member and, per wave, who answered what (the host sees the answers of its own
  mechanisms: the point is that they come from the members, not that they are secret).
* ``/assessment/mechanisms`` (every event's figures) and ``/assessment/events/<id>/mechanisms``
  (one event, read only): ``assessment.review`` (organisers and assessors).

Views parse and render; every rule is in :mod:`eventhub.assessment.mechanisms`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from eventhub.assessment import bp
from eventhub.assessment import mechanisms as svc
from eventhub.assessment.mechanism_forms import ConfirmForm, MechanismForm
from eventhub.assessment.models import Mechanism
from eventhub.core.permissions import can_manage_event, require
from eventhub.events.models import Event
from eventhub.extensions import db

PER_PAGE = 20


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_manage_event(current_user, event):
        abort(404)
    return event


def _mechanism_or_404(event: Event, mechanism_id: int) -> Mechanism:
    mechanism = svc.get_mechanism(event, mechanism_id)
    if mechanism is None:
        abort(404)
    return mechanism


def _list_context(event: Event) -> dict[str, Any]:
    query = select(Mechanism).where(Mechanism.event_id == event.id).order_by(Mechanism.formed_on, Mechanism.id)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    mechanisms = list(page.items)
    checks = svc.checks_by_member(mechanisms)
    return {
        "event": event,
        "page": page,
        "mechanisms": mechanisms,
        "checks": checks,
        "statuses": {m.id: svc.mechanism_statuses(m, checks) for m in mechanisms},
        "locked": {m.id for m in mechanisms if any((member.id, w) in checks for member in m.members for w in svc.WAVES)},
        "figures": svc.mechanism_figures(event),
        "waves": svc.WAVES,
        "wave_days": {w: svc.wave_day(event, w) for w in svc.WAVES},
        "kind_labels": svc.kind_labels(),
    }


@bp.get("/events/<int:event_id>/mechanisms")
@require("assessment.record")
def mechanisms(event_id: int) -> str:
    """The event's mechanisms with members and each wave's answers; add / edit / delete."""
    event = _event_or_404(event_id)
    return render_template("assessment/mechanisms/list.html", manage=True, **_list_context(event))


def _form(mechanism: Mechanism | None) -> MechanismForm:
    if request.method == "POST":
        form = MechanismForm()
    elif mechanism is not None:
        locked = svc.is_locked(mechanism)
        form = MechanismForm(
            data={
                "name": mechanism.name,
                "kind": mechanism.kind,
                "formed_on": mechanism.formed_on.isoformat(),
                "description": mechanism.description,
                "members": "" if locked else svc.members_text(mechanism),
            }
        )
    else:
        form = MechanismForm()
    form.set_choices(svc.kind_labels())
    return form


def _save_page(event: Event, mechanism: Mechanism | None) -> Any:
    form = _form(mechanism)
    locked = svc.is_locked(mechanism)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            saved = svc.save_mechanism(event, form.values(), current_user, mechanism)
        except svc.MechanismError as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                if name in form:
                    form[name].errors = [*(form[name].errors or []), message]
                else:
                    flash(message, "danger")
            status = 400
        else:
            db.session.commit()
            flash(_("合作机制“%(name)s”已保存。", name=saved.name), "success")
            return redirect(url_for("assessment.mechanisms", event_id=event.id) + f"#mechanism-{saved.id}")
    elif request.method == "POST":
        status = 400
    if mechanism is not None:
        db.session.refresh(mechanism)  # after a refused save: show the members as they are stored
    return render_template("assessment/mechanisms/form.html", event=event, mechanism=mechanism, form=form, locked=locked, svc=svc), status


@bp.route("/events/<int:event_id>/mechanisms/new", methods=["GET", "POST"])
@require("assessment.record")
def mechanism_new(event_id: int) -> Any:
    return _save_page(_event_or_404(event_id), None)


@bp.route("/events/<int:event_id>/mechanisms/<int:mechanism_id>/edit", methods=["GET", "POST"])
@require("assessment.record")
def mechanism_edit(event_id: int, mechanism_id: int) -> Any:
    event = _event_or_404(event_id)
    return _save_page(event, _mechanism_or_404(event, mechanism_id))


@bp.route("/events/<int:event_id>/mechanisms/<int:mechanism_id>/delete", methods=["GET", "POST"])
@require("assessment.record")
def mechanism_delete(event_id: int, mechanism_id: int) -> Any:
    """Delete after confirmation; refused once a follow-up was sent (the answers are evidence)."""
    event = _event_or_404(event_id)
    mechanism = _mechanism_or_404(event, mechanism_id)
    form = ConfirmForm()
    locked = svc.is_locked(mechanism)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("请先勾选确认。")]
            status = 400
        else:
            try:
                svc.delete_mechanism(mechanism, current_user)
            except svc.MechanismError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
                return redirect(url_for("assessment.mechanisms", event_id=event.id))
            db.session.commit()
            flash(_("合作机制已删除。"), "info")
            return redirect(url_for("assessment.mechanisms", event_id=event.id))
    elif request.method == "POST":
        status = 400
    return render_template("assessment/mechanisms/delete.html", event=event, mechanism=mechanism, form=form, locked=locked), status


@bp.get("/assessment/mechanisms")
@require("assessment.review")
def mechanisms_review() -> str:
    """Every event with mechanisms: counts and the share still active at 3 and 6 months."""
    counts = select(Mechanism.event_id, func.count(Mechanism.id).label("n")).group_by(Mechanism.event_id).subquery()
    query = select(Event).join(counts, counts.c.event_id == Event.id).order_by(Event.start_date.desc(), Event.id)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    rows = [(event, svc.mechanism_figures(event)) for event in page.items]
    return render_template("assessment/mechanisms/review.html", page=page, rows=rows, waves=svc.WAVES)


@bp.get("/assessment/events/<int:event_id>/mechanisms")
@require("assessment.review")
def mechanisms_review_event(event_id: int) -> str:
    """One event's mechanisms, members and answers, read only."""
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return render_template("assessment/mechanisms/list.html", manage=False, **_list_context(event))
