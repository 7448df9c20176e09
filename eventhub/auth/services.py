"""Account rules: creation, passwords, invitation and reset links, deactivation.

Invitation and reset links are signed (itsdangerous) and expire; they also carry a fingerprint
of the current password hash and e-mail address, so a link stops working as soon as it has been
used once, or once an organiser corrects the address it was mailed to.
Services add their audit rows to the session; the caller (view or command) commits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import LazyString, gettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from eventhub.auth.models import User
from eventhub.bases.models import DemonstrationBase
from eventhub.core import audit
from eventhub.core.mail import mail_configured, send_mail
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.core.validators import check_email, check_mobile
from eventhub.extensions import db

MIN_PASSWORD_LENGTH = 10
_COMMON = {"password", "12345678", "123456789", "1234567890", "qwertyuiop", "eventhub", "11111111", "abc123456"}

PURPOSES = ("invite", "reset")

# Filter values of the user list: all / active (may log in or is still to set a password) /
# deactivated / invited but no password set yet.
USER_STATES = ("active", "inactive", "pending")


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; plain formatting in commands and jobs (no locale to pick there)."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class AccountError(ValueError):
    """A rule about accounts was broken; the text is shown to the user."""


# ---- passwords ----------------------------------------------------------------


def password_rules() -> list[str]:
    """The password rules in words, shown next to every password form."""
    return [
        _("至少 %(n)d 个字符", n=MIN_PASSWORD_LENGTH),
        _("同时包含字母和数字"),
        _("不能是常见的简单密码，不能与邮箱相同，也不能由过少的不同字符组成"),
    ]


def password_problems(password: str, email: str = "") -> list[str]:
    """Every reason ``password`` is refused, in Chinese (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("密码至少需要 %(n)d 个字符", n=MIN_PASSWORD_LENGTH))
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append(_("密码需同时包含字母和数字"))
    lowered = password.lower()
    if lowered in _COMMON or (email and lowered == email.lower()) or len(set(password)) < 4:
        problems.append(_("密码过于简单，请换一个"))
    return problems


def set_password(user: User, password: str) -> None:
    problems = password_problems(password, user.email)
    if problems:
        raise AccountError("；".join(problems))
    user.password_hash = generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


# ---- accounts -----------------------------------------------------------------


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
    *,
    email: str,
    name: str,
    role: Role | str,
    base: DemonstrationBase | None = None,
    password: str | None = None,
    invited_by: User | None = None,
    mobile: str | None = None,
) -> User:
    """Create an account (caller commits). A host must belong to a base; others must not."""
    role = Role(role)
    email = check_email(email)
    if find_by_email(email):
        raise AccountError(_("邮箱 %(email)s 已被其他账号使用", email=email))
    if role is Role.HOST and base is None:
        raise AccountError(_("承办基地用户必须选择所属示范基地"))
    if role is not Role.HOST:
        base = None
    if not name.strip():
        raise AccountError(_("请填写姓名"))
    user = User(
        email=email,
        name=name.strip(),
        role=role.value,
        base=base,
        mobile=check_mobile(mobile) if mobile else None,
        active=True,
        invited_by_id=getattr(invited_by, "id", None),
    )
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, after={"email": email, "role": role.value, "base_id": getattr(base, "id", None)}, actor=invited_by)
    return user


def search_users(*, q: str = "", role: str = "", state: str = "", page: int = 1, per_page: int = 20) -> Any:
    """A page of users matching a name/e-mail fragment, a role and a state, newest first."""
    query = select(User).options(selectinload(User.base)).order_by(User.created_at.desc(), User.id.desc())
    fragment = q.strip().lower()
    if fragment:
        query = query.where(or_(func.lower(User.name).contains(fragment, autoescape=True), func.lower(User.email).contains(fragment, autoescape=True)))
    if role in {r.value for r in Role}:
        query = query.where(User.role == role)
    if state == "active":
        query = query.where(User.active.is_(True))
    elif state == "inactive":
        query = query.where(User.active.is_(False))
    elif state == "pending":
        query = query.where(User.active.is_(True), User.password_hash.is_(None))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def user_history(user: User, limit: int = 20) -> list[audit.AuditLog]:
    """The latest audit rows about ``user``."""
    return audit.history_of(user, limit)


