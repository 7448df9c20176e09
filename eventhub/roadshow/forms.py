"""Forms of the call for projects: the public application, the private page's actions, the host's settings and screening.

Only fixed fields are WTForms fields (CSRF, typed values kept, errors at the field); every rule is
in :mod:`eventhub.roadshow.calls` / :mod:`eventhub.roadshow.project_fields`, so the form and the
service never disagree. Presenters, technology needs and unavailable times are repeated rows that
the template renders from the posted lists and :func:`application_data` reads back.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice

from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow import calls
from eventhub.roadshow import project_fields as pf
from eventhub.roadshow.models import PROJECT_STAGE_LABELS, ProjectCall, ProjectStage

REQUIRED = ("org_name", "org_type", "contact_name", "contact_mobile", "contact_email", "project_name", "field", "stage", "seeking", "summary")


class ApplicationForm(FlaskForm):
    """项目申报表 fixed fields; ``website`` is a honeypot hidden from people."""

    org_name = StringField(_l("单位名称"), render_kw={"maxlength": pf.ORG_NAME_MAX, "autocomplete": "organization"})
    org_type = SelectField(
        _l("单位类型"), choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(t.value, _l(ORG_TYPE_LABELS[t])) for t in OrgType], validate_choice=False
    )
    uscc = StringField(
        _l("统一社会信用代码"),
        render_kw={"maxlength": 22, "autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
        description=_l("中小企业、初创企业、大型企业必填：18 位，见营业执照。"),
    )
    contact_name = StringField(_l("联系人姓名"), render_kw={"maxlength": pf.NAME_MAX, "autocomplete": "name"})
    contact_mobile = TelField(
        _l("联系人手机号码"), render_kw={"maxlength": 20, "inputmode": "tel", "autocomplete": "tel"}, description=_l("同一手机号码对同名项目只能申报一次。")
    )
    contact_email = EmailField(
        _l("联系人电子邮箱"), render_kw={"maxlength": 254, "autocomplete": "email"}, description=_l("筛选结果和专属链接将发送到此邮箱。")
    )
    project_name = StringField(_l("项目名称"), render_kw={"maxlength": pf.PROJECT_NAME_MAX})
    field = SelectField(_l("技术领域"), choices=[], validate_choice=False)
    stage = SelectField(
        _l("项目阶段"),
        choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(s.value, _l(PROJECT_STAGE_LABELS[s])) for s in ProjectStage],
        validate_choice=False,
    )
    seeking = TextAreaField(
        _l("融资或合作需求"), render_kw={"rows": 3, "maxlength": pf.SEEKING_MAX}, description=_l("例如：拟融资 500 万元；寻求中试场地和产业链合作伙伴。")
    )
    summary = TextAreaField(_l("项目简介"), render_kw={"rows": 8})
    deck = FileField(_l("路演材料（PDF）"), render_kw={"accept": "application/pdf,.pdf"}, description=_l("PDF 格式，不超过 20 MB；系统按文件内容检查。"))
    website = StringField(_l("网址（请勿填写）"))

    def __init__(self, call: ProjectCall, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field.choices = [SelectChoice("", _l("请选择"))] + [SelectChoice(f, f) for f in call.fields or []]
        self.summary.description = _l("%(min)d–%(max)d 字。", min=call.summary_min, max=call.summary_max)
        for name in REQUIRED:
            self[name].flags.required = True


def application_data(form: ApplicationForm, posted: MultiDict) -> dict[str, Any]:
    """What :func:`calls.submit_application` / :func:`calls.update_application` read from the form."""
    data: dict[str, Any] = {key: form[key].data or "" for key in pf.TEXT_KEYS}
    data["presenters"] = pf.presenters_from_form(posted)
    data["need_ids"] = posted.getlist("need_ids")
    data["unavailable"] = pf.unavailable_from_form(posted)
    return data


def posted_from_values(values: dict[str, Any]) -> MultiDict:
    """The stored application as a posted form (the edit page renders rows from it as after a POST)."""
    items: list[tuple[str, Any]] = []
    for p in values.get("presenters") or []:
        for key in pf.PRESENTER_KEYS:
            items.append((f"presenter_{key}", p.get(key, "")))
    for need_id in values.get("need_ids") or []:
        items.append(("need_ids", str(need_id)))
    for row in values.get("unavailable") or []:
        items.extend([("unavail_date", row["date"]), ("unavail_start", row["start"]), ("unavail_end", row["end"])])
    return MultiDict(items)


class WithdrawForm(FlaskForm):
    """The applicant withdraws; the box must be ticked (a mis-tap on a phone must not withdraw)."""

    confirm = BooleanField(_l("我确认撤回本项目申报（撤回后不能恢复）"))


class CallForm(FlaskForm):
    """The host's call settings. ``fields`` come from the checked need fields (a posted list) plus ``extra_fields``."""

    opens_at = StringField(_l("开始征集（北京时间）"), render_kw={"type": "datetime-local", "step": "1"})
    closes_at = StringField(
        _l("截止时间（北京时间）"), render_kw={"type": "datetime-local", "step": "1"}, description=_l("精确到秒；截止后不再接受申报和修改。")
    )
    intro = TextAreaField(_l("征集说明"), render_kw={"rows": 6, "maxlength": calls.INTRO_MAX}, description=_l("写明希望征集什么样的项目、路演形式和评审方式。"))
    extra_fields = StringField(_l("其他技术领域"), render_kw={"maxlength": 500}, description=_l("技术需求以外的领域，用逗号或顿号分隔。"))
    summary_min = IntegerField(_l("项目简介最少字数"), default=100, render_kw={"min": 1, "max": calls.SUMMARY_LIMIT_MAX})
    summary_max = IntegerField(_l("项目简介最多字数"), default=800, render_kw={"min": 1, "max": calls.SUMMARY_LIMIT_MAX})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("opens_at", "closes_at", "summary_min", "summary_max"):
            self[name].flags.required = True


class ScreenForm(FlaskForm):
    """One screening decision on one application."""

    action = HiddenField()
    note = TextAreaField(_l("说明（未入围的原因 / 需要修改的内容，申报方可见）"), render_kw={"rows": 3, "maxlength": calls.NOTE_MAX})


class BulkForm(FlaskForm):
    """Bulk actions on the list (ids come from the posted ``ids`` list)."""

    action = HiddenField()
