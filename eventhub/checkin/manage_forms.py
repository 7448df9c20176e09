"""Forms of the organiser's check-in pages: assign staff, name a token, confirm a removal or a key revocation.

The rules (who may be staff, which lists belong to the event) are in :mod:`eventhub.checkin.services`;
these forms only parse, keep what was typed and carry the CSRF token.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

WHOLE_EVENT = ""  # the list choice "whole event" (the staff member scans on the event's default list)


class AssignStaffForm(FlaskForm):
    """分配签到人员: a user, optionally one session's list, and a gate name."""

    user_id = SelectField(_l("签到人员"), validators=[DataRequired(_l("请选择签到人员"))], validate_choice=False)
    list_choice = SelectField(_l("签到清单"), validators=[Optional()], validate_choice=False, description=_l("全场签到，或只为某一场次签到"))
    gate = StringField(
        _l("入口"), validators=[Optional(), Length(max=50, message=_l("入口名称最长 50 个字"))], description=_l("例如：东门、二号厅入口（可不填）")
    )


class TokenForm(FlaskForm):
    """A new API token for a scanner device."""

    name = StringField(
        _l("设备名称"),
        validators=[DataRequired(_l("请填写设备名称")), Length(max=100, message=_l("设备名称最长 100 个字"))],
        description=_l("例如：东门一号扫码枪，便于日后识别和吊销"),
    )


class ConfirmForm(FlaskForm):
    """A confirmation page's form: the box must be ticked."""

    confirm = BooleanField(_l("我已了解后果，确认操作"))


class RevokeKeyForm(FlaskForm):
    """Revoking a signing key: type its key id and tick the box (it invalidates tickets)."""

    kid = StringField(_l("请输入密钥编号以确认"), validators=[DataRequired(_l("请输入密钥编号"))])
    confirm = BooleanField(_l("我已了解：该密钥签发的电子票将全部作废"))
