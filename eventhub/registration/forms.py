"""The public registration form and the private page's cancel form.

Only the fixed fields are WTForms fields (CSRF, typed values kept, errors at the field). The
sessions, interests and the host's questions depend on the publication, so the template renders
them from the posted values (``request.form``) and the service checks them: every rule lives in
:func:`eventhub.registration.services.clean_input`, one place for the form and the API.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice

from eventhub.registration import services
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType, RegistrationQuestion
from eventhub.registration.questions import field_name

REQUIRED = ("name", "organisation", "org_type", "position", "mobile", "email")


class RegistrationForm(FlaskForm):
    """报名表 fixed fields; ``website`` is a honeypot hidden from people."""

    name = StringField(_l("姓名"), render_kw={"maxlength": services.NAME_MAX, "autocomplete": "name"})
    organisation = StringField(_l("单位名称"), render_kw={"maxlength": services.ORG_MAX, "autocomplete": "organization"})
    org_type = SelectField(
        _l("单位类型"), choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(t.value, _l(ORG_TYPE_LABELS[t])) for t in OrgType], validate_choice=False
    )
    uscc = StringField(
        _l("统一社会信用代码"),
        render_kw={"maxlength": 22, "autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
        description=_l("中小企业、初创企业、大型企业必填：18 位，见营业执照。"),
    )
    position = StringField(_l("职务"), render_kw={"maxlength": services.POSITION_MAX, "autocomplete": "organization-title"})
    mobile = TelField(_l("手机号码"), render_kw={"maxlength": 20, "inputmode": "tel", "autocomplete": "tel"})
    email = EmailField(_l("电子邮箱"), render_kw={"maxlength": 254, "autocomplete": "email"}, description=_l("报名结果和专属链接将发送到此邮箱。"))
    website = StringField(_l("网址（请勿填写）"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in REQUIRED:
            self[name].flags.required = True


class EditForm(FlaskForm):
    """What a registrant may change on the private page.

    Not the name, mobile, e-mail or sessions: the name is the person the ticket admits (a new
    name would hand the ticket to someone else without the host seeing it), mobile and e-mail are
    the duplicate check and the mail address, and the sessions hold places (change them with
    the host). The interests and the host's questions come from the posted lists, as on the form.
    """

    organisation = StringField(_l("单位名称"), render_kw={"maxlength": services.ORG_MAX, "autocomplete": "organization"})
    org_type = SelectField(
        _l("单位类型"), choices=[SelectChoice("", _l("请选择"))] + [SelectChoice(t.value, _l(ORG_TYPE_LABELS[t])) for t in OrgType], validate_choice=False
    )
    uscc = StringField(
        _l("统一社会信用代码"),
        render_kw={"maxlength": 22, "autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
        description=_l("中小企业、初创企业、大型企业必填：18 位，见营业执照。"),
    )
    position = StringField(_l("职务"), render_kw={"maxlength": services.POSITION_MAX, "autocomplete": "organization-title"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("organisation", "org_type", "position"):
            self[name].flags.required = True


def edit_data(form: EditForm, posted: MultiDict, questions: list[RegistrationQuestion]) -> dict[str, Any]:
    """What :func:`services.update_answers` reads from the edit form (every editable key, so an
    unticked box really clears a choice)."""
    return {
        "organisation": form.organisation.data or "",
        "org_type": form.org_type.data or "",
        "uscc": form.uscc.data or "",
        "position": form.position.data or "",
        "need_ids": posted.getlist("need_ids"),
        "resource_ids": posted.getlist("resource_ids"),
        "answers": _answers(posted, questions),
    }


def _answers(posted: MultiDict, questions: list[RegistrationQuestion]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in questions:
        key = field_name(question)
        values = posted.getlist(key)
        answers[key] = values if question.kind == "multiple" else (values[0] if values else "")
    return answers


def current_values(registration: Any, questions: list[RegistrationQuestion]) -> MultiDict:
    """A registration's stored answers as the posted lists the template reads (for the first GET)."""
    values = MultiDict()
    interests = registration.interests or {}
    for key, stored in (("need_ids", interests.get("needs", [])), ("resource_ids", interests.get("resources", []))):
        for item in stored:
            values.add(key, str(item))
    answers = registration.answers or {}
    for question in questions:
        if str(question.id) not in answers:
            continue
        value = answers[str(question.id)]
        if isinstance(value, bool):
            values.add(field_name(question), "yes" if value else "no")
        elif isinstance(value, list):
            for item in value:
                values.add(field_name(question), str(item))
        elif value is not None:
            values.add(field_name(question), str(value))
    return values


class CancelForm(FlaskForm):
    """The registrant cancels; the box must be ticked (a mis-tap on a phone must not cancel)."""

    confirm = BooleanField(_l("我确认取消本次报名（已确认的名额将释放给候补人员）"))


def service_data(form: RegistrationForm, posted: MultiDict, questions: list[RegistrationQuestion]) -> dict[str, Any]:
    """What :func:`services.register` reads, from the form and the posted lists."""
    answers = _answers(posted, questions)
    return {
        "name": form.name.data or "",
        "organisation": form.organisation.data or "",
        "org_type": form.org_type.data or "",
        "uscc": form.uscc.data or "",
        "position": form.position.data or "",
        "mobile": form.mobile.data or "",
        "email": form.email.data or "",
        "session_ids": posted.getlist("session_ids"),
        "need_ids": posted.getlist("need_ids"),
        "resource_ids": posted.getlist("resource_ids"),
        "answers": answers,
    }
