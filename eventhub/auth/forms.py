"""Forms of the auth package (Flask-WTF: every POST form carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from wtforms import BooleanField, EmailField, Form, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from eventhub.bases.models import BaseType, DemonstrationBase
from eventhub.core.permissions import ROLE_LABELS, Role
from eventhub.core.validators import EmailAddress, Mobile
from eventhub.extensions import db


def role_choices() -> list[SelectChoice]:
    """Every role of DESIGN.md §2 with its Chinese label."""
    return [SelectChoice(role.value, _(ROLE_LABELS[role])) for role in Role]


def base_choices() -> list[SelectChoice]:
    """All demonstration bases (a host user may belong to any of them), each with its type."""
    enterprise_first = case((DemonstrationBase.base_type == BaseType.ENTERPRISE.value, 0), else_=1)
    bases = db.session.scalars(select(DemonstrationBase).order_by(enterprise_first, DemonstrationBase.base_type, DemonstrationBase.name))
    return [SelectChoice("", _("— 请选择示范基地 —"))] + [SelectChoice(str(b.id), f"{b.name}（{_(b.type_label)}）") for b in bases]


def _optional_int(value: Any) -> int | None:
    """Coerce a select value to an id; blank or garbage becomes ``None`` (then "please choose")."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class LoginForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(_l("请填写邮箱")), Length(max=254)], render_kw={"autocomplete": "username"})
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码")), Length(max=200)], render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("记住我（在此设备上保持登录）"))
    next = StringField()


class UserFilterForm(Form):
    """The GET search form above the user list (no CSRF: it changes nothing)."""

    q = StringField(_l("姓名或邮箱"), validators=[Optional(), Length(max=100)], render_kw={"placeholder": _l("搜索姓名或邮箱")})
    role = SelectField(_l("角色"), validate_choice=False)
    state = SelectField(
        _l("状态"),
        choices=[
            SelectChoice("", _l("全部状态")),
            SelectChoice("active", _l("启用中")),
            SelectChoice("pending", _l("待设置密码")),
            SelectChoice("inactive", _l("已停用")),
        ],
        validate_choice=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice("", _("全部角色")), *role_choices()]


class InviteForm(FlaskForm):
    """Invite a user: the account is created without a password and a link sets it."""

    email = EmailField(
        _l("邮箱"),
        validators=[DataRequired(_l("请填写邮箱")), Length(max=254, message=_l("邮箱最长 254 个字符")), EmailAddress()],
        description=_l("邀请链接发送到此邮箱，用户以此邮箱登录"),
    )
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=100, message=_l("姓名最长 100 个字符"))])
    role = SelectField(
        _l("角色"),
        validators=[DataRequired(_l("请选择角色"))],
        validate_choice=False,
        description=_l("承办基地用户属于一个示范基地；签到人员在活动创建后再分配到具体活动"),
    )
    base_id = SelectField(
        _l("所属示范基地"),
        coerce=_optional_int,
        validate_choice=False,
        description=_l("仅“承办基地”角色需要选择"),
    )
    mobile = StringField(_l("手机号码（选填）"), validators=[Optional(), Mobile()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice("", _("— 请选择角色 —")), *role_choices()]
        self.base_id.choices = base_choices()
        self.base: DemonstrationBase | None = None

    def validate_email(self, field: EmailField) -> None:
        from eventhub.auth.services import find_by_email

        if field.data and find_by_email(field.data):
            raise ValidationError(_("该邮箱已被其他账号使用"))

    def validate_role(self, field: SelectField) -> None:
        if field.data not in {r.value for r in Role}:
            raise ValidationError(_("请选择有效的角色"))

    def validate_base_id(self, field: SelectField) -> None:
        self.base = db.session.get(DemonstrationBase, field.data) if field.data is not None else None
        if field.data is not None and self.base is None:
            raise ValidationError(_("所选示范基地不存在"))
        if self.role.data == Role.HOST.value and self.base is None:
            raise ValidationError(_("承办基地用户必须选择所属示范基地"))


class EditUserForm(InviteForm):
    """Change an account's e-mail, name, role, base or mobile (the invitation form's fields and checks)."""

    def __init__(self, *args: Any, user_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id = user_id
        self.email.description = _l("用户以此邮箱登录；修改后，发往原邮箱的邀请或重置密码链接随即失效")

    def validate_email(self, field: EmailField) -> None:
        from eventhub.auth.services import find_by_email

        other = find_by_email(field.data) if field.data else None
        if other is not None and other.id != self.user_id:
            raise ValidationError(_("该邮箱已被其他账号使用"))


class ForgotPasswordForm(FlaskForm):
    """ "Forgot password": only the e-mail address; the answer never says whether it has an account."""

    email = EmailField(
        _l("登录邮箱"),
        validators=[DataRequired(_l("请填写邮箱")), Length(max=254, message=_l("邮箱最长 254 个字符")), EmailAddress()],
        render_kw={"autocomplete": "username"},
    )


class SetPasswordForm(FlaskForm):
    """Choose a password (invitation or reset link); each broken rule is its own error."""

    password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请填写新密码")), Length(max=200, message=_l("密码最长 200 个字符"))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[DataRequired(_l("请再次输入新密码")), EqualTo("password", message=_l("两次输入的密码不一致"))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def validate_password(self, field: PasswordField) -> None:
        from eventhub.auth.services import password_problems

        problems = password_problems(field.data or "", self.email)
        if problems:
            field.errors.extend(problems[:-1])
            raise ValidationError(problems[-1])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class DeactivateForm(FlaskForm):
    reason = TextAreaField(_l("停用原因（选填，记入审计日志）"), validators=[Optional(), Length(max=500, message=_l("最长 500 个字符"))], render_kw={"rows": 2})