# ---- invitation and reset links --------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    """What a link is bound to: the password hash (a used link dies with it) and the e-mail
    address (correcting a mistyped address ends the link mailed to the wrong one)."""
    return hashlib.sha256(f"{user.password_hash or 'unset'}|{user.email}".encode()).hexdigest()[:16]


def link_max_age(purpose: str) -> int:
    """Seconds an invitation / reset link stays valid (from the configuration)."""
    return int(current_app.config["INVITATION_MAX_AGE" if purpose == "invite" else "PASSWORD_RESET_MAX_AGE"])


def _validity_text(seconds: int) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return _("%(n)d 天", n=seconds // 86400)
    if seconds >= 3600:
        return _("%(n)d 小时", n=seconds // 3600)
    return _("%(n)d 分钟", n=max(seconds // 60, 1))


def reset_validity_text() -> str:
    """How long a reset link stays valid, in words ("2 小时")."""
    return _validity_text(link_max_age("reset"))


def make_account_token(user: User, purpose: str) -> str:
    """A signed link token for ``purpose`` ("invite" or "reset") that dies once used."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    return _serializer(f"account-{purpose}").dumps({"u": user.id, "f": _fingerprint(user)})


def load_account_token(token: str, purpose: str, *, lock: bool = False) -> User:
    """The user a token was made for; ``AccountError`` says why it is not valid.

    With ``lock`` the user's row is locked (``SELECT … FOR UPDATE`` on PostgreSQL) and re-read,
    so two submissions of the same link cannot both set a password.
    """
    try:
        data = _serializer(f"account-{purpose}").loads(token, max_age=link_max_age(purpose))
    except SignatureExpired as exc:
        raise AccountError(_("链接已过期，请使用“忘记密码”重新获取，或联系组织方重新发送")) from exc
    except BadSignature as exc:
        raise AccountError(_("链接无效，请检查是否完整复制")) from exc
    user_id = data.get("u") if isinstance(data, dict) else None
    user = db.session.get(User, user_id, with_for_update=True if lock else None, populate_existing=lock) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise AccountError(_("该账号不存在或已停用"))
    if data.get("f") != _fingerprint(user):
        raise AccountError(_("该链接已使用过，或账号邮箱已变更，链接已失效。请直接登录，或使用“忘记密码”重新获取"))
    return user


@dataclass
class LinkResult:
    """A freshly issued link: shown once on screen; its e-mail is in the outbox (``queued``).

    ``mail_configured`` says whether the outbox will really send it (without an SMTP server
    the row is only logged, so the organiser must pass the link on by hand).
    """

    user: User
    url: str
    queued: bool
    purpose: str = "invite"
    mail_configured: bool = False
    message_id: int | None = None


def issue_link(user: User, purpose: str, actor: User | None) -> LinkResult:
    """Make an invitation / reset link and put its e-mail in the outbox (sent by the delivery worker)."""
    token = make_account_token(user, purpose)
    endpoint = "auth.accept_invitation" if purpose == "invite" else "auth.reset_password"
    base_url = current_app.config.get("PUBLIC_BASE_URL")
    url = (base_url.rstrip("/") + url_for(endpoint, token=token)) if base_url else url_for(endpoint, token=token, _external=True)
    # One message per issued link: the key comes from the token, so a retried request never mails it twice.
    key = f"account-{purpose}:{user.id}:{hashlib.sha256(token.encode()).hexdigest()[:24]}"
    message = send_mail(
        user.email,
        "invitation" if purpose == "invite" else "password_reset",
        key=key,
        name=user.name,
        role=user.role_label,  # lazy: rendered in the recipient's language
        email=user.email,
        validity=LazyString(_validity_text, link_max_age(purpose)),
        url=url,
    )
    if message is not None:
        db.session.flush()
    configured = mail_configured()
    audit.record(f"user.{purpose}_link", user, actor=actor, after={"queued": message is not None, "mail_key": key, "mail_configured": configured})
    return LinkResult(
        user=user,
        url=url,
        queued=message is not None,
        purpose=purpose,
        mail_configured=configured,
        message_id=message.id if message is not None else None,
    )


def invite_user(*, email: str, name: str, role: Role | str, base: DemonstrationBase | None, actor: User, mobile: str | None = None) -> LinkResult:
    """Create an account without a password and issue its invitation link (caller commits)."""
    user = create_user(email=email, name=name, role=role, base=base, invited_by=actor, mobile=mobile)
    return issue_link(user, "invite", actor)


