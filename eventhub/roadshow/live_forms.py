"""Forms of the live pages: interest (对接意向), a declared conflict, publishing the results.

Score sheets are not a WTForms form: their fields are the event's rubric criteria, read by
:func:`eventhub.roadshow.live_views._parse_sheet`; the CSRF token of those forms is checked by
the app-wide CSRF protection like every other POST.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from eventhub.roadshow import live


class InterestForm(FlaskForm):
    """“有兴趣，请联系我” with an optional note for the project."""

    note = TextAreaField(
        _l("留言（可选）"),
        validators=[Optional(), Length(max=live.NOTE_MAX)],
        render_kw={"rows": 2, "maxlength": live.NOTE_MAX, "placeholder": _l("例如：关注贵项目的中试计划，欢迎联系。")},
    )


class ConflictForm(FlaskForm):
    reason = StringField(_l("利益冲突原因"), validators=[Optional(), Length(max=300)], render_kw={"maxlength": 300})


class PublishForm(FlaskForm):
    confirm = BooleanField(_l("我已核对获奖名单，确认公布"))
