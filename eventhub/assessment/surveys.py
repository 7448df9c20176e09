"""SME satisfaction surveys (满意度调查): questionnaires, personal links, answers and figures.

Rules, all here so the views and the scheduler jobs stay thin:

* **Versions.** A campaign's questionnaire is a series of versions. A published version is
  never edited: "new version" copies it into a draft, publishing the draft retires the
  previous one, and every invitation keeps pointing at the version it was sent with, so old
  answers stay readable against their own questions. A campaign without any questionnaire gets
  the DEFAULT one (published version 1) on first use.
* **No link, no answer.** Invitations go to checked-in participants (a Checkin row exists for a
  ticket of the registration) whose organisation type is SME / start-up or one of the
  questionnaire's ``invite_org_types``. One invitation per (event, registration) — a unique
  constraint and ``INSERT … ON CONFLICT DO NOTHING``, so a second or concurrent run creates
  nothing. The link token is HMAC-derived from the app secret (like the registration's private
  link), only its SHA-256 is stored, and the reminder can carry the same link again.
* **When.** Invitations from 09:00 Beijing time on the day after the event's last day; the
  link closes ``open_days`` after the last day (23:59:59 Beijing). Reminders on the
  questionnaire's ``reminder_days`` (days after the invitation), each once (conditional UPDATE
  of ``reminders_sent`` plus a keyed mail), never to respondents, never after the close.
* **One answer per invitation.** ``survey_responses.invitation_id`` is unique; a submission
  inserts-or-keeps the row and then updates it, so a double submit leaves one row. Editable
  until ``closes_at``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from eventhub.assessment.models import (
    Questionnaire,
    QuestionnaireStatus,
    SurveyInvitation,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
)
from eventhub.campaigns.models import Campaign
from eventhub.checkin.models import Checkin
from eventhub.core import audit
from eventhub.core.i18n import N_
from eventhub.core.mail import send_mail
from eventhub.core.timeutil import as_utc, end_of_day, format_local, shanghai, to_shanghai, utcnow
from eventhub.core.urls import external_url
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db
from eventhub.registration.models import ORG_TYPE_LABELS, OrgType, Registration, Ticket
from eventhub.registration.services import hash_token

SURVEY_ENDPOINT = "assessment.survey_page"
LINK_INFO = "eventhub/survey-link/v1"  # HMAC label: this derived key makes survey links only
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")

BASE_ORG_TYPES = (OrgType.SME.value, OrgType.STARTUP.value)  # always invited
DEFAULT_OPEN_DAYS = 30
DEFAULT_REMINDER_DAYS = [7, 21]
INVITE_HOUR = 9  # 09:00 Beijing on the day after the last day
MAX_OPEN_DAYS = 180
MAX_TEXT = 2000
MAX_CHOICES = 20

KIND_LABELS = {
    SurveyQuestionKind.SCALE5: N_("1–5 分评分"),
    SurveyQuestionKind.NPS: N_("0–10 推荐意愿"),
    SurveyQuestionKind.SINGLE: N_("单选"),
    SurveyQuestionKind.MULTIPLE: N_("多选"),
    SurveyQuestionKind.TEXT: N_("文字"),
}
STATUS_LABELS = {
    QuestionnaireStatus.DRAFT: N_("草稿"),
    QuestionnaireStatus.PUBLISHED: N_("使用中"),
    QuestionnaireStatus.RETIRED: N_("已停用"),
}
# Keys the score reads: their question must keep its kind so versions stay comparable.
WELL_KNOWN_KEYS = {"overall": SurveyQuestionKind.SCALE5.value, "nps": SurveyQuestionKind.NPS.value}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

DEFAULT_TITLE = N_("融通创新主题日满意度调查")
DEFAULT_INTRO = N_("感谢您参加本次主题日活动。以下问题约需 2 分钟，您的回答将用于改进活动组织，承办方只能看到汇总结果。")
DEFAULT_QUESTIONS: list[dict[str, Any]] = [
    {"key": "overall", "kind": "scale5", "label": N_("您对本次主题日活动的总体满意度"), "help_text": N_("1 分为非常不满意，5 分为非常满意"), "required": True},
    {
        "key": "matchmaking",
        "kind": "scale5",
        "label": N_("供需对接活动对贵单位的帮助程度"),
        "help_text": N_("1 分为没有帮助，5 分为帮助很大"),
        "required": True,
    },
    {"key": "roadshow", "kind": "scale5", "label": N_("路演活动的质量"), "help_text": N_("1 分为很差，5 分为很好"), "required": True},
    {
        "key": "nps",
        "kind": "nps",
        "label": N_("您向同行推荐参加此类活动的可能性有多大？"),
        "help_text": N_("0 分为完全不可能，10 分为极有可能"),
        "required": True,
    },
    {
        "key": "continue",
        "kind": "single",
        "label": N_("贵单位是否会与本次活动结识的单位继续合作？"),
        "choices": [N_("是"), N_("否"), N_("不确定")],
        "required": True,
    },
    {"key": "improve", "kind": "text", "label": N_("您认为活动还有哪些需要改进的地方？"), "help_text": N_("选填"), "required": False},
]


class SurveyError(ValueError):
    """A refused action, with Chinese messages per field (``""`` = the whole form)."""

    def __init__(self, errors: Mapping[str, str] | str, *, closed: bool = False) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        self.closed = closed
        super().__init__("；".join(self.errors.values()))


# ---- tokens -----------------------------------------------------------------------------------


def link_token(event_id: int, registration: Registration) -> str:
    """The survey-link token of one registration at one event: HMAC-SHA256 under ``SECRET_KEY``.

    Derived, not stored: only its SHA-256 is kept, and the reminder can send the same link again.
    The e-mail is part of it because it never changes on a registration.
    """
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    subkey = hmac.new(secret_bytes, LINK_INFO.encode("ascii"), hashlib.sha256).digest()
    message = f"{event_id}:{registration.id}:{registration.email}".encode()
    return base64.urlsafe_b64encode(hmac.new(subkey, message, hashlib.sha256).digest()).rstrip(b"=").decode("ascii")


def survey_url(token: str) -> str:
    return external_url(SURVEY_ENDPOINT, token=token)


def find_invitation(token: str) -> SurveyInvitation | None:
    """The invitation whose link carries ``token`` (None for anything else), compared in constant time."""
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    row = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


# ---- questionnaires ---------------------------------------------------------------------------


def versions(campaign: Campaign) -> list[Questionnaire]:
    """Every version of the campaign's questionnaire, newest first."""
    return list(db.session.scalars(select(Questionnaire).where(Questionnaire.campaign_id == campaign.id).order_by(Questionnaire.version.desc())))


