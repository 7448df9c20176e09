"""Forms of the mechanism pages. Only CSRF and the typed values live here; every rule (and every
Chinese error message) is in :mod:`eventhub.assessment.mechanisms`, so form and service never disagree."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from eventhub.assessment import mechanisms as svc


class MechanismForm(FlaskForm):
    """合作机制: what it is, when it was formed, its member organisations (one per line)."""

    name = StringField(_l("机制名称"), render_kw={"maxlength": svc.NAME_MAX, "placeholder": _l("如：华润新能源产业链创新联盟")})
    kind = SelectField(_l("机制类型"), validate_choice=False)
    formed_on = StringField(_l("成立日期"), render_kw={"type": "date"}, description=_l("签约或成立的日期（北京时间）。"))
    description = TextAreaField(_l("简要说明（可选）"), render_kw={"rows": 3, "maxlength": svc.DESCRIPTION_MAX})
    members = TextAreaField(
        _l("成员单位"),
        render_kw={"rows": 8, "placeholder": "深圳某某科技有限公司，张三，zhangsan@example.com"},
        description=_l("每行一家：单位名称，联系人，电子邮箱（用逗号、分号或制表符分隔，可从 Excel 粘贴）。2–50 家。"),
    )

    def set_choices(self, labels: dict[str, str]) -> None:
        self.kind.choices = [SelectChoice("", _l("请选择"))] + [SelectChoice(value, label) for value, label in labels.items()]

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.data or "",
            "kind": self.kind.data or "",
            "formed_on": self.formed_on.data or "",
            "description": self.description.data or "",
            "members": self.members.data or "",
        }


class ConfirmForm(FlaskForm):
    """A destructive action, confirmed with a tick."""

    confirm = BooleanField(_l("我已确认"))


class CheckAnswerForm(FlaskForm):
    """The member's one-click answer (two buttons) with an optional note."""

    note = TextAreaField(_l("补充说明（可选）"), render_kw={"rows": 3, "maxlength": svc.NOTE_MAX, "placeholder": _l("如：联盟每季度召开一次对接会")})
    active = SubmitField(_l("仍在运行"))
    stopped = SubmitField(_l("已停止"))
