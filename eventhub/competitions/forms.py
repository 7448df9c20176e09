"""Competition forms. Only parsing lives here; every rule is checked by
:mod:`eventhub.competitions.services` (and the shared project fields by
:func:`eventhub.roadshow.project_fields.clean_project_fields`), one place for pages and tests."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, DateTimeLocalField, EmailField, SelectField, SelectMultipleField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from eventhub.competitions import services
from eventhub.competitions.models import SHOWCASE_LABELS, Showcase
from eventhub.core.timeutil import local_to_utc, to_shanghai
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType
from eventhub.roadshow import project_fields as pf
from eventhub.roadshow.models import PROJECT_STAGE_LABELS, ProjectStage


def org_type_choices(blank: bool = True) -> list[SelectChoice]:
    head = [SelectChoice("", _l("请选择"))] if blank else []
    return head + [SelectChoice(t.value, _l(ORG_TYPE_LABELS[t])) for t in OrgType]


class CompetitionForm(FlaskForm):
    """Create / edit a competition (name, organiser, description, linked theme day, window, eligibility)."""

    name = StringField(_l("大赛名称"), render_kw={"maxlength": services.NAME_MAX})
    organiser_name = StringField(_l("主办单位"), render_kw={"maxlength": services.ORGANISER_MAX})
    description = TextAreaField(_l("大赛介绍"), render_kw={"rows": 6})
    event_id = SelectField(_l("关联主题日（可选）"), choices=[], validate_choice=False)
    entry_opens_at = DateTimeLocalField(_l("报名开始（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    entry_closes_at = DateTimeLocalField(_l("报名截止（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    org_types = SelectMultipleField(_l("限定单位类型（不选则不限）"), choices=org_type_choices(blank=False), validate_choice=False)
    founded_after = DateField(_l("限定成立日期晚于（不填则不限）"), validators=[Optional()])
    regions = SelectMultipleField(_l("限定地区（不选则不限）"), choices=[SelectChoice(r, r) for r in services.REGIONS], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name.flags.required = True

    def fill(self, competition: Any) -> None:
        self.name.data = competition.name
        self.organiser_name.data = competition.organiser_name
        self.description.data = competition.description
        self.event_id.data = str(competition.event_id or "")
        self.entry_opens_at.data = to_shanghai(competition.entry_opens_at).replace(tzinfo=None) if competition.entry_opens_at else None
        self.entry_closes_at.data = to_shanghai(competition.entry_closes_at).replace(tzinfo=None) if competition.entry_closes_at else None
        rules = competition.eligibility or {}
        self.org_types.data = list(rules.get("org_types") or [])
        from datetime import date

        self.founded_after.data = date.fromisoformat(rules["founded_after"]) if rules.get("founded_after") else None
        self.regions.data = list(rules.get("regions") or [])

    def service_data(self) -> dict[str, Any]:
        return {
            "name": self.name.data or "",
            "organiser_name": self.organiser_name.data or "",
            "description": self.description.data or "",
            "event_id": int(self.event_id.data) if (self.event_id.data or "").isdigit() else None,
            "entry_opens_at": local_to_utc(self.entry_opens_at.data) if self.entry_opens_at.data else None,
            "entry_closes_at": local_to_utc(self.entry_closes_at.data) if self.entry_closes_at.data else None,
            "org_types": self.org_types.data or [],
            "founded_after": self.founded_after.data,
            "regions": self.regions.data or [],
        }


class EntryForm(FlaskForm):
    """The public entry form's fixed fields; presenters come from parallel lists (``presenter_*``)."""

    track_id = SelectField(_l("参赛赛道"), choices=[], validate_choice=False)
    org_name = StringField(_l("单位名称"), render_kw={"maxlength": pf.ORG_NAME_MAX, "autocomplete": "organization"})
    org_type = SelectField(_l("单位类型"), choices=org_type_choices(), validate_choice=False)
    uscc = StringField(
        _l("统一社会信用代码"),
        render_kw={"maxlength": 22, "autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
        description=_l("企业必填：18 位，见营业执照；最后一位是校验位。"),
    )
    founded_on = StringField(_l("成立日期"), render_kw={"type": "date"})
    region = SelectField(_l("所在地区"), choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(r, r) for r in services.REGIONS], validate_choice=False)
    contact_name = StringField(_l("联系人姓名"), render_kw={"maxlength": pf.NAME_MAX, "autocomplete": "name"})
    contact_mobile = TelField(_l("联系人手机号码"), render_kw={"maxlength": 20, "inputmode": "tel", "autocomplete": "tel"})
    contact_email = EmailField(
        _l("联系人电子邮箱"), render_kw={"maxlength": 254, "autocomplete": "email"}, description=_l("专属链接和各轮结果将发送到此邮箱。")
    )
    project_name = StringField(_l("项目名称"), render_kw={"maxlength": pf.PROJECT_NAME_MAX})
    field = StringField(_l("技术领域"), render_kw={"maxlength": pf.FIELD_MAX})
    stage = SelectField(
        _l("项目阶段"),
        choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(s.value, _l(PROJECT_STAGE_LABELS[s])) for s in ProjectStage],
        validate_choice=False,
    )
    seeking = TextAreaField(_l("融资或合作需求"), render_kw={"rows": 3, "maxlength": pf.SEEKING_MAX})
    summary = TextAreaField(_l("项目简介"), render_kw={"rows": 8})
    deck = FileField(_l("项目路演材料（PDF，可选）"))
    consent = BooleanField(_l("我确认所填信息真实，并同意主办单位和评审专家为评审查看。"))
    website = StringField(_l("网址（请勿填写）"))  # honeypot

    REQUIRED = (
        "track_id",
        "org_name",
        "org_type",
        "founded_on",
        "region",
        "contact_name",
        "contact_mobile",
        "contact_email",
        "project_name",
        "stage",
        "seeking",
        "summary",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.REQUIRED:
            self[name].flags.required = True

    def fill(self, entry: Any) -> None:
        """The organiser's edit page: the entry's current values (presenters: :func:`presenter_rows_of`)."""
        self.track_id.data = str(entry.track_id)
        for name in ("org_name", "org_type", "uscc", "region", "contact_name", "contact_mobile", "contact_email", "project_name", "field", "stage"):
            self[name].data = getattr(entry, name) or ""
        self.founded_on.data = entry.founded_on.isoformat() if entry.founded_on else ""
        self.seeking.data = entry.seeking or ""
        self.summary.data = entry.summary or ""

    def service_data(self, posted: MultiDict) -> dict[str, Any]:
        data = {name: (self[name].data or "") for name in ("track_id", "org_name", "org_type", "uscc", "founded_on", "region", "contact_name")}
        data.update({name: (self[name].data or "") for name in ("contact_mobile", "contact_email", "project_name", "field", "stage", "seeking", "summary")})
        data["presenters"] = pf.presenters_from_form(posted)
        return data


PRESENTER_ROWS = 3


def presenter_rows(posted: MultiDict | None) -> list[dict[str, str]]:
    """What the presenter rows show: the posted values (kept on errors) padded to three rows."""
    rows = pf.presenters_from_form(posted) if posted is not None else []
    while len(rows) < PRESENTER_ROWS:
        rows.append(dict.fromkeys(pf.PRESENTER_KEYS, ""))
    return rows


def presenter_rows_of(entry: Any) -> list[dict[str, str]]:
    """An entry's stored presenters as form rows, padded to three."""
    rows = [{key: str((p or {}).get(key) or "") for key in pf.PRESENTER_KEYS} for p in entry.presenters or []]
    while len(rows) < PRESENTER_ROWS:
        rows.append(dict.fromkeys(pf.PRESENTER_KEYS, ""))
    return rows


class ConfirmForm(FlaskForm):
    """A destructive or final action: the box must be ticked."""

    confirm = BooleanField(_l("我确认执行此操作"))


class RecommendForm(FlaskForm):
    ref = SelectField(_l("推荐项目"), choices=[], validate_choice=False)
    showcase = SelectField(_l("推荐至"), choices=[SelectChoice(s.value, _l(SHOWCASE_LABELS[s])) for s in Showcase], validate_choice=False)
    reason = TextAreaField(_l("推荐理由"), render_kw={"rows": 3})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("ref", "showcase", "reason"):
            self[name].flags.required = True


class ReopenForm(FlaskForm):
    """撤销本轮结果: the reason is required (checked by the service) and kept in the audit log."""

    reason = TextAreaField(
        _l("撤销原因"),
        render_kw={"rows": 3, "maxlength": services.REASON_MAX},
        description=_l("例如：并列处理方式选错；有评分表迟交。原因将记录在审计日志中。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.flags.required = True