def published(campaign: Campaign) -> Questionnaire | None:
    return db.session.scalar(select(Questionnaire).where(Questionnaire.campaign_id == campaign.id, Questionnaire.status == QuestionnaireStatus.PUBLISHED.value))


def draft_of(campaign: Campaign) -> Questionnaire | None:
    return db.session.scalar(select(Questionnaire).where(Questionnaire.campaign_id == campaign.id, Questionnaire.status == QuestionnaireStatus.DRAFT.value))


def _translated(text: str) -> str:
    return _(text) if text else ""


def ensure_questionnaire(campaign: Campaign, *, actor: Any = None) -> Questionnaire:
    """The campaign's published version; the DEFAULT questionnaire (version 1) when it has none at all.

    Everything is decided from one read of the campaign's versions, and the new version number
    comes from that same read. Two first uses at the same moment then insert the same version,
    the unique (campaign, version) lets one win, and the loser reads again and finds the
    winner's row. (Reading "none published" and then ``max + 1`` in a second statement let a
    loser that saw the winner's commit in between add a second published version.)
    """
    for _attempt in range(3):
        rows = list(db.session.scalars(select(Questionnaire).where(Questionnaire.campaign_id == campaign.id).order_by(Questionnaire.version.desc())))
        for status in (QuestionnaireStatus.PUBLISHED.value, None):
            # The published version; else the newest retired one (only a draft or nothing: create).
            found = next((q for q in rows if q.status == status or (status is None and q.status != QuestionnaireStatus.DRAFT.value)), None)
            if found is not None:
                return found
        questionnaire = _default_questionnaire(campaign, version=(rows[0].version + 1) if rows else 1)
        try:
            with db.session.begin_nested():
                db.session.add(questionnaire)
        except IntegrityError:
            continue  # another first use inserted this version a moment ago: read again
        audit.record("survey.questionnaire_default", questionnaire, after={"campaign_id": campaign.id, "version": questionnaire.version}, actor=actor)
        return questionnaire
    raise RuntimeError(f"could not create the default questionnaire of campaign {campaign.id}")


def _default_questionnaire(campaign: Campaign, *, version: int) -> Questionnaire:
    """An unsaved published questionnaire with the default questions, in the current language."""
    questionnaire = Questionnaire(
        campaign_id=campaign.id,
        version=version,
        status=QuestionnaireStatus.PUBLISHED.value,
        title=_translated(DEFAULT_TITLE),
        intro=_translated(DEFAULT_INTRO),
        invite_org_types=[],
        open_days=DEFAULT_OPEN_DAYS,
        reminder_days=list(DEFAULT_REMINDER_DAYS),
        published_at=utcnow(),
    )
    for position, spec in enumerate(DEFAULT_QUESTIONS):
        questionnaire.questions.append(
            SurveyQuestion(
                position=position,
                key=spec["key"],
                kind=spec["kind"],
                label=_translated(spec["label"]),
                help_text=_translated(spec.get("help_text", "")),
                choices=[_translated(c) for c in spec.get("choices", [])],
                required=spec["required"],
            )
        )
    return questionnaire


def _next_version(campaign: Campaign) -> int:
    return (db.session.scalar(select(func.max(Questionnaire.version)).where(Questionnaire.campaign_id == campaign.id)) or 0) + 1


