"""The organiser's check-in pages: staff and gates, API tokens, signing keys, the live dashboard and attendance export.

Who sees what:

* staff, gates and signing keys (``/events/<id>/checkin/staff|keys``): organisers only
  (``checkin.manage``) — assigning people to doors and revoking keys is the organiser's call;
* API tokens (``/checkin/tokens``): every check-in user and organiser for their *own* tokens;
  organisers also see and revoke everybody's (here and on the staff page); someone else's
  token answers 404;
* the live dashboard and the attendance export (``/events/<id>/checkin/dashboard``,
  ``…/attendance.xlsx``): organisers and the event's own host (``registration.manage`` +
  ``can_manage_event``; another host gets 404). Check-in staff do not: their scanner page tells
  them what they need at the door, and the dashboard lists names and organisations of everyone
  scanned at every gate.

Thin: parse, call :mod:`eventhub.checkin.services` / :mod:`eventhub.registration.tickets` /
:mod:`eventhub.checkin.dashboard`, commit, render.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, jsonify, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.checkin import bp, dashboard
from eventhub.checkin import services as checkin
from eventhub.checkin.manage_forms import WHOLE_EVENT, AssignStaffForm, ConfirmForm, RevokeKeyForm, TokenForm
from eventhub.checkin.models import ApiToken, CheckinList, CheckinStaff
from eventhub.core import audit
from eventhub.core.permissions import ROLE_LABELS, Role, can_manage_event, has_permission, require
from eventhub.core.timeutil import SHANGHAI
from eventhub.events.models import Event, EventSession
from eventhub.extensions import db
from eventhub.plans.calls import CallError
from eventhub.registration import tickets
from eventhub.registration.models import EventKey, Ticket

TOKENS_PER_PAGE = 25

_organiser = require("checkin.manage")
_event_manager = require("registration.manage")  # organisers and hosts; hosts only their own events (404 below)


# ---- helpers -----------------------------------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return event


def _managed_event_or_404(event_id: int) -> Event:
    event = _event_or_404(event_id)
    if not can_manage_event(current_user, event):
        abort(404)
    return event


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _sessions(event: Event) -> list[EventSession]:
    return list(db.session.scalars(select(EventSession).where(EventSession.event_id == event.id).order_by(EventSession.day, EventSession.start_time)))


def _candidates() -> list[User]:
    """Who may be assigned: active check-in users first, then organisers, by name."""
    users = db.session.scalars(select(User).where(User.active.is_(True), User.role.in_([Role.CHECKIN.value, Role.ORGANISER.value])).order_by(User.name))
    return sorted(users, key=lambda u: (u.role != Role.CHECKIN.value, u.name))


def _user_label(user: User) -> str:
    return f"{user.name}（{user.email}）· {ROLE_LABELS[Role(user.role)]}"


def _fill_choices(form: AssignStaffForm, event: Event, candidates: list[User]) -> None:
    form.user_id.choices = [("", _("请选择…"))] + [(str(u.id), _user_label(u)) for u in candidates]
    form.list_choice.choices = [(WHOLE_EVENT, _("全场签到（整个活动）"))] + [
        (f"s{s.id}", _("场次：%(title)s（%(day)s %(start)s）", title=s.title, day=s.day.strftime("%m-%d"), start=s.start_time.strftime("%H:%M")))
        for s in _sessions(event)
    ]


def _chosen_list(event: Event, choice: str) -> CheckinList | None:
    """The list a form choice names: None for the whole event, else the session's list (created once)."""
    if not choice or choice == WHOLE_EVENT:
        return None
    if not choice.startswith("s") or not choice[1:].isdigit():
        raise checkin.CheckinError(_("请选择有效的签到清单。"), field="list")
    return checkin.session_list(event, int(choice[1:]))


def _staff_rows(event: Event) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(CheckinStaff, User).join(User, User.id == CheckinStaff.user_id).where(CheckinStaff.event_id == event.id).order_by(User.name)
    ).all()
    lists = {lst.id: lst for lst in checkin.event_lists(event)}
    return [{"assignment": a, "user": u, "list_name": dashboard.list_name(lists.get(a.list_id) if a.list_id else None)} for a, u in rows]


def _tokens_of(user_ids: list[int]) -> list[tuple[ApiToken, User]]:
    if not user_ids:
        return []
    return list(
        db.session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.user_id.in_(user_ids)).order_by(User.name, ApiToken.created_at.desc())
        ).all()
    )


# ---- staff and gates ---------------------------------------------------------------------------


