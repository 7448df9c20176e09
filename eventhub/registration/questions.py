"""The host's own registration questions (承办方自定义问题): define them, check the answers.

A question is never deleted once defined: removing it only sets ``active = False``, so answers
already given keep their label. Answers are stored in ``Registration.answers`` keyed by the
question id as a string (JSON object keys are strings on both databases).

What a change does to answers already given (decisions, shown to the host in the editor):

* the kind cannot change (a number answer would not fit a choice question; add a new question);
* rewording the label or the help text is free (answers follow the question id);
* a choice that an active registration (pending / confirmed / wait-listed) has chosen cannot be
  removed or renamed — that registrant's answer would no longer match, and their next edit on
  the private page would be refused; new choices may always be added;
* making a question required is allowed: earlier registrants keep their blank answer until they
  next edit their registration, when the form asks them;
* removing a question hides it from the form; the answers stay in the list, the detail page and
  the export, labelled as removed.

Answer values by kind: text → str, single → one of the choices, multiple → list of choices
(in the host's order), number → int or float, yes-no → bool. A missing optional answer is
simply absent from the dict.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import func, select

from eventhub.core import audit
from eventhub.core.i18n import N_, join_list
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import ACTIVE_STATUSES, QuestionKind, Registration, RegistrationQuestion

LABEL_MAX = 300
HELP_MAX = 500
CHOICE_MAX = 100  # characters per choice
CHOICES_MAX = 30
TEXT_ANSWER_MAX = 1000
NUMBER_ABS_MAX = 1e12
YES_VALUES = {"yes", "y", "true", "1", "on", "是"}
NO_VALUES = {"no", "n", "false", "0", "off", "否"}

QUESTION_KIND_LABELS = {
    QuestionKind.TEXT: N_("文本"),
    QuestionKind.SINGLE: N_("单选"),
    QuestionKind.MULTIPLE: N_("多选"),
    QuestionKind.NUMBER: N_("数字"),
    QuestionKind.YESNO: N_("是/否"),
}


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class QuestionError(ValueError):
    """A question definition was refused; ``errors`` maps fields to Chinese messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("；".join(self.errors.values()))


def field_name(question: RegistrationQuestion) -> str:
    """The form field / error key of a question's answer."""
    return f"q_{question.id}"


# ---- defining ---------------------------------------------------------------------------


def _clean_definition(label: str, kind: str, choices: Sequence[str] | None, help_text: str) -> tuple[str, str, list[str], str]:
    errors: dict[str, str] = {}
    label = " ".join((label or "").split())
    if not label:
        errors["label"] = _("请填写问题。")
    elif len(label) > LABEL_MAX:
        errors["label"] = _("问题最多 %(n)d 个字符（当前 %(m)d 个）。", n=LABEL_MAX, m=len(label))
    if kind not in {k.value for k in QuestionKind}:
        errors["kind"] = _("请选择题型：文本、单选、多选、数字或是/否。")
    cleaned: list[str] = []
    for choice in choices or []:
        choice = " ".join(str(choice).split())
        if choice and choice not in cleaned:
            cleaned.append(choice)
    if kind in (QuestionKind.SINGLE.value, QuestionKind.MULTIPLE.value):
        if len(cleaned) < 2:
            errors["choices"] = _("单选题和多选题至少需要 2 个不同的选项。")
        elif len(cleaned) > CHOICES_MAX:
            errors["choices"] = _("选项最多 %(n)d 个。", n=CHOICES_MAX)
        elif any(len(c) > CHOICE_MAX for c in cleaned):
            errors["choices"] = _("每个选项最多 %(n)d 个字符。", n=CHOICE_MAX)
    else:
        cleaned = []
    help_text = (help_text or "").strip()
    if len(help_text) > HELP_MAX:
        errors["help_text"] = _("说明最多 %(n)d 个字符（当前 %(m)d 个）。", n=HELP_MAX, m=len(help_text))
    if errors:
        raise QuestionError(errors)
    return label, kind, cleaned, help_text