def new_version(campaign: Campaign, *, actor: Any = None) -> Questionnaire:
    """The draft to edit: the existing draft, or a copy of the published version as a new draft."""
    existing = draft_of(campaign)
    if existing is not None:
        return existing
    source = ensure_questionnaire(campaign, actor=actor)
    draft = Questionnaire(
        campaign_id=campaign.id,
        version=_next_version(campaign),
        status=QuestionnaireStatus.DRAFT.value,
        title=source.title,
        intro=source.intro,
        invite_org_types=list(source.invite_org_types or []),
        open_days=source.open_days,
        reminder_days=list(source.reminder_days or []),
    )
    for question in source.questions:
        draft.questions.append(
            SurveyQuestion(
                position=question.position,
                key=question.key,
                kind=question.kind,
                label=question.label,
                help_text=question.help_text,
                choices=list(question.choices or []),
                required=question.required,
            )
        )
    db.session.add(draft)
    db.session.flush()
    audit.record("survey.new_version", draft, after={"campaign_id": campaign.id, "version": draft.version, "from_version": source.version}, actor=actor)
    return draft


def _require_draft(questionnaire: Questionnaire) -> None:
    if questionnaire.status != QuestionnaireStatus.DRAFT.value:
        raise SurveyError(_("已发布的问卷版本不能修改，请先“新建版本”。"))


def parse_days(text: str) -> list[int]:
    """``"7, 21"`` → ``[7, 21]`` (also Chinese commas and spaces); raises SurveyError."""
    parts = [p for p in re.split(r"[\s,，、;；]+", (text or "").strip()) if p]
    days: set[int] = set()
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= MAX_OPEN_DAYS:
            raise SurveyError({"reminder_days": _("提醒天数须为 1 到 %(max)s 之间的整数，用逗号分隔。", max=MAX_OPEN_DAYS)})
        days.add(int(part))
    if len(days) > 5:
        raise SurveyError({"reminder_days": _("最多设置 5 次提醒。")})
    return sorted(days)


def update_settings(questionnaire: Questionnaire, data: Mapping[str, Any], *, actor: Any = None) -> None:
    """Title, intro, extra invited org types, open days, reminder days of a draft."""
    _require_draft(questionnaire)
    errors: dict[str, str] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = _("请填写问卷标题。")
    elif len(title) > 200:
        errors["title"] = _("问卷标题不能超过 200 字。")
    intro = (data.get("intro") or "").strip()
    if len(intro) > 2000:
        errors["intro"] = _("说明不能超过 2000 字。")
    known = {t.value for t in OrgType}
    types = sorted({str(t) for t in data.get("invite_org_types") or []})
    if any(t not in known for t in types):
        errors["invite_org_types"] = _("请选择有效的单位类型。")
    types = [t for t in types if t not in BASE_ORG_TYPES]
    open_days = data.get("open_days")
    try:
        open_days = int(open_days)
        if not 1 <= open_days <= MAX_OPEN_DAYS:
            raise ValueError
    except (TypeError, ValueError):
        errors["open_days"] = _("开放天数须为 1 到 %(max)s 之间的整数。", max=MAX_OPEN_DAYS)
    reminder_days: list[int] = []
    try:
        reminder_days = parse_days(data.get("reminder_days") or "")
    except SurveyError as exc:
        errors.update(exc.errors)
    if not errors and reminder_days and reminder_days[-1] >= open_days:
        errors["reminder_days"] = _("提醒须在问卷关闭之前（小于开放天数 %(n)s）。", n=open_days)
    if errors:
        raise SurveyError(errors)
    before = audit.snapshot(questionnaire, ["title", "intro", "invite_org_types", "open_days", "reminder_days"])
    questionnaire.title, questionnaire.intro = title, intro
    questionnaire.invite_org_types, questionnaire.open_days, questionnaire.reminder_days = types, open_days, reminder_days
    audit.record("survey.settings", questionnaire, before=before, after=audit.snapshot(questionnaire, list(before)), actor=actor)


