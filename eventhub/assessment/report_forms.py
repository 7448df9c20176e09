"""Forms of the score and report pages: weights, the assessor's comment and finalisation, publication."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from eventhub.assessment.scores import METRICS

COMMENT_MAX = 5000


class WeightsForm(FlaskForm):
    """One number ≥ 0 per metric; they need not sum to 1 or 100 (the score divides by their sum)."""


for _metric in METRICS:
    setattr(
        WeightsForm,
        _metric.key,
        DecimalField(
            _metric.label, places=None, validators=[InputRequired(), NumberRange(min=0, max=1000)], render_kw={"step": "any", "min": 0, "inputmode": "decimal"}
        ),
    )


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("评估意见"), validators=[Optional(), Length(max=COMMENT_MAX)], render_kw={"rows": 6, "maxlength": COMMENT_MAX})


class FinaliseForm(FlaskForm):
    comment = TextAreaField(_l("评估意见"), validators=[Optional(), Length(max=COMMENT_MAX)], render_kw={"rows": 6, "maxlength": COMMENT_MAX})
    confirm = BooleanField(_l("我已核对各项数据，确认定稿（数据将被冻结）"))


class ConfirmForm(FlaskForm):
    """A confirmation box for publishing / reopening."""

    confirm = BooleanField(_l("我已确认"))