@bp.route("/events/<int:event_id>/checkin/staff", methods=["GET", "POST"])
@_organiser
def manage_staff(event_id: int) -> Any:
    """签到人员: assign check-in users to the event (optionally a session's list and a gate), see their tokens."""
    event = _event_or_404(event_id)
    candidates = _candidates()
    form = AssignStaffForm()
    _fill_choices(form, event, candidates)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            user = db.session.get(User, int(form.user_id.data)) if str(form.user_id.data).isdigit() else None
            try:
                if user is None:
                    raise checkin.CheckinError(_("请选择签到人员。"), field="user")
                again = checkin.is_staff(user, event)
                checkin.assign_staff(
                    event, user, list=_chosen_list(event, form.list_choice.data or ""), gate=form.gate.data or "", actor=current_user._get_current_object()
                )
            except CallError as exc:
                db.session.rollback()
                target = form.list_choice if getattr(exc, "field", "") == "list" else form.user_id
                target.errors = [*target.errors, str(exc)]
                status = 400
            else:
                db.session.commit()
                flash(_("已更新 %(name)s 的签到分配。", name=user.name) if again else _("已将 %(name)s 分配为本活动签到人员。", name=user.name), "success")
                return redirect(url_for("checkin.manage_staff", event_id=event.id))
        else:
            status = 400
    staff = _staff_rows(event)
    return render_template(
        "checkin/manage/staff.html",
        event=event,
        form=form,
        staff=staff,
        tokens=_tokens_of([row["user"].id for row in staff]),
        has_checkin_users=any(u.role == Role.CHECKIN.value for u in candidates),
        can_invite=has_permission(current_user, "users.manage"),
    ), status


@bp.route("/events/<int:event_id>/checkin/staff/<int:user_id>/remove", methods=["GET", "POST"])
@_organiser
def remove_staff(event_id: int, user_id: int) -> Any:
    """Confirm, then remove a staff member from the event (their past check-ins stay)."""
    event = _event_or_404(event_id)
    user = db.session.get(User, user_id)
    assignment = checkin.staff_assignment(user, event) if user is not None else None
    if assignment is None:
        abort(404)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("请先勾选确认框。")]
        else:
            checkin.unassign(event, user, actor=current_user._get_current_object())
            db.session.commit()
            flash(_("已将 %(name)s 移出本活动的签到人员。", name=user.name), "success")
            return redirect(url_for("checkin.manage_staff", event_id=event.id))
    return render_template("checkin/manage/confirm_remove.html", event=event, user=user, form=form)


# ---- API tokens --------------------------------------------------------------------------------


@bp.route("/checkin/tokens", methods=["GET", "POST"])
@require("checkin.scan")
def tokens() -> Any:
    """My API tokens for scanner devices (create: shown once); organisers also see everyone's."""
    me = current_user._get_current_object()
    form = TokenForm()
    new_token = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            new_token = checkin.create_token(me, form.name.data or "", actor=me)
            db.session.commit()
            form = TokenForm(formdata=None)
        else:
            status = 400
    mine = list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == me.id).order_by(ApiToken.created_at.desc())))
    everyone = None
    if has_permission(me, "checkin.manage"):
        everyone = db.paginate(
            select(ApiToken).where(ApiToken.user_id != me.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc()),
            page=request.args.get("page", 1, type=int),
            per_page=TOKENS_PER_PAGE,
            error_out=False,
        )
    owners = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({t.user_id for t in everyone.items})))} if everyone else {}
    page = render_template("checkin/manage/tokens.html", form=form, new_token=new_token, mine=mine, everyone=everyone, owners=owners)
    return _no_store(make_response(page, status))