def question_data(questionnaire: Questionnaire, data: Mapping[str, Any], *, question: SurveyQuestion | None = None) -> dict[str, Any]:
    """Checked fields of a question (label, kind, key, help, choices one per line, required)."""
    errors: dict[str, str] = {}
    label = (data.get("label") or "").strip()
    if not label:
        errors["label"] = _("请填写题目。")
    elif len(label) > 300:
        errors["label"] = _("题目不能超过 300 字。")
    kind = data.get("kind") or ""
    if kind not in {k.value for k in SurveyQuestionKind}:
        errors["kind"] = _("请选择题型。")
    help_text = (data.get("help_text") or "").strip()
    if len(help_text) > 300:
        errors["help_text"] = _("说明不能超过 300 字。")
    key = (data.get("key") or "").strip().lower()
    if key:
        if not _KEY_RE.match(key):
            errors["key"] = _("标识只能使用小写字母、数字和下划线，以字母开头。")
        elif any(q.key == key and q is not question for q in questionnaire.questions):
            errors["key"] = _("本问卷中已有标识为“%(key)s”的题目。", key=key)
        elif key in WELL_KNOWN_KEYS and kind and kind != WELL_KNOWN_KEYS[key]:
            errors["key"] = _("标识“%(key)s”用于评估计分，题型必须是“%(kind)s”。", key=key, kind=_(KIND_LABELS[SurveyQuestionKind(WELL_KNOWN_KEYS[key])]))
    raw_choices = data.get("choices") or ""
    lines = raw_choices if isinstance(raw_choices, list) else str(raw_choices).splitlines()
    choices: list[str] = []
    for line in lines:
        line = str(line).strip()
        if line and line not in choices:
            choices.append(line)
    if kind in (SurveyQuestionKind.SINGLE.value, SurveyQuestionKind.MULTIPLE.value):
        if len(choices) < 2:
            errors["choices"] = _("单选题和多选题至少需要 2 个不同的选项（每行一个）。")
        elif len(choices) > MAX_CHOICES or any(len(c) > 100 for c in choices):
            errors["choices"] = _("最多 %(n)s 个选项，每个选项不超过 100 字。", n=MAX_CHOICES)
    else:
        choices = []
    if errors:
        raise SurveyError(errors)
    return {"label": label, "kind": kind, "help_text": help_text, "key": key, "choices": choices, "required": bool(data.get("required"))}


def _question_state(question: SurveyQuestion) -> dict[str, Any]:
    return audit.snapshot(question, ["position", "key", "kind", "label", "help_text", "choices", "required"])


def add_question(questionnaire: Questionnaire, data: Mapping[str, Any], *, actor: Any = None) -> SurveyQuestion:
    _require_draft(questionnaire)
    values = question_data(questionnaire, data)
    position = max((q.position for q in questionnaire.questions), default=-1) + 1
    question = SurveyQuestion(position=position, **values)
    questionnaire.questions.append(question)
    db.session.flush()
    audit.record("survey.question_add", question, after=_question_state(question), actor=actor)
    return question


def update_question(question: SurveyQuestion, data: Mapping[str, Any], *, actor: Any = None) -> None:
    _require_draft(question.questionnaire)
    values = question_data(question.questionnaire, data, question=question)
    before = _question_state(question)
    for name, value in values.items():
        setattr(question, name, value)
    audit.record("survey.question_edit", question, before=before, after=_question_state(question), actor=actor)


def remove_question(question: SurveyQuestion, *, actor: Any = None) -> None:
    questionnaire = question.questionnaire
    _require_draft(questionnaire)
    audit.record("survey.question_remove", question, before=_question_state(question), actor=actor)
    questionnaire.questions.remove(question)
    db.session.flush()
    for position, q in enumerate(questionnaire.questions):
        q.position = position


def move_question(question: SurveyQuestion, step: int, *, actor: Any = None) -> bool:
    """Swap with the neighbour above (``-1``) or below (``+1``); False at the edge."""
    questionnaire = question.questionnaire
    _require_draft(questionnaire)
    ordered = sorted(questionnaire.questions, key=lambda q: (q.position, q.id))
    index = ordered.index(question)
    target = index + (1 if step > 0 else -1)
    if not 0 <= target < len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, q in enumerate(ordered):
        q.position = position
    audit.record("survey.question_move", question, after={"position": question.position}, actor=actor)
    return True


def publish(questionnaire: Questionnaire, *, actor: Any = None, now: datetime | None = None) -> Questionnaire | None:
    """Publish a draft: it is used for new invitations; the previous version is retired (returned)."""
    _require_draft(questionnaire)
    if not questionnaire.questions:
        raise SurveyError(_("问卷至少需要一道题目才能发布。"))
    previous = db.session.scalar(
        select(Questionnaire).where(Questionnaire.campaign_id == questionnaire.campaign_id, Questionnaire.status == QuestionnaireStatus.PUBLISHED.value)
    )
    if previous is not None:
        previous.status = QuestionnaireStatus.RETIRED.value
    questionnaire.status = QuestionnaireStatus.PUBLISHED.value
    questionnaire.published_at = as_utc(now or utcnow())
    db.session.flush()
    audit.record(
        "survey.publish",
        questionnaire,
        after={"version": questionnaire.version, "retired_version": previous.version if previous is not None else None},
        actor=actor,
    )
    return previous


def discard_draft(questionnaire: Questionnaire, *, actor: Any = None) -> None:
    _require_draft(questionnaire)
    audit.record("survey.discard_draft", questionnaire, before={"version": questionnaire.version}, actor=actor)
    db.session.delete(questionnaire)
    db.session.flush()


def invited_types(questionnaire: Questionnaire | None) -> list[str]:
    extra = list(questionnaire.invite_org_types or []) if questionnaire is not None else []
    return [*BASE_ORG_TYPES, *(t for t in extra if t not in BASE_ORG_TYPES)]


def invited_type_labels(questionnaire: Questionnaire | None) -> list[str]:
    return [_(ORG_TYPE_LABELS[OrgType(t)]) for t in invited_types(questionnaire) if t in {o.value for o in OrgType}]


