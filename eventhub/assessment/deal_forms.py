"""Forms of the deal pages: the host's deal form, the counterparty's answer, confirmations.

Only the fields and CSRF are WTForms' job; every rule (required fields, 统一社会信用代码, amount,
date window, evidence by content) is in :mod:`eventhub.assessment.deals`, whose Chinese messages
the views put back next to the fields, so form and service never disagree.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from eventhub.assessment import deals
from eventhub.assessment.models import DEAL_KIND_LABELS, DEAL_STAGE_LABELS, Deal, DealKind, DealStage
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType

REQUIRED = ("lead_party", "counterparty_name", "counterparty_type", "counterparty_email", "kind", "stage", "deal_date")


class DealForm(FlaskForm):
    """合作项目登记表."""

    lead_party = StringField(_l("牵头方"), render_kw={"maxlength": deals.NAME_MAX}, description=_l("承办基地或参与合作的其他大型企业（示范基地）。"))
    counterparty_name = StringField(_l("合作方名称"), render_kw={"maxlength": deals.NAME_MAX, "autocomplete": "organization"})
    counterparty_type = SelectField(
        _l("合作方类型"),
        choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(t.value, _l(ORG_TYPE_LABELS[t])) for t in OrgType],
        validate_choice=False,
    )
    counterparty_uscc = StringField(
        _l("合作方统一社会信用代码"),
        render_kw={"maxlength": 22, "autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
        description=_l("中小企业、初创企业、大型企业必填：18 位，见营业执照；高校、科研院所等有则填写。"),
    )
    counterparty_contact = StringField(_l("合作方联系人"), render_kw={"maxlength": deals.CONTACT_MAX})
    counterparty_email = EmailField(
        _l("合作方电子邮箱"),
        render_kw={"maxlength": 254, "autocomplete": "email"},
        description=_l("确认链接将发送到此邮箱；合作方确认后才计入评估。"),
    )
    kind = SelectField(
        _l("合作类型"),
        choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(k.value, _l(DEAL_KIND_LABELS[k])) for k in DealKind],
        validate_choice=False,
    )
    stage = SelectField(
        _l("阶段"),
        choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(s.value, _l(DEAL_STAGE_LABELS[s])) for s in DealStage],
        validate_choice=False,
    )
    amount_wan = StringField(
        _l("金额（万元）"),
        render_kw={"inputmode": "decimal", "maxlength": 20},
        description=_l("没有金额可不填；正式签约的投资、采购项目必填。"),
    )
    deal_date = StringField(_l("签约或达成意向的日期"), render_kw={"type": "date"})
    description = TextAreaField(
        _l("简要说明"),
        render_kw={"rows": 4, "data-zishu-target": "#description-count", "data-zishu-max": deals.DESCRIPTION_MAX_ZISHU},
        description=_l("不超过 %(n)d 字。", n=deals.DESCRIPTION_MAX_ZISHU),
    )
    evidence = MultipleFileField(
        _l("佐证材料"),
        render_kw={"accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"},
        description=_l("签约页、现场照片等：PDF、PNG、JPEG，每个不超过 20 MB，最多 %(n)d 个；系统按文件内容检查。", n=deals.EVIDENCE_MAX),
    )
    source_type = HiddenField()
    source_id = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in REQUIRED:
            self[name].flags.required = True

    def fill(self, values: dict[str, Any]) -> None:
        """Starting values on GET (a deal, or a prefill from an answer or a lead)."""
        for name in (*deals.FIELDS, "source_type", "source_id"):
            if name in values and name in self:
                value = values[name]
                if name == "deal_date" and value is not None and not isinstance(value, str):
                    value = value.isoformat()
                if name == "amount_wan" and value is not None:
                    value = f"{value:g}"
                self[name].data = "" if value is None else str(value)


def deal_values(deal: Deal) -> dict[str, Any]:
    return {name: getattr(deal, name) for name in (*deals.FIELDS, "source_type", "source_id")}


def form_data(form: DealForm) -> dict[str, Any]:
    """What :func:`deals.record_deal` / :func:`deals.update_deal` read."""
    return {name: form[name].data or "" for name in (*deals.FIELDS, "source_type", "source_id")}


class ActionForm(FlaskForm):
    """A confirmation step (withdraw, resend): only the CSRF token."""


class AnswerForm(FlaskForm):
    """The counterparty's answer: confirm, or dispute with a reason."""

    action = HiddenField()
    note = TextAreaField(
        _l("说明（提出异议时必填）"),
        render_kw={"rows": 3, "maxlength": deals.NOTE_MAX},
        description=_l("例如：金额或合作内容与实际不符、贵单位未参与该合作。"),
    )
