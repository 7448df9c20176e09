"""Forms of the host's registration pages: bulk decisions, cancelling one registration, questions.

Only parsing and CSRF live here; the rules (who may be approved, the note a decline needs, what a
question may become) are in :mod:`eventhub.registration.services` and
:mod:`eventhub.registration.questions`, whose Chinese messages the views put next to the fields.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from eventhub.registration import questions as q
from eventhub.registration import services
from eventhub.registration.models import QuestionKind

BULK_ACTIONS = ("approve", "decline")


def parse_ids(values: list[str]) -> list[int]:
    """Selected registration ids from the check boxes (anything else is ignored), without repeats."""
    ids: list[int] = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if number > 0 and number not in ids:
            ids.append(number)
    return ids


class BulkForm(FlaskForm):
    """批量审核: the chosen ids come as repeated ``ids`` values; ``confirmed`` marks the second step."""

    action = HiddenField()
    confirmed = HiddenField()
    note = TextAreaField(
        _l("未通过的原因"),
        render_kw={"rows": 3, "maxlength": services.NOTE_MAX},
        description=_l("报名人会在通知邮件中看到这段说明（最多 500 字）。"),
    )


class CancelForm(FlaskForm):
    """The host cancels one registration; the box must be ticked."""

    confirm = BooleanField(_l("我确认取消这份报名（已确认的名额将按顺序递补给候补人员，报名人会收到邮件）"))


class ConfirmForm(FlaskForm):
    """A bare confirmation (removing a question, promoting the waiting list): CSRF only."""


class QuestionForm(FlaskForm):
    """A host question: wording, kind (fixed once created), required, choices one per line, help text."""

    label = StringField(_l("问题"), render_kw={"maxlength": q.LABEL_MAX})
    kind = SelectField(_l("题型"), choices=[SelectChoice(k.value, _l(q.QUESTION_KIND_LABELS[k])) for k in QuestionKind], validate_choice=False)
    required = BooleanField(_l("必答"))
    choices = TextAreaField(
        _l("选项"),
        render_kw={"rows": 5},
        description=_l("单选题和多选题填写，每行一个选项，至少 2 个。其他题型忽略此项。"),
    )
    help_text = TextAreaField(_l("填写说明"), render_kw={"rows": 2, "maxlength": q.HELP_MAX}, description=_l("显示在问题下方，可不填。"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label.flags.required = True
        self.kind.flags.required = True

    def choice_lines(self) -> list[str]:
        return [line.strip() for line in (self.choices.data or "").splitlines() if line.strip()]

    def apply_errors(self, errors: dict[str, str]) -> None:
        """Service messages next to their fields; anything without a field goes to ``label``."""
        for name, message in errors.items():
            target = self._fields.get(name) or self.label
            target.errors = [*list(target.errors or []), message]