def define_question(
    event: Event,
    label: str,
    kind: str,
    *,
    required: bool = False,
    choices: Sequence[str] | None = None,
    help_text: str = "",
    actor: Any = None,
) -> RegistrationQuestion:
    """Add a question at the end of the event's form; audited. Caller commits."""
    label, kind, cleaned, help_text = _clean_definition(label, kind, choices, help_text)
    position = db.session.scalar(select(func.coalesce(func.max(RegistrationQuestion.position), 0)).where(RegistrationQuestion.event_id == event.id)) or 0
    question = RegistrationQuestion(
        event_id=event.id, position=position + 1, label=label, kind=kind, required=bool(required), choices=cleaned, help_text=help_text, active=True
    )
    db.session.add(question)
    db.session.flush()
    audit.record("registration_question.add", question, after=_snapshot(question), actor=actor)
    return question


def update_question(
    question: RegistrationQuestion,
    label: str,
    *,
    required: bool,
    choices: Sequence[str] | None = None,
    help_text: str = "",
    actor: Any = None,
) -> RegistrationQuestion:
    """Change a question's wording, choices or whether it is required (not its kind); audited. Caller commits."""
    label, _kind, cleaned, help_text = _clean_definition(label, question.kind, choices, help_text)
    dropped = [c for c in question.choices or [] if c not in cleaned]
    if dropped:
        used = chosen_values(question)
        kept_back = [c for c in dropped if used.get(c)]
        if kept_back:
            listed = "、".join(f"“{c}”（{used[c]} 份）" for c in kept_back)
            raise QuestionError({"choices": _("以下选项已有报名选择，不能删除或改名：%(list)s。可以新增选项，或移除本题后新建一题。", list=listed)})
    before = _snapshot(question)
    question.label, question.required, question.choices, question.help_text = label, bool(required), cleaned, help_text
    audit.record("registration_question.update", question, before=before, after=_snapshot(question), actor=actor)
    return question


def remove_question(question: RegistrationQuestion, actor: Any = None) -> None:
    """Hide a question from the form; answers already given keep it. Audited; caller commits."""
    if question.active:
        question.active = False
        audit.record("registration_question.remove", question, before={"active": True}, after={"active": False}, actor=actor)


def move_question(question: RegistrationQuestion, offset: int, actor: Any = None) -> bool:
    """Move an active question ``offset`` places up (negative) or down; audited. Caller commits.

    Positions of the active questions are renumbered 1..n (removed ones keep theirs; they are
    never shown in order). Returns False when the question is already at that end.
    """
    ordered = active_questions_for(question.event_id)
    if question not in ordered:
        return False
    index = ordered.index(question)
    target = index + offset
    if offset == 0 or target < 0 or target >= len(ordered):
        return False
    before = {"position": question.position}
    ordered.insert(target, ordered.pop(index))
    for number, item in enumerate(ordered, start=1):
        item.position = number
    audit.record("registration_question.move", question, before=before, after={"position": question.position}, actor=actor)
    return True


def chosen_values(question: RegistrationQuestion) -> dict[str, int]:
    """How many active registrations chose each choice of a single / multiple question."""
    counts: dict[str, int] = {}
    key = str(question.id)
    query = select(Registration.answers).where(Registration.event_id == question.event_id, Registration.status.in_(ACTIVE_STATUSES))
    for answers in db.session.scalars(query):
        value = (answers or {}).get(key)
        for item in value if isinstance(value, list) else [value] if value is not None else []:
            counts[str(item)] = counts.get(str(item), 0) + 1
    return counts


def answer_counts(event: Event) -> dict[int, int]:
    """Question id → how many registrations (any status) hold an answer to it."""
    counts: dict[int, int] = {}
    for answers in db.session.scalars(select(Registration.answers).where(Registration.event_id == event.id)):
        for key in answers or {}:
            if str(key).isdigit():
                counts[int(key)] = counts.get(int(key), 0) + 1
    return counts


def all_questions(event: Event) -> list[RegistrationQuestion]:
    """Every question ever defined for the event (removed ones last), for answers and exports."""
    query = (
        select(RegistrationQuestion)
        .where(RegistrationQuestion.event_id == event.id)
        .order_by(RegistrationQuestion.active.desc(), RegistrationQuestion.position, RegistrationQuestion.id)
    )
    return list(db.session.scalars(query))


