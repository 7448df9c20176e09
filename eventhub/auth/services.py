"""Account rules: creation, passwords, invitation and reset links, deactivation.

Invitation and reset links are signed (itsdangerous) and expire; they also carry a fingerprint
of the current password hash, so a link stops working as soon as it has been used once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.core import audit
from eventhub.core.mail import deliver, mail_configured, queue_mail
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.core.validators import check_email
from eventhub.extensions import db

MIN_PASSWORD_LENGTH = 10
_COMMON = {"password", "12345678", "123456789", "1234567890", "qwertyuiop", "eventhub", "11111111", "abc123456"}


class AccountError(ValueError):
    """A rule about accounts was broken; the text is shown to the user."""


def password_problems(password: str, email: str = "") -> list[str]:
    """Every reason ``password`` is refused, in Chinese (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append("密码需同时包含字母和数字")
    lowered = password.lower()
    if lowered in _COMMON or (email and lowered == email.lower()) or len(set(password)) < 4:
        problems.append("密码过于简单，请换一个")
    return problems


def set_password(user: User, password: str) -> None:
    problems = password_problems(password, user.email)
    if problems:
        raise AccountError("；".join(problems))
    user.password_hash = generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``; records the log-in time."""
    user = find_by_email(email)
    if user is None or not user.password_hash or not check_password_hash(user.password_hash, password):
        return None
    if not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def create_user(
    *, email: str, name: str, role: Role | str, base: DemonstrationBase | None = None, password: str | None = None, invited_by: User | None = None
) -> User:
    """Create an account (caller commits). A host must belong to a base; others must not."""
    role = Role(role)
    email = check_email(email)
    if find_by_email(email):
        raise AccountError(f"邮箱 {email} 已被其他账号使用")
    if role is Role.HOST and base is None:
        raise AccountError("承办基地用户必须选择所属示范基地")
    if role is not Role.HOST:
        base = None
    if not name.strip():
        raise AccountError("请填写姓名")
    user = User(email=email, name=name.strip(), role=role.value, base=base, active=True, invited_by_id=getattr(invited_by, "id", None))
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, after={"email": email, "role": role.value, "base_id": getattr(base, "id", None)}, actor=invited_by)
    return user


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def make_account_token(user: User, purpose: str) -> str:
    """A signed link token for ``purpose`` ("invite" or "reset") that dies once used."""
    return _serializer(f"account-{purpose}").dumps({"u": user.id, "f": _fingerprint(user)})


def load_account_token(token: str, purpose: str) -> User:
    """The user a token was made for; ``AccountError`` says why it is not valid."""
    max_age = current_app.config["INVITATION_MAX_AGE" if purpose == "invite" else "PASSWORD_RESET_MAX_AGE"]
    try:
        data = _serializer(f"account-{purpose}").loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise AccountError("链接已过期，请联系组织方重新发送") from exc
    except BadSignature as exc:
        raise AccountError("链接无效，请检查是否完整复制") from exc
    user = db.session.get(User, data.get("u"))
    if user is None or not user.is_active:
        raise AccountError("该账号不存在或已停用")
    if data.get("f") != _fingerprint(user):
        raise AccountError("该链接已使用过，请直接登录或重新申请")
    return user


@dataclass
class LinkResult:
    user: User
    url: str
    mailed: bool


def issue_link(user: User, purpose: str, actor: User | None) -> LinkResult:
    """Make an invitation / reset link, queue (and send when configured) the e-mail."""
    token = make_account_token(user, purpose)
    endpoint = "auth.accept_invitation" if purpose == "invite" else "auth.reset_password"
    base_url = current_app.config.get("PUBLIC_BASE_URL")
    url = (base_url.rstrip("/") + url_for(endpoint, token=token)) if base_url else url_for(endpoint, token=token, _external=True)
    if purpose == "invite":
        subject = "EventHub 账号邀请"
        body = f"{user.name}，您好：\n\n您受邀使用 EventHub（“融通创新”主题日管理平台），身份为“{user.role_label}”。\n请打开以下链接设置密码（7 天内有效）：\n{url}\n"
    else:
        subject = "EventHub 重置密码"
        body = f"{user.name}，您好：\n\n请打开以下链接重新设置密码（24 小时内有效）：\n{url}\n如非本人操作，请忽略本邮件。\n"
    audit.record(f"user.{purpose}_link", user, actor=actor, after={"mailed": mail_configured()})
    mailed = False
    if mail_configured():
        message = queue_mail(user.email, subject, body)
        if message is not None:
            mailed = deliver(message)
    return LinkResult(user=user, url=url, mailed=mailed)


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivate or reactivate an account; an organiser cannot lock themselves out."""
    if user.id == actor.id and not active:
        raise AccountError("不能停用自己的账号")
    before = {"active": user.active}
    user.active = active
    audit.record("user.activate" if active else "user.deactivate", user, before=before, after={"active": active}, actor=actor)
