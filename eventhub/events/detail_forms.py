"""Forms of the detailed plan (Flask-WTF: every form carries a CSRF token).

The forms only *read* what was typed (numbers, dates, times) and keep it for re-display; the
rules (dates inside the event, start before end, budgets, capacities…) are checked by
:mod:`eventhub.events.detail_plans`, whose messages the views put next to the fields. So a rule
has one Chinese message, whether it is broken in a form or in a service call.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField, TimeField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from eventhub.campaigns.forms import DATETIME_LOCAL_FORMATS, ChineseDateTimeLocalField, ChineseIntegerField
from eventhub.core.timeutil import local_to_utc, to_shanghai
from eventhub.events import detail_plans as services
from eventhub.events.models import ApprovalMode, DetailPlan, EventSession, SessionAccess, SharedResource, TechNeed


class ChineseDateField(DateField):
    """A date field (Beijing calendar) with a Chinese error for text it cannot read."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("请按“年-月-日”填写日期，例如 2027-03-31")) from exc


class ChineseTimeField(TimeField):
    """A time field (Beijing wall-clock) with a Chinese error for text it cannot read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%H:%M", "%H:%M:%S"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("请按“时:分”填写时间，例如 09:30")) from exc


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes (easier on a phone than a multi-select list)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:  # unknown values are reported by the service
        return None


class _Lenient:
    """Choices are checked by the services (with their Chinese messages), not by WTForms."""

    def pre_validate(self, form: Any) -> None:
        return None


class LenientSelectField(_Lenient, SelectField):
    pass


class LenientRadioField(_Lenient, RadioField):
    pass


def _text(label: Any, rows: int = 0, maxlength: int | None = None, **kw: Any) -> Any:
    render_kw = dict(kw.pop("render_kw", {}) or {})
    if maxlength:
        render_kw["maxlength"] = maxlength
    if rows:
        render_kw["rows"] = rows
        return TextAreaField(label, validators=[Optional()], render_kw=render_kw, **kw)
    return StringField(label, validators=[Optional()], render_kw=render_kw, **kw)


class ShortNameForm(FlaskForm):
    """基地简称 (written to the registry)."""

    short_name = _text(_l("基地简称"), maxlength=50, description=_l("如“华润”，方案标题将为“华润融通创新主题日活动方案”。填写后写入示范基地名录。"))


class TextSectionForm(FlaskForm):
    """One text section: goals, main venue or emergency plan."""

    text = _text(_l("内容"), rows=8)


class SessionForm(FlaskForm):
    title = _text(_l("场次名称"), maxlength=200)
    kind = LenientSelectField(_l("场次类型"))
    day = ChineseDateField(_l("日期"), validators=[Optional()])
    start_time = ChineseTimeField(_l("开始时间（北京时间）"), validators=[Optional()])
    end_time = ChineseTimeField(_l("结束时间（北京时间）"), validators=[Optional()])
    venue = _text(_l("会场 / 房间"), maxlength=200, description=_l("线下场次填写会场或房间；仅线上举办的场次可不填"))
    online_url = _text(
        _l("线上链接"), maxlength=500, render_kw={"inputmode": "url", "placeholder": "https://"}, description=_l("直播或会议链接，以 http:// 或 https:// 开头")
    )
    access = LenientRadioField(_l("参加方式"))
    content_types = MultiCheckboxField(_l("本场服务的主题内容"), description=_l("全部场次合计至少涵盖 5 类中的 4 类"))
    description = _text(_l("简介（可选）"), rows=3)
    capacity = ChineseIntegerField(_l("本场人数上限（可选）"), validators=[Optional()], render_kw={"min": 1, "inputmode": "numeric"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _l("请选择"))] + list(services.session_kind_labels().items())
        self.access.choices = list(services.session_access_labels().items())
        self.content_types.choices = list(services.content_type_labels().items())
        if self.access.data is None:
            self.access.data = SessionAccess.OPEN.value

    @classmethod
    def for_session(cls, session: EventSession | None) -> SessionForm:
        if session is None:
            return cls()
        data = services.SessionData.of(session)
        return cls(data=data.__dict__)

    def values(self) -> services.SessionData:
        return services.SessionData(
            title=self.title.data or "",
            kind=self.kind.data or "",
            day=self.day.data if isinstance(self.day.data, date) else None,
            start_time=self.start_time.data if isinstance(self.start_time.data, time) else None,
            end_time=self.end_time.data if isinstance(self.end_time.data, time) else None,
            venue=self.venue.data or "",
            online_url=self.online_url.data or "",
            access=self.access.data or "",
            content_types=list(self.content_types.data or []),
            description=self.description.data or "",
            capacity=self.capacity.data,
        )


class BaseAddForm(FlaskForm):
    base_id = LenientSelectField(_l("参与基地"), coerce=str)
    role = _text(_l("分工"), maxlength=300, description=_l("该基地在活动中承担的工作，如“开放检测平台，发布应用场景”"))

    def set_choices(self, plan: DetailPlan) -> None:
        self.base_id.choices = [("", _l("— 从基地名录中选择 —"))] + [
            (str(b.id), f"{b.name}（{b.display_short_name}）") for b in services.registry_choices(plan)
        ]

    @property
    def base_id_value(self) -> int | None:
        raw = str(self.base_id.data or "").strip()
        return int(raw) if raw.isdigit() else None


class BaseRoleForm(FlaskForm):
    role = _text(_l("分工"), maxlength=300)


class NeedForm(FlaskForm):
    title = _text(_l("需求名称"), maxlength=200)
    field = _text(_l("技术领域"), maxlength=100)
    description = _text(_l("需求描述"), rows=4)
    expected_result = _text(_l("预期成果（可选）"), rows=3)
    budget_min = ChineseIntegerField(_l("预算下限（万元，可选）"), validators=[Optional()], render_kw={"min": 0, "inputmode": "numeric"})
    budget_max = ChineseIntegerField(
        _l("预算上限（万元，可选）"), validators=[Optional()], render_kw={"min": 0, "inputmode": "numeric"}, description=_l("上下限都不填表示“面议”")
    )
    response_deadline = ChineseDateField(_l("揭榜截止日期（北京时间）"), validators=[Optional()], description=_l("当天 23:59:59 截止；不能晚于活动结束日期"))

    @classmethod
    def for_need(cls, need: TechNeed | None) -> NeedForm:
        return cls() if need is None else cls(data=services.NeedData.of(need).__dict__)

    def values(self) -> services.NeedData:
        return services.NeedData(
            title=self.title.data or "",
            field=self.field.data or "",
            description=self.description.data or "",
            expected_result=self.expected_result.data or "",
            budget_min=self.budget_min.data,
            budget_max=self.budget_max.data,
            response_deadline=self.response_deadline.data if isinstance(self.response_deadline.data, date) else None,
        )


class ResourceForm(FlaskForm):
    name = _text(_l("资源名称"), maxlength=200)
    kind = LenientSelectField(_l("资源类型"))
    description = _text(_l("说明"), rows=3)
    access_terms = _text(_l("开放方式与使用条件"), rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _l("请选择"))] + list(services.resource_kind_labels().items())

    @classmethod
    def for_resource(cls, resource: SharedResource | None) -> ResourceForm:
        return cls() if resource is None else cls(data=services.ResourceData.of(resource).__dict__)

    def values(self) -> services.ResourceData:
        return services.ResourceData(self.name.data or "", self.kind.data or "", self.description.data or "", self.access_terms.data or "")


class RegistrationForm(FlaskForm):
    capacity = ChineseIntegerField(_l("报名人数上限"), validators=[Optional()], render_kw={"min": 1, "inputmode": "numeric"})
    opens_at = ChineseDateTimeLocalField(_l("报名开始时间（北京时间）"), format=DATETIME_LOCAL_FORMATS, validators=[Optional()])
    closes_at = ChineseDateTimeLocalField(
        _l("报名截止时间（北京时间）"), format=DATETIME_LOCAL_FORMATS, validators=[Optional()], description=_l("不能晚于活动结束")
    )
    approval_mode = LenientRadioField(_l("报名审核方式"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.approval_mode.choices = list(services.approval_mode_labels().items())
        if self.approval_mode.data is None:
            self.approval_mode.data = ApprovalMode.AUTOMATIC.value

    @classmethod
    def for_plan(cls, plan: DetailPlan) -> RegistrationForm:
        def local(value: Any) -> Any:
            return to_shanghai(value).replace(tzinfo=None) if value else None

        return cls(
            data={
                "capacity": plan.registration_capacity,
                "opens_at": local(plan.registration_opens_at),
                "closes_at": local(plan.registration_closes_at),
                "approval_mode": plan.approval_mode,
            }
        )

    def values(self) -> services.RegistrationData:
        return services.RegistrationData(
            capacity=self.capacity.data,
            opens_at=local_to_utc(self.opens_at.data) if self.opens_at.data else None,
            closes_at=local_to_utc(self.closes_at.data) if self.closes_at.data else None,
            approval_mode=self.approval_mode.data or "",
        )


class AttachmentForm(FlaskForm):
    file = FileField(
        _l("文件"),
        render_kw={"accept": ".pdf,.docx,.xlsx,.png,.jpg,.jpeg"},
        description=_l("PDF、Word (DOCX)、Excel (XLSX)、PNG、JPEG，每个不超过 20 MB；按文件内容检查类型"),
    )
    title = _text(_l("标题（可选）"), maxlength=200)


class DecisionForm(FlaskForm):
    """Approve or request changes on one version (the version number guards against a stale page)."""

    version = HiddenField()
    comment = _text(_l("审核意见"), rows=4)
    confirm = BooleanField(_l("我已审阅该版本，确认提交审核决定"))

    @property
    def version_number(self) -> int | None:
        raw = str(self.version.data or "").strip()
        return int(raw) if raw.isdigit() else None