# ---- invitations and reminders -------------------------------------------------------------------


def event_end(event: Event) -> datetime:
    """23:59:59 Beijing on the last day, as UTC."""
    return end_of_day(event.end_date)


def invite_from(event: Event) -> datetime:
    """When links go out: 09:00 Beijing on the day after the last day (the day itself is busy)."""
    day = event.end_date + timedelta(days=1)
    return shanghai(day.year, day.month, day.day, INVITE_HOUR)


def closes_at(event: Event, questionnaire: Questionnaire) -> datetime:
    """23:59:59 Beijing, ``open_days`` after the last day."""
    return end_of_day(event.end_date + timedelta(days=questionnaire.open_days or DEFAULT_OPEN_DAYS))


def attended() -> Any:
    """SQL condition: the registration has a check-in (any list) for one of its tickets."""
    return exists(select(Checkin.id).join(Ticket, Ticket.id == Checkin.ticket_id).where(Ticket.registration_id == Registration.id))


def pending_registrations(event: Event, types: Iterable[str]) -> list[Registration]:
    """Checked-in registrations of the invited types without an invitation for this event yet."""
    invited = exists(select(SurveyInvitation.id).where(SurveyInvitation.event_id == event.id, SurveyInvitation.registration_id == Registration.id))
    query = select(Registration).where(Registration.event_id == event.id, Registration.org_type.in_(list(types)), attended(), ~invited)
    return list(db.session.scalars(query.order_by(Registration.id)))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _insert_ignore(model: Any, values: dict[str, Any], conflict: list[str]) -> int | None:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the new id, or None when a row existed."""
    table = model.__table__
    insert = pg_insert if _dialect() == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c[name] for name in conflict]).returning(table.c.id)
    return db.session.execute(stmt).scalar()


def _mail_context(event: Event, invitation: SurveyInvitation, registration: Registration, token: str) -> dict[str, Any]:
    return {
        "event_title": event.title,
        "name": registration.name,
        "organisation": registration.organisation,
        "link": survey_url(token),
        "closes": format_local(invitation.closes_at),
        "questionnaire_title": invitation.questionnaire.title,
    }


def invite_event(event: Event, now: datetime) -> int:
    """Create and mail the missing invitations of one ended event; the number created."""
    campaign = db.session.get(Campaign, event.campaign_id)
    assert campaign is not None
    current = published(campaign)
    registrations = pending_registrations(event, invited_types(current))
    if not registrations:
        return 0
    questionnaire = current or ensure_questionnaire(campaign)
    closing = closes_at(event, questionnaire)
    if now >= closing:
        return 0
    created = 0
    for registration in registrations:
        token = link_token(event.id, registration)
        values = {
            "event_id": event.id,
            "registration_id": registration.id,
            "questionnaire_id": questionnaire.id,
            "token_hash": hash_token(token),
            "sent_at": now,
            "closes_at": closing,
            "reminders_sent": 0,
        }
        new_id = _insert_ignore(SurveyInvitation, values, ["event_id", "registration_id"])
        if new_id is None:
            continue  # another run invited this person a moment ago
        invitation = db.session.get(SurveyInvitation, new_id)
        assert invitation is not None
        send_mail(
            registration.email,
            "assessment_survey_invitation",
            key=f"survey-invitation:{event.id}:{registration.id}",
            locale=registration.locale,
            **_mail_context(event, invitation, registration, token),
        )
        created += 1
    return created


def send_invitations(now: datetime | None = None) -> str:
    """Scheduler job: personal survey links for every ended event's checked-in participants."""
    now = as_utc(now or utcnow())
    today = to_shanghai(now).date()
    horizon = today - timedelta(days=MAX_OPEN_DAYS + 2)
    events = list(
        db.session.scalars(
            select(Event)
            .where(Event.status == EventStatus.SCHEDULED.value, Event.end_date < today, Event.end_date >= horizon)
            .order_by(Event.end_date, Event.id)
        )
    )
    due = [event for event in events if invite_from(event) <= now]
    created = 0
    for event in due:
        created += invite_event(event, now)
        db.session.commit()
    return f"{len(due)} ended event(s) checked, {created} invitation(s) sent"


def reminders_due(invitation: SurveyInvitation, now: datetime) -> int:
    """How many of the invitation's reminder days have passed at ``now``."""
    sent = as_utc(invitation.sent_at)
    return sum(1 for days in invitation.questionnaire.reminder_days or [] if sent + timedelta(days=int(days)) <= now)


