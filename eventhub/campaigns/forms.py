"""Forms of the campaigns package (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, StopValidation

from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.campaigns.services import DEFAULTS, default_deadline, default_title
from eventhub.core.timeutil import local_to_utc, to_shanghai

# A browser's datetime-local input sends seconds only when they are not zero (with step=1),
# so both forms are accepted; the first is the one the field renders.
DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]


class ChineseIntegerField(IntegerField):
    """An integer field whose "not a number" error is in Chinese (the typed text is kept)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0]).strip()
        if raw == "":
            self.data = None
            return
        try:
            self.data = int(raw)
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("请输入整数")) from exc

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:  # "abc" is not a number: say so once, not also "out of range"
            raise StopValidation()


class ChineseDateTimeLocalField(DateTimeLocalField):
    """A datetime-local field with a Chinese error for text it cannot read."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("请按“年-月-日 时:分”填写北京时间，例如 2026-06-30 23:59")) from exc


STATUS_CHOICES = [
    SelectChoice(CampaignStatus.DRAFT.value, _l("筹备中")),
    SelectChoice(CampaignStatus.PLANNING.value, _l("征集初步计划")),
    SelectChoice(CampaignStatus.SELECTION.value, _l("评审遴选")),
    SelectChoice(CampaignStatus.RUNNING.value, _l("活动举办")),
    SelectChoice(CampaignStatus.ASSESSMENT.value, _l("评估")),
    SelectChoice(CampaignStatus.CLOSED.value, _l("已结束")),
]


def _required() -> InputRequired:
    return InputRequired(_l("请填写此项"))


class CampaignForm(FlaskForm):
    """年度工作: create and edit."""

    year = ChineseIntegerField(_l("年份"), validators=[_required(), NumberRange(2000, 2100, _l("年份应在 2000–2100 之间"))])
    title = StringField(_l("标题"), validators=[_required(), Length(max=200, message=_l("标题不能超过 200 个字符"))])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=5000, message=_l("说明不能超过 5000 个字符"))], render_kw={"rows": 3})
    plan_deadline = ChineseDateTimeLocalField(
        _l("初步计划截止时间（北京时间）"),
        format=DATETIME_LOCAL_FORMATS,
        validators=[_required()],
        render_kw={"step": "1"},
        description=_l("按北京时间填写；通知要求 6 月 30 日前提交，即截至当日 23:59:59"),
    )
    target_hosts = ChineseIntegerField(
        _l("拟确定承办基地数"),
        validators=[_required(), NumberRange(min=1, max=100, message=_l("应在 1–100 之间"))],
        description=_l("通知：统筹确定 5 家左右承办基地"),
    )
    detail_lead_months = ChineseIntegerField(
        _l("活动方案提前量（月）"),
        validators=[_required(), NumberRange(0, 12, _l("活动方案提前量应在 0–12 个月之间"))],
        description=_l("活动方案须在活动开始前提交的月数，默认 1 个月"),
    )
    zishu_target = ChineseIntegerField(
        _l("初步计划目标字数"), validators=[_required(), NumberRange(min=1, max=100000, message=_l("应在 1–100000 之间"))], description=_l("通知：约 800 字")
    )
    zishu_min = ChineseIntegerField(
        _l("字数下限"), validators=[_required(), NumberRange(min=0, max=100000, message=_l("应在 0–100000 之间"))], description=_l("少于此字数的计划不能提交")
    )
    zishu_max = ChineseIntegerField(
        _l("字数上限"), validators=[_required(), NumberRange(min=1, max=100000, message=_l("应在 1–100000 之间"))], description=_l("多于此字数的计划不能提交")
    )
    status = SelectField(_l("状态"), choices=STATUS_CHOICES, description=_l("“筹备中”的年度工作只有组织方能看到"))
    submit = SubmitField(_l("保存"))

    def values(self) -> dict[str, Any]:
        """The typed values as service arguments (the deadline converted to UTC)."""
        return {
            "year": self.year.data,
            "title": (self.title.data or "").strip(),
            "description": (self.description.data or "").strip() or None,
            "plan_deadline": local_to_utc(self.plan_deadline.data),
            "target_hosts": self.target_hosts.data,
            "detail_lead_months": self.detail_lead_months.data,
            "zishu_target": self.zishu_target.data,
            "zishu_min": self.zishu_min.data,
            "zishu_max": self.zishu_max.data,
            "status": self.status.data,
        }


def initial_data(year: int) -> dict[str, Any]:
    """What a new-campaign form shows before anything is typed: the notice's defaults."""
    return {
        **DEFAULTS,
        "year": year,
        "title": default_title(year),
        "plan_deadline": to_shanghai(default_deadline(year)).replace(tzinfo=None),
        "description": "",
    }


def campaign_data(campaign: Campaign) -> dict[str, Any]:
    """An existing campaign as form data; the deadline shown as Beijing wall-clock time."""
    return {
        "year": campaign.year,
        "title": campaign.title,
        "description": campaign.description or "",
        "plan_deadline": to_shanghai(campaign.plan_deadline).replace(tzinfo=None),
        "target_hosts": campaign.target_hosts,
        "detail_lead_months": campaign.detail_lead_months,
        "zishu_target": campaign.zishu_target,
        "zishu_min": campaign.zishu_min,
        "zishu_max": campaign.zishu_max,
        "status": campaign.status,
    }
