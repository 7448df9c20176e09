"""Survey forms: the organiser's questionnaire settings and questions, and the participant's CSRF.

The participant's answers are parsed by :func:`eventhub.assessment.surveys.parse_answers`
(the questions vary per version); WTForms here only carries the CSRF token for that page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from eventhub.assessment.models import SurveyQuestionKind
from eventhub.assessment.surveys import BASE_ORG_TYPES, KIND_LABELS, MAX_OPEN_DAYS
from eventhub.registration.models import ORG_TYPE_LABELS


class SurveyAnswerForm(FlaskForm):
    """Only the CSRF token: the questions are read from the request by the service."""


class ActionForm(FlaskForm):
    """A button that changes something (new version, move, remove): CSRF only."""


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("我已确认"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SettingsForm(FlaskForm):
    title = StringField(_l("问卷标题"), validators=[DataRequired(_l("请填写问卷标题。")), Length(max=200)])
    intro = TextAreaField(_l("问卷说明"), validators=[Optional(), Length(max=2000)])
    invite_org_types = MultiCheckboxField(_l("另外邀请的单位类型"), validate_choice=False)
    open_days = IntegerField(
        _l("活动结束后开放天数"), validators=[DataRequired(_l("请填写开放天数。")), NumberRange(1, MAX_OPEN_DAYS, _l("开放天数须为 1 到 180 之间的整数。"))]
    )
    reminder_days = StringField(_l("提醒（邀请后第几天，逗号分隔）"), validators=[Optional(), Length(max=50)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invite_org_types.choices = [(t.value, label) for t, label in ORG_TYPE_LABELS.items() if t.value not in BASE_ORG_TYPES]


class QuestionForm(FlaskForm):
    label = StringField(_l("题目"), validators=[DataRequired(_l("请填写题目。")), Length(max=300)])
    kind = SelectField(_l("题型"), choices=[(k.value, label) for k, label in KIND_LABELS.items()])
    help_text = StringField(_l("说明（选填）"), validators=[Optional(), Length(max=300)])
    choices = TextAreaField(_l("选项（单选 / 多选，每行一个）"), validators=[Optional()])
    key = StringField(_l("标识（选填；overall、nps 等用于评估计分）"), validators=[Optional(), Length(max=40)])
    required = BooleanField(_l("必答"), default=True)
    next_step = HiddenField()


KIND_CHOICES = [k.value for k in SurveyQuestionKind]