def send_reminders(now: datetime | None = None) -> str:
    """Scheduler job: remind non-respondents on the reminder days, each reminder once, none after close.

    After downtime only the latest due reminder goes out (``reminders_sent`` jumps to the number
    due). The conditional UPDATE makes a concurrent run remind nobody twice; the mail key too.
    """
    now = as_utc(now or utcnow())
    answered = exists(select(SurveyResponse.id).where(SurveyResponse.invitation_id == SurveyInvitation.id))
    rows = db.session.scalars(
        select(SurveyInvitation)
        .where(SurveyInvitation.closes_at > now, ~answered)
        .options(selectinload(SurveyInvitation.questionnaire))
        .order_by(SurveyInvitation.id)
    ).all()
    reminded = 0
    for invitation in rows:
        due = reminders_due(invitation, now)
        if due <= (invitation.reminders_sent or 0):
            continue
        claimed = db.session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id == invitation.id, SurveyInvitation.reminders_sent < due)
            .values(reminders_sent=due, last_reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        registration = db.session.get(Registration, invitation.registration_id)
        event = db.session.get(Event, invitation.event_id)
        if registration is None or event is None:
            continue
        token = link_token(event.id, registration)
        send_mail(
            registration.email,
            "assessment_survey_reminder",
            key=f"survey-reminder:{invitation.id}:{due}",
            locale=registration.locale,
            **_mail_context(event, invitation, registration, token),
        )
        db.session.commit()
        reminded += 1
    return f"{len(rows)} open invitation(s) without an answer, {reminded} reminded"


# ---- answering -------------------------------------------------------------------------------


def field_name(question: SurveyQuestion) -> str:
    return f"q{question.id}"


def is_open(invitation: SurveyInvitation, now: datetime | None = None) -> bool:
    return as_utc(now or utcnow()) <= as_utc(invitation.closes_at)


def parse_answers(questions: list[SurveyQuestion], form: Any) -> dict[str, Any]:
    """Checked answers ``{str(question id): value}`` from posted data (``getlist`` for multiple); raises SurveyError."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in questions:
        name = field_name(question)
        kind = question.kind
        if kind == SurveyQuestionKind.MULTIPLE.value:
            picked = [v for v in (form.getlist(name) if hasattr(form, "getlist") else form.get(name) or []) if v]
            if any(v not in question.choices for v in picked):
                errors[name] = _("请从列出的选项中选择。")
            elif not picked and question.required:
                errors[name] = _("请至少选择一项。")
            elif picked:
                answers[str(question.id)] = [c for c in question.choices if c in picked]
            continue
        raw = form.get(name)
        value = (raw if isinstance(raw, str) else "" if raw is None else str(raw)).strip()
        if not value:
            if question.required:
                errors[name] = _("请填写此题。") if kind == SurveyQuestionKind.TEXT.value else _("请选择一项。")
            continue
        if kind in (SurveyQuestionKind.SCALE5.value, SurveyQuestionKind.NPS.value):
            low, high = (1, 5) if kind == SurveyQuestionKind.SCALE5.value else (0, 10)
            if not value.isdigit() or not low <= int(value) <= high:
                errors[name] = _("请选择 %(low)s 到 %(high)s 之间的分数。", low=low, high=high)
            else:
                answers[str(question.id)] = int(value)
        elif kind == SurveyQuestionKind.SINGLE.value:
            if value not in question.choices:
                errors[name] = _("请从列出的选项中选择。")
            else:
                answers[str(question.id)] = value
        else:
            if len(value) > MAX_TEXT:
                errors[name] = _("不能超过 %(n)s 字（当前 %(m)s 字）。", n=MAX_TEXT, m=len(value))
            else:
                answers[str(question.id)] = value
    if errors:
        raise SurveyError(errors)
    return answers


def submit_response(invitation: SurveyInvitation, form: Any, *, now: datetime | None = None) -> tuple[SurveyResponse, bool]:
    """Save the invitation's one answer (created or edited); ``(response, created)``. The caller commits.

    Refused after ``closes_at``. Insert-or-keep on the unique ``invitation_id`` first, then the
    update: two submissions at the same moment leave one row holding the later answers.
    """
    now = as_utc(now or utcnow())
    if not is_open(invitation, now):
        raise SurveyError(_("问卷已于 %(when)s 关闭，不能再提交或修改。", when=format_local(invitation.closes_at)), closed=True)
    answers = parse_answers(list(invitation.questionnaire.questions), form)
    new_id = _insert_ignore(
        SurveyResponse,
        {"invitation_id": invitation.id, "event_id": invitation.event_id, "answers": answers, "submitted_at": now, "updated_at": now},
        ["invitation_id"],
    )
    if new_id is not None:
        response = db.session.get(SurveyResponse, new_id)
        assert response is not None
        return response, True
    response = db.session.scalar(select(SurveyResponse).where(SurveyResponse.invitation_id == invitation.id))
    assert response is not None
    response.answers = answers
    response.updated_at = now
    db.session.flush()
    return response, False


def response_of(invitation: SurveyInvitation) -> SurveyResponse | None:
    return db.session.scalar(select(SurveyResponse).where(SurveyResponse.invitation_id == invitation.id))


def form_values(questions: list[SurveyQuestion], answers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stored answers as the form's field values (``{field: str | list[str]}``)."""
    values: dict[str, Any] = {}
    for question in questions:
        value = (answers or {}).get(str(question.id))
        if value is None:
            continue
        values[field_name(question)] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return values


def format_answer(question: SurveyQuestion, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


# ---- figures and results ---------------------------------------------------------------------------


def _keyed_question_ids(questionnaire_ids: Iterable[int], key: str) -> set[str]:
    ids = list(questionnaire_ids)
    if not ids:
        return set()
    return {str(i) for i in db.session.scalars(select(SurveyQuestion.id).where(SurveyQuestion.questionnaire_id.in_(ids), SurveyQuestion.key == key))}


def nps_of(scores: list[int]) -> float | None:
    """Net promoter score: % of 9–10 minus % of 0–6 (None without answers)."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100.0 * (promoters - detractors) / len(scores), 1)


def survey_figures(event: Event) -> dict[str, Any]:
    """The survey's raw figures for the score: invited, responded, rate, mean of "overall", NPS, n per key.

    Read by key across all questionnaire versions the event's invitations point at, so a
    questionnaire changed between events (or mid-way) still counts the same questions.
    """
    invited = db.session.scalar(select(func.count()).select_from(SurveyInvitation).where(SurveyInvitation.event_id == event.id)) or 0
    questionnaire_ids = set(db.session.scalars(select(SurveyInvitation.questionnaire_id).where(SurveyInvitation.event_id == event.id).distinct()))
    responses = list(db.session.scalars(select(SurveyResponse.answers).where(SurveyResponse.event_id == event.id)))
    keyed = db.session.execute(
        select(SurveyQuestion.id, SurveyQuestion.key).where(SurveyQuestion.questionnaire_id.in_(list(questionnaire_ids) or [0]), SurveyQuestion.key != "")
    ).all()
    key_of = {str(qid): key for qid, key in keyed}
    values: dict[str, list[Any]] = {}
    for answers in responses:
        for qid, value in (answers or {}).items():
            key = key_of.get(qid)
            if key is not None and value not in (None, "", []):
                values.setdefault(key, []).append(value)
    overall = [int(v) for v in values.get("overall", []) if isinstance(v, int) and 1 <= v <= 5]
    nps_scores = [int(v) for v in values.get("nps", []) if isinstance(v, int) and 0 <= v <= 10]
    responded = len(responses)
    return {
        "invited": invited,
        "responded": responded,
        "response_rate": round(responded / invited, 4) if invited else None,
        "overall_mean": round(sum(overall) / len(overall), 2) if overall else None,
        "overall_n": len(overall),
        "nps": nps_of(nps_scores),
        "nps_n": len(nps_scores),
        "promoters": sum(1 for s in nps_scores if s >= 9),
        "passives": sum(1 for s in nps_scores if 7 <= s <= 8),
        "detractors": sum(1 for s in nps_scores if s <= 6),
        "n": {key: len(vals) for key, vals in sorted(values.items())},
    }


@dataclass
class QuestionResult:
    """One question's distribution: ``rows`` are (value label, count, share of answers)."""

    question: SurveyQuestion
    n: int = 0
    rows: list[tuple[str, int, float]] = field(default_factory=list)
    mean: float | None = None
    nps: float | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return _(KIND_LABELS[SurveyQuestionKind(self.question.kind)])


def _responses_for(scope: Event | Campaign, questionnaire: Questionnaire) -> list[dict[str, Any]]:
    query = select(SurveyResponse.answers).join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
    query = query.where(SurveyInvitation.questionnaire_id == questionnaire.id)
    if isinstance(scope, Event):
        query = query.where(SurveyResponse.event_id == scope.id)
    else:
        query = query.join(Event, Event.id == SurveyResponse.event_id).where(Event.campaign_id == scope.id)
    return [a or {} for a in db.session.scalars(query.order_by(SurveyResponse.id))]


def question_results(scope: Event | Campaign, questionnaire: Questionnaire, *, include_text: bool = True) -> list[QuestionResult]:
    """Distributions per question of ``questionnaire`` for one event or a whole campaign.

    ``include_text=False`` (hosts) leaves free-text answers out entirely, not just unshown.
    """
    answers_list = _responses_for(scope, questionnaire)
    results = []
    for question in questionnaire.questions:
        qid = str(question.id)
        given = [a[qid] for a in answers_list if a.get(qid) not in (None, "", [])]
        result = QuestionResult(question=question, n=len(given))
        kind = question.kind
        if kind in (SurveyQuestionKind.SCALE5.value, SurveyQuestionKind.NPS.value):
            scale = range(1, 6) if kind == SurveyQuestionKind.SCALE5.value else range(0, 11)
            counts = Counter(int(v) for v in given if isinstance(v, int))
            result.rows = [(str(v), counts.get(v, 0), counts.get(v, 0) / len(given) if given else 0.0) for v in scale]
            scores = [int(v) for v in given if isinstance(v, int)]
            result.mean = round(sum(scores) / len(scores), 2) if scores else None
            if kind == SurveyQuestionKind.NPS.value:
                result.nps = nps_of(scores)
        elif kind in (SurveyQuestionKind.SINGLE.value, SurveyQuestionKind.MULTIPLE.value):
            counts = Counter()
            for value in given:
                for choice in value if isinstance(value, list) else [value]:
                    counts[str(choice)] += 1
            labels = list(question.choices or []) + sorted(c for c in counts if c not in (question.choices or []))
            result.rows = [(c, counts.get(c, 0), counts.get(c, 0) / len(given) if given else 0.0) for c in labels]
        elif include_text:
            result.texts = [str(v) for v in given]
        results.append(result)
    return results


def event_questionnaires(event: Event) -> list[Questionnaire]:
    """The questionnaire versions this event's invitations were sent with, newest first."""
    ids = select(SurveyInvitation.questionnaire_id).where(SurveyInvitation.event_id == event.id).distinct()
    return list(db.session.scalars(select(Questionnaire).where(Questionnaire.id.in_(ids)).order_by(Questionnaire.version.desc())))


def non_respondents_query(event: Event) -> Any:
    """Invitations of the event without an answer, by organisation and name (for ``db.paginate``)."""
    answered = exists(select(SurveyResponse.id).where(SurveyResponse.invitation_id == SurveyInvitation.id))
    return (
        select(SurveyInvitation)
        .join(Registration, Registration.id == SurveyInvitation.registration_id)
        .where(SurveyInvitation.event_id == event.id, ~answered)
        .order_by(Registration.organisation, Registration.name, SurveyInvitation.id)
    )


def registrations_of(invitations: Iterable[SurveyInvitation]) -> dict[int, Registration]:
    """The registrations behind a page of invitations, in one query."""
    ids = {i.registration_id for i in invitations}
    if not ids:
        return {}
    return {r.id: r for r in db.session.scalars(select(Registration).where(Registration.id.in_(ids)))}


def not_yet_eligible_reason(event: Event, now: datetime | None = None) -> str | None:
    """Why no invitation exists yet (event not over / links go out tomorrow 09:00), or None."""
    now = as_utc(now or utcnow())
    if now < invite_from(event):
        return _("活动结束后的次日 09:00（北京时间，%(when)s）起自动向已签到的参会者发送问卷链接。", when=format_local(invite_from(event)))
    return None


# ---- XLSX export ----------------------------------------------------------------------------------


def export_xlsx(event: Event, *, full: bool) -> bytes:
    """Summary, distributions per version and — ``full`` (organisers, assessors) — every answer with its respondent."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from eventhub.core.spreadsheets import safe_cell as _safe_cell

    figures = survey_figures(event)
    workbook = Workbook()
    summary = workbook.active
    summary.title = _("概况")
    rate = figures["response_rate"]
    rows = [
        [_("活动"), event.title],
        [_("已邀请"), figures["invited"]],
        [_("已回答"), figures["responded"]],
        [_("回收率"), f"{rate * 100:.1f}%" if rate is not None else ""],
        [_("总体满意度均值（1–5）"), figures["overall_mean"] if figures["overall_mean"] is not None else ""],
        [_("NPS（推荐者% − 贬损者%）"), figures["nps"] if figures["nps"] is not None else ""],
        [_("导出时间（北京时间）"), format_local(utcnow())],
    ]
    for row in rows:
        summary.append([_safe_cell(v) for v in row])
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 40
    for questionnaire in event_questionnaires(event):
        sheet = workbook.create_sheet(_("分布 v%(v)s", v=questionnaire.version))
        sheet.append([_("题目"), _("题型"), _("选项 / 分值"), _("人数"), _("占比")])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for result in question_results(event, questionnaire, include_text=False):
            for label, count, share in result.rows:
                sheet.append([_safe_cell(result.question.label), result.kind_label, _safe_cell(label), count, round(share, 4)])
            if result.question.kind == SurveyQuestionKind.TEXT.value:
                sheet.append([_safe_cell(result.question.label), result.kind_label, _("文字回答"), result.n, ""])
        sheet.column_dimensions["A"].width = 40
        sheet.column_dimensions["C"].width = 20
        if not full:
            continue
        answers_sheet = workbook.create_sheet(_("全部回答 v%(v)s", v=questionnaire.version))
        questions = list(questionnaire.questions)
        answers_sheet.append([_("单位"), _("单位类型"), _("姓名"), _("提交时间（北京时间）"), _("最后修改（北京时间）")] + [q.label for q in questions])
        for cell in answers_sheet[1]:
            cell.font = Font(bold=True)
        query = (
            select(SurveyResponse, Registration)
            .join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
            .join(Registration, Registration.id == SurveyInvitation.registration_id)
            .where(SurveyResponse.event_id == event.id, SurveyInvitation.questionnaire_id == questionnaire.id)
            .order_by(Registration.organisation, Registration.name)
        )
        for response, registration in db.session.execute(query):
            values = [
                registration.organisation,
                _(ORG_TYPE_LABELS[OrgType(registration.org_type)]) if registration.org_type in {o.value for o in OrgType} else registration.org_type,
                registration.name,
                format_local(response.submitted_at),
                format_local(response.updated_at),
            ]
            values += [format_answer(q, (response.answers or {}).get(str(q.id))) for q in questions]
            answers_sheet.append([_safe_cell(v) for v in values])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
