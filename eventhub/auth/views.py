"""Log-in and log-out; account administration lives in ``admin_views``."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from eventhub.auth import bp, services
from eventhub.auth.forms import LoginForm
from eventhub.auth.models import User
from eventhub.core import audit
from eventhub.core.permissions import public
from eventhub.extensions import db, limiter


def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after log-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("core.index")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="登录尝试过于频繁，请稍后再试")
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("邮箱或密码不正确，或账号已停用")
        else:
            login_user(user, remember=form.remember.data)
            audit.record("user.login", user, actor=user)
            db.session.commit()
            flash(f"欢迎，{user.name}", "success")
            return redirect(_safe_next(form.next.data))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    flash("您已退出登录", "info")
    return redirect(url_for("auth.login"))
