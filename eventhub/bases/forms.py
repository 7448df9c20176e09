"""Forms of the base registry (Flask-WTF: every form carries a CSRF token).

Field checks reuse the parsers of :mod:`eventhub.bases.services`, so a value the form
accepts is exactly a value the import accepts, with the same Chinese messages.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Field, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from eventhub.bases import services
from eventhub.bases.models import BASE_TYPE_LABELS, BaseType, Direction

#: Provincial-level units (and 中央企业 for central state-owned enterprises), offered as
#: suggestions; the field stays free text because official lists use other groupings too.
PROVINCES = (
    "中央企业",
    "北京市",
    "天津市",
    "河北省",
    "山西省",
    "内蒙古自治区",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "上海市",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "广西壮族自治区",
    "海南省",
    "重庆市",
    "四川省",
    "贵州省",
    "云南省",
    "西藏自治区",
    "陕西省",
    "甘肃省",
    "青海省",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "新疆生产建设兵团",
    "香港特别行政区",
    "澳门特别行政区",
)


class Parsed:
    """A WTForms validator running a services parser; stores the normalised value."""

    def __init__(self, field_name: str) -> None:
        self.field_name = field_name

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data in (None, "") and self.field_name not in services.REQUIRED_FIELDS:
            return
        try:
            value = services.parse_field(self.field_name, field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if self.field_name != "batch":  # keep the typed text for batch (“第三批”) on re-display
            field.data = value


def _length(limit: int) -> Length:
    return Length(max=limit, message=_l("最多 %(max)d 个字符"))


class BaseForm(FlaskForm):
    """新增 / 编辑示范基地."""

    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), _length(200), Parsed("name")])
    short_name = StringField(
        _l("简称"),
        validators=[Optional(), _length(50)],
        description=_l("用于活动方案标题，如“华润融通创新主题日活动方案”；不填则使用全称"),
    )
    batch = StringField(_l("批次"), validators=[DataRequired(_l("请填写批次")), Parsed("batch")], description=_l("数字，如 3（第三批）"))
    direction = SelectField(_l("方向"), validators=[DataRequired(_l("请选择方向")), Parsed("direction")], validate_choice=False)
    base_type = SelectField(
        _l("类型"),
        validators=[DataRequired(_l("请选择类型")), Parsed("base_type")],
        validate_choice=False,
        description=_l("只有企业示范基地可以承办“融通创新”主题日"),
    )
    province = StringField(
        _l("省份"),
        validators=[DataRequired(_l("请填写省份")), _length(50)],
        render_kw={"list": "province-options", "autocomplete": "off"},
        description=_l("省级行政区，中央企业填“中央企业”"),
    )
    source = StringField(_l("来源"), validators=[Optional(), _length(200)], description=_l("认定文件文号，如 国办发〔2020〕51号"))
    contact_name = StringField(_l("联系人"), validators=[Optional(), _length(100)])
    contact_phone = StringField(
        _l("联系电话"),
        validators=[Optional(), _length(30), Parsed("contact_phone")],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
        description=_l("手机（13812345678）或带区号的固定电话（010-68501981）"),
    )
    contact_email = StringField(
        _l("联系邮箱"),
        validators=[Optional(), _length(254), Parsed("contact_email")],
        render_kw={"inputmode": "email", "autocomplete": "off"},
    )

    def __init__(self, *args: Any, base_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_id = base_id
        self.direction.choices = [("", _l("请选择"))] + [(d.value, d.value) for d in Direction]
        self.base_type.choices = [("", _l("请选择"))] + [(t.value, BASE_TYPE_LABELS[t]) for t in BaseType]

    def validate_name(self, field: Field) -> None:
        if field.data and services.name_taken(field.data, exclude_id=self.base_id):
            raise ValidationError(_l("已有同名的示范基地"))

    def values(self) -> dict[str, Any]:
        """The submitted fields, for services.create_base / update_base."""
        return {name: getattr(self, name).data for name in services.FIELDS}


class ImportForm(FlaskForm):
    """上传 CSV / Excel 文件."""

    file = FileField(
        _l("文件"),
        validators=[FileRequired(_l("请选择要导入的文件"))],
        render_kw={"accept": ".csv,.xlsx,.txt,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        description=_l("CSV（UTF-8 或 GBK 编码）或 Excel 工作簿 (.xlsx)，第一行为表头"),
    )


class ConfirmImportForm(FlaskForm):
    """确认导入: the token names the parsed file kept on the server."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{32,64}$")])
