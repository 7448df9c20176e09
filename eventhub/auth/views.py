"""Log-in, log-out and the public invitation / reset-password pages.

Account administration (organiser pages) lives in ``admin_views``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from eventhub.auth import bp, services
from eventhub.auth.forms import ForgotPasswordForm, LoginForm, SetPasswordForm
from eventhub.auth.models import User
from eventhub.core import audit
from eventhub.core.permissions import public
from eventhub.core.timeutil import utcnow
from eventhub.core.urls import secret_page as _private
from eventhub.extensions import db, limiter

DEFAULT_LINK_RATE_LIMIT = "10 per minute; 50 per hour"
DEFAULT_ADDRESS_LIMIT = "3 per hour; 10 per day"  # see RESET_REQUEST_ADDRESS_LIMIT in config.py


def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after log-in (no open redirect).

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    ``/\\t/evil.example`` would become ``//evil.example``: anything but printable characters
    is refused, as is anything with a scheme or a host.
    """
    fallback = url_for("core.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 33 or ord(c) == 127 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _link_limit() -> str:
    return current_app.config.get("ACCOUNT_LINK_RATE_LIMIT", DEFAULT_LINK_RATE_LIMIT)


def _per_address_limit() -> str:
    return current_app.config.get("RESET_REQUEST_ADDRESS_LIMIT", DEFAULT_ADDRESS_LIMIT)


def _address_key() -> str:
    """Rate-limit key of the "forgot password" form: the address asked for, whoever asks."""
    return "forgot:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message=lambda: _("登录尝试过于频繁，请稍后再试"))
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("邮箱或密码不正确，或账号已停用"))
        else:
            login_user(user, remember=form.remember.data)
            audit.record("user.login", user, actor=user)
            db.session.commit()
            flash(_("欢迎，%(name)s", name=user.name), "success")
            return redirect(_safe_next(form.next.data))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("auth.login"))


# ---- links from e-mails: invitation and password reset ----------------------------


def _account_link(token: str, purpose: str) -> Response:
    """Show the set-password form for a valid link, or say clearly why the link is refused."""
    try:
        user = services.load_account_token(token, purpose)
    except services.AccountError as exc:
        db.session.rollback()
        page = render_template("auth/link_invalid.html", message=str(exc), purpose=purpose)
        return _private(make_response(page, 400))
    form = SetPasswordForm(email=user.email)
    if form.validate_on_submit():
        try:
            user = services.use_account_link(token, purpose, form.password.data)
        except services.AccountError as exc:  # the link was used meanwhile (another tab)
            db.session.rollback()
            page = render_template("auth/link_invalid.html", message=str(exc), purpose=purpose)
            return _private(make_response(page, 400))
        if current_user.is_authenticated and current_user.id != user.id:
            logout_user()
        login_user(user)
        audit.record("user.login", user, actor=user)
        user.last_login_at = utcnow()
        db.session.commit()
        flash(_("密码已设置，欢迎使用 EventHub，%(name)s", name=user.name) if purpose == "invite" else _("密码已重新设置"), "success")
        return _private(redirect(url_for("core.index")))
    page = render_template("auth/set_password.html", form=form, user=user, purpose=purpose, rules=services.password_rules())
    return _private(make_response(page, 200))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_link_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试"))
def accept_invitation(token: str) -> Response:
    """An invitee sets the first password through the signed, expiring, single-use link."""
    return _account_link(token, "invite")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_link_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试"))
def reset_password(token: str) -> Response:
    """A user chooses a new password through the link an organiser issued."""
    return _account_link(token, "reset")


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@limiter.limit(_link_limit, methods=["POST"], error_message=lambda: _("提交过于频繁，请稍后再试"))
@limiter.limit(_per_address_limit, methods=["POST"], key_func=_address_key, error_message=lambda: _("该邮箱申请过于频繁，请稍后再试或查收已发送的邮件"))
def forgot_password() -> Any:
    """Ask for a reset link by e-mail. The answer is the same whether or not the address has an
    account (no way to find out who is registered); the link itself is the one organisers issue."""
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.email.data)
        except ValueError as exc:  # a malformed address the form's check let through
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            return render_template("auth/forgot_password_sent.html", email=form.email.data.strip())
    return render_template("auth/forgot_password.html", form=form, validity=services.reset_validity_text())