def format_answer(question: RegistrationQuestion, value: Any) -> str:
    """An answer as text for pages and exports (yes-no in Chinese, choices joined with 、)."""
    if value is None or value == "" or value == []:
        return ""
    if question.kind == QuestionKind.YESNO.value and isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def active_questions_for(event_id: int) -> list[RegistrationQuestion]:
    query = (
        select(RegistrationQuestion)
        .where(RegistrationQuestion.event_id == event_id, RegistrationQuestion.active.is_(True))
        .order_by(RegistrationQuestion.position, RegistrationQuestion.id)
    )
    return list(db.session.scalars(query))


def active_questions(event: Event) -> list[RegistrationQuestion]:
    """The questions the registration form shows, in the host's order."""
    return active_questions_for(event.id)


def _snapshot(question: RegistrationQuestion) -> dict[str, Any]:
    return audit.snapshot(question, ["label", "kind", "required", "choices", "help_text", "active"])


# ---- answering -------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set)):
        return not any(not _is_blank(v) for v in value)
    return False


def _check_one(question: RegistrationQuestion, value: Any) -> Any:
    """The stored form of one non-blank answer, or ``ValueError`` with a Chinese message."""
    label = question.label
    if question.kind == QuestionKind.TEXT.value:
        text = str(value).strip()
        if len(text) > TEXT_ANSWER_MAX:
            raise ValueError(_("“%(label)s”最多 %(n)d 个字符（当前 %(m)d 个）。", label=label, n=TEXT_ANSWER_MAX, m=len(text)))
        return text
    if question.kind == QuestionKind.SINGLE.value:
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise ValueError(_("“%(label)s”只能选择一项。", label=label))
            value = value[0]
        choice = " ".join(str(value).split())
        if choice not in question.choices:
            raise ValueError(_("“%(label)s”的选项无效，请从列表中选择。", label=label))
        return choice
    if question.kind == QuestionKind.MULTIPLE.value:
        items = value if isinstance(value, (list, tuple, set)) else [value]
        chosen = {" ".join(str(v).split()) for v in items if not _is_blank(v)}
        unknown = chosen - set(question.choices)
        if unknown:
            raise ValueError(_("“%(label)s”含有无效选项：%(bad)s。", label=label, bad=join_list(sorted(unknown))))
        return [c for c in question.choices if c in chosen]
    if question.kind == QuestionKind.NUMBER.value:
        if isinstance(value, bool):
            raise ValueError(_("“%(label)s”请填写数字。", label=label))
        if isinstance(value, (int, float)):
            number: float = value
        else:
            raw = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(_("“%(label)s”请填写数字。", label=label)) from None
        if not math.isfinite(number) or abs(number) > NUMBER_ABS_MAX:
            raise ValueError(_("“%(label)s”请填写数字。", label=label))
        return int(number) if float(number).is_integer() else float(number)
    if question.kind == QuestionKind.YESNO.value:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in YES_VALUES:
            return True
        if word in NO_VALUES:
            return False
        raise ValueError(_("“%(label)s”请选择“是”或“否”。", label=label))
    raise ValueError(_("“%(label)s”的题型未知。", label=label))


def validate_answers(questions: Sequence[RegistrationQuestion], raw: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the answers to ``questions``; return (answers to store, errors by field ``q_<id>``).

    ``raw`` may be keyed by the question id (int or str) or by ``q_<id>``. Answers to
    questions not in ``questions`` are dropped (a removed question is not asked any more).
    """
    raw = raw or {}
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in questions:
        value = None
        for key in (question.id, str(question.id), field_name(question)):
            if key in raw:
                value = raw[key]
                break
        if _is_blank(value):
            if question.required:
                if question.kind in (QuestionKind.SINGLE.value, QuestionKind.MULTIPLE.value, QuestionKind.YESNO.value):
                    errors[field_name(question)] = _("请回答“%(label)s”（必选）。", label=question.label)
                else:
                    errors[field_name(question)] = _("请填写“%(label)s”（必填）。", label=question.label)
            continue
        try:
            answers[str(question.id)] = _check_one(question, value)
        except ValueError as exc:
            errors[field_name(question)] = str(exc)
    return answers, errors
