"""Checking the project fields shared by road-show applications and competition entries.

A project is described the same way wherever it is submitted (``roadshow.models.ProjectFields``),
so the rules live here once: :func:`clean_project_fields` takes what was typed and returns the
normalised values plus a Chinese message per field. Callers add their own context (the call's
technology needs, the deck upload, the event's days for unavailability, duplicates) on top.

The signature of :func:`clean_project_fields` is relied on by ``competitions``; keep it stable.

Input shape (a plain mapping; use :func:`presenters_from_form` / :func:`unavailable_from_form`
to read a posted form)::

    {"org_name", "org_type", "uscc", "contact_name", "contact_mobile", "contact_email",
     "presenters": [{"name", "mobile", "email", "position"}, ...],
     "project_name", "field", "stage", "seeking", "summary"}

Error keys are the input keys; a presenter's error is keyed ``presenters-<i>-<name|mobile|email|position>``
(``i`` from 0) and a problem with the list as a whole ``presenters``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from flask import has_request_context
from flask_babel import gettext

from eventhub.core.i18n import join_list
from eventhub.core.timeutil import SHANGHAI, to_shanghai
from eventhub.core.validators import check_email, check_mobile, check_uscc
from eventhub.core.wordcount import count_zishu
from eventhub.registration.models import ENTERPRISE_ORG_TYPES, OrgType
from eventhub.roadshow.models import ProjectStage

# ---- limits (forms, services and tests read these) -----------------------------------------
ORG_NAME_MIN, ORG_NAME_MAX = 2, 100  # characters
NAME_MIN, NAME_MAX = 2, 50  # a person's name
POSITION_MAX = 50
PROJECT_NAME_MIN, PROJECT_NAME_MAX = 2, 100
FIELD_MAX = 100
SEEKING_MIN, SEEKING_MAX = 2, 500  # 融资或合作需求, characters
SUMMARY_CHAR_FACTOR = 10  # raw characters allowed per 字 of the maximum (long Latin words stay below)
PRESENTERS_MIN, PRESENTERS_MAX = 1, 5
UNAVAILABLE_MAX = 20  # rows of "times I cannot make"

PRESENTER_KEYS = ("name", "mobile", "email", "position")
TEXT_KEYS = ("org_name", "org_type", "uscc", "contact_name", "contact_mobile", "contact_email", "project_name", "field", "stage", "seeking", "summary")


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


def _line(data: Mapping[str, Any], key: str) -> str:
    """One-line text: inner white space collapsed."""
    return " ".join(str(data.get(key) or "").split())


def _length(label: str, value: str, low: int, high: int) -> str | None:
    if not value:
        return _("请填写%(label)s。", label=label)
    if len(value) < low:
        return _("%(label)s至少 %(n)d 个字符。", label=label, n=low)
    if len(value) > high:
        return _("%(label)s最多 %(n)d 个字符（当前 %(m)d 个）。", label=label, n=high, m=len(value))
    return None


def _check(func, value: str, label: str) -> tuple[str, str | None]:  # noqa: ANN001
    if not value:
        return "", _("请填写%(label)s。", label=label)
    try:
        return func(value), None
    except ValueError as exc:
        return value, str(exc)


def _clean_presenters(raw: Any, errors: dict[str, str]) -> list[dict[str, str]]:
    rows = [r for r in (raw or []) if isinstance(r, Mapping) and any(str(r.get(k) or "").strip() for k in PRESENTER_KEYS)]
    out: list[dict[str, str]] = []
    if len(rows) < PRESENTERS_MIN:
        errors["presenters"] = _("请至少填写 1 位路演人。")
    elif len(rows) > PRESENTERS_MAX:
        errors["presenters"] = _("路演人最多 %(n)d 位（当前 %(m)d 位）。", n=PRESENTERS_MAX, m=len(rows))
    seen: set[str] = set()
    for i, row in enumerate(rows[:PRESENTERS_MAX]):
        person = {"name": _line(row, "name"), "position": _line(row, "position")}
        if error := _length(_("路演人姓名"), person["name"], NAME_MIN, NAME_MAX):
            errors[f"presenters-{i}-name"] = error
        person["mobile"], error = _check(check_mobile, _line(row, "mobile"), _("路演人手机号码"))
        if error:
            errors[f"presenters-{i}-mobile"] = error
        elif person["mobile"] in seen:
            errors[f"presenters-{i}-mobile"] = _("同一手机号码只能对应一位路演人。")
        seen.add(person["mobile"])
        person["email"], error = _check(check_email, _line(row, "email"), _("路演人电子邮箱"))
        if error:
            errors[f"presenters-{i}-email"] = error
        if len(person["position"]) > POSITION_MAX:
            errors[f"presenters-{i}-position"] = _("职务最多 %(n)d 个字符。", n=POSITION_MAX)
        out.append(person)
    return out


def clean_project_fields(data: Mapping[str, Any], *, fields: list[str], summary_min: int, summary_max: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalise and check every project field at once.

    ``fields`` are the choices for ``field`` (技术领域 / 赛道); when empty the field is free text
    and optional. ``summary_min`` / ``summary_max`` are 字数 limits (``core.wordcount``).
    Returns ``(values, errors)``: ``values`` has every key of the input shape, normalised
    (mobiles as 11 digits, e-mails lower-cased, the credit code upper-cased, ``uscc`` "" when
    not given); ``errors`` maps keys to Chinese messages and is empty when all is well.
    The values are returned even with errors so a form can show back what was typed.
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    out["org_name"] = _line(data, "org_name")
    if error := _length(_("单位名称"), out["org_name"], ORG_NAME_MIN, ORG_NAME_MAX):
        errors["org_name"] = error
    org_type = _line(data, "org_type")
    out["org_type"] = org_type
    if org_type not in {t.value for t in OrgType}:
        errors["org_type"] = _("请选择单位类型。")
    raw_uscc = _line(data, "uscc")
    out["uscc"] = raw_uscc.replace(" ", "").upper()
    if org_type in {t.value for t in ENTERPRISE_ORG_TYPES} and not raw_uscc:
        errors["uscc"] = _("企业请填写统一社会信用代码。")
    elif raw_uscc:  # optional for universities, institutes…, but checked when given
        try:
            out["uscc"] = check_uscc(raw_uscc)
        except ValueError as exc:
            errors["uscc"] = str(exc)

    out["contact_name"] = _line(data, "contact_name")
    if error := _length(_("联系人姓名"), out["contact_name"], NAME_MIN, NAME_MAX):
        errors["contact_name"] = error
    out["contact_mobile"], error = _check(check_mobile, _line(data, "contact_mobile"), _("联系人手机号码"))
    if error:
        errors["contact_mobile"] = error
    out["contact_email"], error = _check(check_email, _line(data, "contact_email"), _("联系人电子邮箱"))
    if error:
        errors["contact_email"] = error

    out["presenters"] = _clean_presenters(data.get("presenters"), errors)

    out["project_name"] = _line(data, "project_name")
    if error := _length(_("项目名称"), out["project_name"], PROJECT_NAME_MIN, PROJECT_NAME_MAX):
        errors["project_name"] = error
    out["field"] = _line(data, "field")
    if fields:
        if not out["field"]:
            errors["field"] = _("请选择技术领域。")
        elif out["field"] not in fields:
            errors["field"] = _("所选技术领域不在本次征集的范围内，请重新选择。")
    elif len(out["field"]) > FIELD_MAX:
        errors["field"] = _("技术领域最多 %(n)d 个字符。", n=FIELD_MAX)
    out["stage"] = _line(data, "stage")
    if out["stage"] not in {s.value for s in ProjectStage}:
        errors["stage"] = _("请选择项目阶段。")

    out["seeking"] = str(data.get("seeking") or "").strip()
    if error := _length(_("融资或合作需求"), out["seeking"], SEEKING_MIN, SEEKING_MAX):
        errors["seeking"] = error
    out["summary"] = str(data.get("summary") or "").strip().replace("\r\n", "\n")
    n = count_zishu(out["summary"])
    if not out["summary"]:
        errors["summary"] = _("请填写项目简介。")
    elif n < summary_min:
        errors["summary"] = _("项目简介至少 %(min)d 字（当前 %(n)d 字）。", min=summary_min, n=n)
    elif n > summary_max:
        errors["summary"] = _("项目简介最多 %(max)d 字（当前 %(n)d 字）。", max=summary_max, n=n)
    elif len(out["summary"]) > summary_max * SUMMARY_CHAR_FACTOR:
        errors["summary"] = _("项目简介过长，请精简。")
    return out, errors


def presenters_from_form(form: Any) -> list[dict[str, str]]:
    """Presenters from a posted form with parallel lists ``presenter_name`` / ``_mobile`` / ``_email`` / ``_position``
    (a ``MultiDict``); rows left wholly blank are dropped by :func:`clean_project_fields`."""
    columns = {key: form.getlist(f"presenter_{key}") for key in PRESENTER_KEYS}
    count = max((len(v) for v in columns.values()), default=0)
    return [{key: (columns[key][i] if i < len(columns[key]) else "") for key in PRESENTER_KEYS} for i in range(count)]


def unavailable_from_form(form: Any) -> list[dict[str, str]]:
    """Rows of "times I cannot make" from parallel lists ``unavail_date`` / ``unavail_start`` / ``unavail_end``."""
    dates, starts, ends = form.getlist("unavail_date"), form.getlist("unavail_start"), form.getlist("unavail_end")
    count = max(len(dates), len(starts), len(ends))
    pick = lambda seq, i: seq[i] if i < len(seq) else ""  # noqa: E731
    return [{"date": pick(dates, i), "start": pick(starts, i), "end": pick(ends, i)} for i in range(count)]


def clean_unavailable(rows: Sequence[Mapping[str, Any]], days: Sequence[date] | None) -> tuple[list[list[str]], dict[str, str]]:
    """Check "times the presenter cannot make": each a date + start/end (Beijing wall clock).

    ``days`` are the days a date may fall on (the event's days); ``None`` accepts any date.
    Returns ``[[start_iso_utc, end_iso_utc], …]`` sorted, with overlapping ranges merged, and errors
    keyed ``unavailable`` (or ``unavailable-<i>`` for one row, ``i`` from 0 among the non-blank rows).
    """
    errors: dict[str, str] = {}
    filled = [r for r in rows if any(str(r.get(k) or "").strip() for k in ("date", "start", "end"))]
    if len(filled) > UNAVAILABLE_MAX:
        errors["unavailable"] = _("不便时段最多 %(n)d 条。", n=UNAVAILABLE_MAX)
        return [], errors
    ranges: list[tuple[datetime, datetime]] = []
    allowed = set(days) if days is not None else None
    for i, row in enumerate(filled):
        try:
            day = date.fromisoformat(str(row.get("date") or "").strip())
            start = time.fromisoformat(str(row.get("start") or "").strip())
            end = time.fromisoformat(str(row.get("end") or "").strip())
        except ValueError:
            errors[f"unavailable-{i}"] = _("第 %(n)d 条不便时段请填写日期及开始、结束时间。", n=i + 1)
            continue
        if allowed is not None and day not in allowed:
            days_text = join_list(d.isoformat() for d in sorted(allowed))
            errors[f"unavailable-{i}"] = _("第 %(n)d 条不便时段的日期应在活动日期内（%(days)s）。", n=i + 1, days=days_text)
            continue
        if end <= start:
            errors[f"unavailable-{i}"] = _("第 %(n)d 条不便时段的结束时间应晚于开始时间。", n=i + 1)
            continue
        ranges.append((datetime.combine(day, start, tzinfo=SHANGHAI).astimezone(UTC), datetime.combine(day, end, tzinfo=SHANGHAI).astimezone(UTC)))
    ranges.sort()
    merged: list[list[datetime]] = []
    for start_utc, end_utc in ranges:
        if merged and start_utc <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end_utc)
        else:
            merged.append([start_utc, end_utc])
    return [[s.isoformat(), e.isoformat()] for s, e in merged], errors


def unavailable_rows(values: Sequence[Sequence[str]] | None) -> list[dict[str, str]]:
    """Stored ``[[start_iso_utc, end_iso_utc], …]`` back to form rows in Beijing time (for editing and display)."""
    rows = []
    for pair in values or []:
        start, end = (to_shanghai(datetime.fromisoformat(v)) for v in pair)
        rows.append({"date": start.date().isoformat(), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
    return rows
