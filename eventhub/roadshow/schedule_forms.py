"""Forms of the host's schedule pages. Only CSRF and the typed values live here; every rule is in
:mod:`eventhub.roadshow.schedule`, so the form and the service never disagree."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from eventhub.events.content import PublicSession
from eventhub.roadshow import schedule as svc
from eventhub.roadshow.models import PANEL_ROLE_LABELS, PanelRole


class SessionForm(FlaskForm):
    """路演场次: where, when, how long each pitch is, the track and the chair."""

    title = StringField(_l("场次名称"), render_kw={"maxlength": svc.TITLE_MAX})
    room = StringField(_l("会场 / 房间"), render_kw={"maxlength": svc.ROOM_MAX}, description=_l("同一会场的场次时间不能重叠；纯线上场次可留空。"))
    online_url = StringField(_l("线上直播链接（可选）"), render_kw={"maxlength": svc.URL_MAX, "inputmode": "url"})
    day = SelectField(_l("日期"), validate_choice=False)
    start_time = StringField(_l("开始时间（北京时间）"), render_kw={"type": "time", "step": 60})
    end_time = StringField(_l("结束时间（北京时间）"), render_kw={"type": "time", "step": 60})
    slot_minutes = StringField(
        _l("每个项目时长（分钟）"), render_kw={"type": "number", "min": svc.SLOT_MIN, "max": svc.SLOT_MAX}, description=_l("含路演与问答。")
    )
    breaks = TextAreaField(_l("休息时段（可选）"), render_kw={"rows": 2, "placeholder": "10:30-10:45"}, description=_l("每行一个，如 15:30-15:45。"))
    track = SelectField(_l("赛道（技术领域）"), validate_choice=False, description=_l("同领域的项目优先排入该场次；留空表示不限。"))
    chair_name = StringField(_l("主持人"), render_kw={"maxlength": svc.CHAIR_MAX})
    event_session_id = SelectField(_l("对应活动议程（可选）"), validate_choice=False)

    def set_choices(self, days: list[date], tracks: list[str], agenda: list[PublicSession]) -> None:
        self.day.choices = [SelectChoice(d.isoformat(), d.isoformat()) for d in days]
        self.track.choices = [SelectChoice("", _l("不限"))] + [SelectChoice(t, t) for t in tracks]
        self.event_session_id.choices = [SelectChoice("", _l("不关联"))] + [
            SelectChoice(str(s.id), f"{s.day.isoformat()} {s.start.strftime('%H:%M')}–{s.end.strftime('%H:%M')} {s.title}") for s in agenda
        ]

    def values(self) -> dict[str, Any]:
        return {name: self[name].data for name in svc.SESSION_FIELDS}


class PanelForm(FlaskForm):
    """Add a judge or an investor by the e-mail of their account."""

    email = EmailField(_l("账号邮箱"), render_kw={"maxlength": 254, "autocomplete": "off"})
    role = SelectField(_l("身份"), choices=[SelectChoice(r.value, _l(PANEL_ROLE_LABELS[r])) for r in PanelRole], validate_choice=False)


class ConfirmForm(FlaskForm):
    """A destructive or far-reaching action, confirmed with a tick."""

    confirm = BooleanField(_l("我已确认"))


class ActionForm(FlaskForm):
    """A button that posts (CSRF only)."""


class EditForm(FlaskForm):
    """Move a project into a slot, swap it with the project in that slot, or take it out."""

    application_id = SelectField(_l("项目"), validate_choice=False)
    slot_id = SelectField(_l("调整到"), validate_choice=False)
    mode = HiddenField(default="auto")