def resend_invitation(user: User, actor: User) -> LinkResult:
    """A fresh invitation link for an account whose owner never set a password."""
    if not user.is_active:
        raise AccountError(_("账号已停用，请先重新启用"))
    if user.has_password:
        raise AccountError(_("该用户已设置密码，无需重新邀请；如忘记密码请使用“重置密码”"))
    return issue_link(user, "invite", actor)


def issue_password_reset(user: User, actor: User) -> LinkResult:
    """A password-reset link for an active account that has a password."""
    if not user.is_active:
        raise AccountError(_("账号已停用，请先重新启用"))
    if not user.has_password:
        raise AccountError(_("该用户尚未设置密码，请使用“重新发送邀请”"))
    return issue_link(user, "reset", actor)


def use_account_link(token: str, purpose: str, password: str) -> User:
    """Set the password through an invitation / reset link; the link dies with the old hash."""
    user = load_account_token(token, purpose, lock=True)
    set_password(user, password)
    audit.record("user.password_set", user, actor=user, after={"via": purpose})
    return user


def set_active(user: User, active: bool, actor: User, reason: str = "") -> None:
    """Deactivate or reactivate an account; an organiser cannot lock themselves out."""
    if user.id == actor.id and not active:
        raise AccountError(_("不能停用自己的账号"))
    if bool(user.active) == active:
        raise AccountError(_("账号已是启用状态") if active else _("账号已是停用状态"))
    before = {"active": user.active}
    user.active = active
    after: dict[str, Any] = {"active": active}
    if reason.strip():
        after["reason"] = reason.strip()
    audit.record("user.activate" if active else "user.deactivate", user, before=before, after=after, actor=actor)


# ---- self-service: "forgot password" ------------------------------------------------


def request_password_reset(email: str) -> LinkResult | None:
    """Mail a reset link to the owner of ``email``, or an invitation if they never set a password.

    The page answers the same whatever happens here, so nobody learns whether an address has
    an account; only a malformed address is refused (``ValueError`` from :func:`check_email`).
    Deactivated and unknown accounts get nothing. The caller commits; Flask-Limiter bounds how
    often one address (and one IP) can ask.
    """
    user = find_by_email(check_email(email))
    if user is None or not user.is_active:
        return None
    return issue_link(user, "reset" if user.has_password else "invite", actor=None)


# ---- editing an account (organisers) --------------------------------------------------


def _other_active_organisers(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ORGANISER.value, User.active.is_(True), User.id != user.id)) or 0


def update_user(
    user: User, *, email: str, name: str, role: Role | str, base: DemonstrationBase | None, mobile: str | None, actor: User
) -> dict[str, tuple[Any, Any]]:
    """Change an account's e-mail, name, mobile, role or base (caller commits); the changes made.

    The same rules as :func:`create_user` (a host belongs to a base, others to none; e-mail
    unique), and two more: an organiser cannot change their own role (they would lose this
    page halfway), and the last active organiser keeps the role (nobody could manage accounts).
    A new e-mail address also ends any invitation or reset link mailed to the old one (links
    are bound to the address, see :func:`_fingerprint`). Everything changed is audited with
    its old value.
    """
    role = Role(role)
    email = check_email(email)
    name = (name or "").strip()
    if not name:
        raise AccountError(_("请填写姓名"))
    if len(name) > 100:
        raise AccountError(_("姓名最长 100 个字符"))
    other = find_by_email(email)
    if other is not None and other.id != user.id:
        raise AccountError(_("邮箱 %(email)s 已被其他账号使用", email=email))
    if role is Role.HOST and base is None:
        raise AccountError(_("承办基地用户必须选择所属示范基地"))
    if role is not Role.HOST:
        base = None
    if role.value != user.role:
        if user.id == actor.id:
            raise AccountError(_("不能修改自己的角色，请由另一位组织方用户操作"))
        if user.role == Role.ORGANISER.value and user.active and not _other_active_organisers(user):
            raise AccountError(_("这是唯一启用中的组织方账号，不能改为其他角色"))
    new = {"email": email, "name": name, "role": role.value, "base_id": getattr(base, "id", None), "mobile": check_mobile(mobile) if mobile else None}
    old = {"email": user.email, "name": user.name, "role": user.role, "base_id": user.base_id, "mobile": user.mobile}
    changes = {key: (old[key], new[key]) for key in new if old[key] != new[key]}
    if not changes:
        return {}
    user.email, user.name, user.role, user.base, user.mobile = email, name, role.value, base, new["mobile"]
    db.session.flush()
    audit.record("user.update", user, before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()}, actor=actor)
    return changes
