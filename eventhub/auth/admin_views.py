"""Organiser pages: users, invitations, editing an account, deactivation, password resets.

Views are thin: they parse the form, call a service, commit, and redirect. A freshly issued
invitation / reset link is kept in the session for one request so the user page can show it
once after the redirect (a reload does not send another e-mail).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from eventhub.auth import bp, services
from eventhub.auth.forms import ActionForm, DeactivateForm, EditUserForm, InviteForm, UserFilterForm
from eventhub.auth.models import User
from eventhub.core.permissions import require
from eventhub.extensions import db

_ISSUED = "auth_issued_link"


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _remember_link(result: services.LinkResult) -> None:
    session[_ISSUED] = {
        "user_id": result.user.id,
        "url": result.url,
        "purpose": result.purpose,
        "queued": result.queued,
        "mail_configured": result.mail_configured,
        "message_id": result.message_id,
    }


def _flash_link(result: services.LinkResult) -> None:
    """Say honestly what happened to the e-mail: it is queued, not yet sent (the worker sends it)."""
    what = _("邀请链接") if result.purpose == "invite" else _("重置密码链接")
    if result.queued and result.mail_configured:
        flash(_("%(what)s已生成，邮件已加入发件箱，将发送到 %(email)s", what=what, email=result.user.email), "success")
    elif result.mail_configured:
        flash(_("%(what)s已生成，但邮件未能加入发件箱，请复制下方链接另行发给对方", what=what), "warning")
    else:
        flash(_("%(what)s已生成。未配置邮件服务器，请复制下方链接另行发给对方", what=what), "info")


@bp.get("/users")
@require("users.manage")
def list_users() -> str:
    """All accounts: search by name or e-mail, filter by role and state, paged."""
    form = UserFilterForm(request.args)
    q = (form.q.data or "").strip()[:100]
    role = form.role.data or ""
    state = form.state.data or ""
    page = services.search_users(q=q, role=role, state=state, page=request.args.get("page", 1, type=int), per_page=int(current_app.config.get("PAGE_SIZE", 20)))
    return render_template("auth/users.html", page=page, form=form, filtered=bool(q or role or state))


@bp.route("/users/invite", methods=["GET", "POST"])
@require("users.manage")
def invite_user() -> Any:
    """Create an account and show (and e-mail, when mail is configured) its invitation link."""
    form = InviteForm()
    if request.method == "GET" and request.args.get("role"):
        form.role.data = request.args["role"]
    if form.validate_on_submit():
        try:
            result = services.invite_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                base=form.base,
                actor=current_user._get_current_object(),
                mobile=form.mobile.data or None,
            )
        except (services.AccountError, ValueError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            _remember_link(result)
            _flash_link(result)
            return redirect(url_for("auth.user_detail", user_id=result.user.id))
    return render_template("auth/invite.html", form=form)


@bp.get("/users/<int:user_id>")
@require("users.manage")
def user_detail(user_id: int) -> str:
    """One account: status, base, history, and the actions an organiser may take."""
    user = _get_user(user_id)
    issued = session.pop(_ISSUED, None)
    if issued and issued.get("user_id") != user.id:
        issued = None
    inviter = db.session.get(User, user.invited_by_id) if user.invited_by_id else None
    return render_template(
        "auth/user_detail.html",
        user=user,
        inviter=inviter,
        issued=issued,
        history=services.user_history(user),
        action_form=ActionForm(),
        is_self=user.id == current_user.id,
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@require("users.manage")
def edit_user(user_id: int) -> Any:
    """Correct an account: e-mail, name, role, base, mobile (the rules are in ``services.update_user``)."""
    user = _get_user(user_id)
    form = EditUserForm(user_id=user.id)
    if request.method == "GET":
        form.email.data, form.name.data, form.role.data = user.email, user.name, user.role
        form.base_id.data, form.mobile.data = user.base_id, user.mobile or ""
    if form.validate_on_submit():
        try:
            changes = services.update_user(
                user,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                base=form.base,
                mobile=form.mobile.data or None,
                actor=current_user._get_current_object(),
            )
        except (services.AccountError, ValueError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("已保存 %(name)s 的账号信息", name=user.name) if changes else _("没有修改任何内容"), "success" if changes else "info")
            return redirect(url_for("auth.user_detail", user_id=user.id))
    return render_template("auth/edit_user.html", form=form, user=user, is_self=user.id == current_user.id)


def _change_active(user_id: int, active: bool) -> Any:
    """GET: a confirmation page; POST (with CSRF): deactivate or reactivate."""
    user = _get_user(user_id)
    if not active and user.id == current_user.id:
        flash(_("不能停用自己的账号"), "danger")
        return redirect(url_for("auth.user_detail", user_id=user.id))
    if bool(user.active) == active:
        flash(_("账号已是启用状态") if active else _("账号已是停用状态"), "info")
        return redirect(url_for("auth.user_detail", user_id=user.id))
    form = DeactivateForm() if not active else ActionForm()
    if form.validate_on_submit():
        try:
            reason = (form.reason.data or "") if isinstance(form, DeactivateForm) else ""
            services.set_active(user, active, current_user._get_current_object(), reason=reason)
        except services.AccountError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("已重新启用 %(name)s 的账号", name=user.name) if active else _("已停用 %(name)s 的账号，该用户将无法登录", name=user.name), "success")
        return redirect(url_for("auth.user_detail", user_id=user.id))
    return render_template("auth/confirm_active.html", user=user, form=form, active=active)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@require("users.manage")
def deactivate_user(user_id: int) -> Any:
    return _change_active(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["GET", "POST"])
@require("users.manage")
def reactivate_user(user_id: int) -> Any:
    return _change_active(user_id, True)


def _issue(user_id: int, issue: Any) -> Response:
    user = _get_user(user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = issue(user, current_user._get_current_object())
    except services.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        _remember_link(result)
        _flash_link(result)
    return redirect(url_for("auth.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/reset-password")
@require("users.manage")
def issue_password_reset(user_id: int) -> Response:
    """Issue a password-reset link (shown on screen, e-mailed when mail is configured)."""
    return _issue(user_id, services.issue_password_reset)


@bp.post("/users/<int:user_id>/resend-invitation")
@require("users.manage")
def resend_invitation(user_id: int) -> Response:
    """A new invitation link for a user who never set a password."""
    return _issue(user_id, services.resend_invitation)