@bp.route("/checkin/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@require("checkin.scan")
def revoke_token(token_id: int) -> Any:
    """Confirm, then revoke a token (one's own; organisers any). ``event_id`` brings the organiser back to a staff page."""
    token = db.session.get(ApiToken, token_id)
    me = current_user._get_current_object()
    if token is None or (token.user_id != me.id and not has_permission(me, "checkin.manage")):
        abort(404)
    back_event = request.args.get("event_id", type=int)
    back = url_for("checkin.manage_staff", event_id=back_event) if back_event and has_permission(me, "checkin.manage") else url_for("checkin.tokens")
    owner = db.session.get(User, token.user_id)
    form = ConfirmForm()
    if token.revoked_at is not None:
        flash(_("该令牌已吊销。"), "info")
        return redirect(back)
    if request.method == "POST" and form.validate_on_submit():
        if not form.confirm.data:
            form.confirm.errors = [_("请先勾选确认框。")]
        else:
            checkin.revoke_token(token, actor=me)
            db.session.commit()
            flash(_("令牌“%(name)s”已吊销，使用它的设备将无法再签到。", name=token.name or token.id), "success")
            return redirect(back)
    return render_template("checkin/manage/confirm_revoke_token.html", token=token, owner=owner, form=form, back=back)


# ---- signing keys ------------------------------------------------------------------------------


@bp.get("/events/<int:event_id>/checkin/keys")
@_organiser
def keys(event_id: int) -> Any:
    """票据签名密钥: kid, status, created, tickets signed; rotate; revoke (strong confirmation)."""
    event = _event_or_404(event_id)
    rows = list(db.session.scalars(select(EventKey).where(EventKey.event_id == event.id).order_by(EventKey.created_at.desc(), EventKey.id.desc())))
    counts = {
        kid: (int(total), int(valid or 0))
        for kid, total, valid in db.session.execute(
            select(Ticket.kid, func.count(), func.count(Ticket.id).filter(Ticket.revoked_at.is_(None))).where(Ticket.event_id == event.id).group_by(Ticket.kid)
        ).all()
    }
    return render_template("checkin/manage/keys.html", event=event, keys=rows, counts=counts, form=ConfirmForm())


@bp.post("/events/<int:event_id>/checkin/keys/rotate")
@_organiser
def rotate_key(event_id: int) -> Any:
    """Retire the active key and create a new one; tickets already issued stay valid."""
    event = _event_or_404(event_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("页面已过期，请刷新后重试。"), "danger")
        return redirect(url_for("checkin.keys", event_id=event.id))
    new = tickets.rotate_key(event, current_user._get_current_object())
    db.session.commit()
    flash(_("已启用新密钥 %(kid)s；旧密钥签发的电子票仍然有效。", kid=new.kid), "success")
    return redirect(url_for("checkin.keys", event_id=event.id))


@bp.route("/events/<int:event_id>/checkin/keys/<int:key_id>/revoke", methods=["GET", "POST"])
@_organiser
def revoke_key(event_id: int, key_id: int) -> Any:
    """Confirm (type the kid and tick), then revoke a key: every ticket it signed becomes invalid."""
    event = _event_or_404(event_id)
    key = db.session.get(EventKey, key_id)
    if key is None or key.event_id != event.id:
        abort(404)
    if key.status == tickets.KeyStatus.REVOKED.value:
        flash(_("该密钥已吊销。"), "info")
        return redirect(url_for("checkin.keys", event_id=event.id))
    affected = (
        db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.event_id == event.id, Ticket.kid == key.kid, Ticket.revoked_at.is_(None))) or 0
    )
    form = RevokeKeyForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and (form.kid.data or "").strip().upper() == key.kid and form.confirm.data:
            revoked = tickets.revoke_key(key, current_user._get_current_object())
            db.session.commit()
            flash(_("密钥 %(kid)s 已吊销，%(n)d 张电子票已作废。", kid=key.kid, n=len(revoked)), "success")
            return redirect(url_for("checkin.keys", event_id=event.id))
        if (form.kid.data or "").strip().upper() != key.kid:
            form.kid.errors = [*form.kid.errors, _("输入的密钥编号与 %(kid)s 不一致。", kid=key.kid)]
        if not form.confirm.data:
            form.confirm.errors = [_("请先勾选确认框。")]
        status = 400
    return render_template("checkin/manage/confirm_revoke_key.html", event=event, key=key, affected=affected, form=form), status


# ---- live dashboard and attendance -------------------------------------------------------------


@bp.get("/events/<int:event_id>/checkin/dashboard")
@_event_manager
def dashboard_page(event_id: int) -> Any:
    """签到看板: figures rendered now, refreshed every 10 s by ``static/js/checkin_dashboard.js``."""
    event = _managed_event_or_404(event_id)
    data = dashboard.snapshot(event)
    return _no_store(
        make_response(render_template("checkin/manage/dashboard.html", event=event, data=data, is_organiser=has_permission(current_user, "checkin.manage")))
    )


@bp.get("/events/<int:event_id>/checkin/dashboard.json")
@_event_manager
def dashboard_data(event_id: int) -> Any:
    """The dashboard's figures as JSON (the page polls it)."""
    event = _managed_event_or_404(event_id)
    return _no_store(jsonify(dashboard.snapshot(event)))


@bp.get("/events/<int:event_id>/checkin/attendance.xlsx")
@_event_manager
def attendance_export(event_id: int) -> Response:
    """签到名单 (XLSX): each confirmed registration with its first check-in; contact data, so audited."""
    event = _managed_event_or_404(event_id)
    rows = dashboard.attendance_rows(event)
    data = dashboard.attendance_xlsx(event, rows)
    audit.record("checkin.attendance_export", event, after={"rows": len(rows), "checked_in": sum(1 for r in rows if r[9])})
    db.session.commit()
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    response = send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"签到名单-{event.id}-{stamp}.xlsx",
    )
    return _no_store(response)
