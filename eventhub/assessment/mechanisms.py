"""Lasting mechanisms (合作机制) and their 3- and 6-month follow-ups by their members.

The host records what it formed (an alliance, a joint lab, a long-term supply agreement…) and
who the member organisations are. Stability is not the host's word: the scheduler job
:func:`send_due_checks` asks every member by a personal signed link, 3 and then 6 calendar
months after the event's last day (Beijing calendar), whether the mechanism is still running,
and :func:`mechanism_figures` counts those answers for the score.

Rules decided here (the issue was silent on them):

* **Members.** 2–50 organisations, each with a contact name and an e-mail (unique within the
  mechanism). Until the first check of a mechanism is sent, everything may change and the
  mechanism may be deleted. Afterwards members may be *added* (they are asked from the next
  run of the job on, also for a wave that is still open), never removed or changed — their
  answers belong to them; ``formed_on`` and the kind are fixed too, name and description stay
  editable, and the mechanism cannot be deleted.
* **When a wave is due.** Wave *w* is due once the day ``end_date + w months`` (Beijing calendar,
  day clamped at month end) has passed, from 09:00 Beijing the next day (office hours). The 3-month wave stays open until the 6-month
  wave is due, the 6-month wave for :data:`WAVE_WINDOW_DAYS` days. A mechanism recorded late
  gets the wave that is open when the job next runs; a wave whose window has closed is never
  sent (a "3-month" question asked at month 7 would measure month 7 — the 6-month wave asks
  that). A mechanism formed after a wave's date is not asked for that wave.
* **Answers.** One click "仍在运行" / "已停止" plus an optional note, changeable while the wave is
  open (same window as sending). Opening the link never answers (mail scanners open links).
* **Active at a wave.** A mechanism is active when a strict majority of the members who answered
  say it is running; a tie is not a majority. Nobody answered → unknown, counted in the
  denominator but never as active. Share active = active ÷ mechanisms asked at that wave.
* **Exactly once.** A check is unique per (member, wave); it is inserted with ``INSERT … ON
  CONFLICT DO NOTHING`` and only the inserting transaction queues the mail, whose outbox key
  ``mechanism-check:{member}:{wave}`` is a second guard. Two schedulers at once ask once.
"""

from __future__ import annotations

import calendar
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from eventhub.assessment.models import MECHANISM_KIND_LABELS, Mechanism, MechanismCheck, MechanismKind, MechanismMember
from eventhub.core import audit
from eventhub.core.i18n import join_list
from eventhub.core.mail import send_mail
from eventhub.core.timeutil import as_utc, format_local, shanghai, to_shanghai, utcnow
from eventhub.core.urls import external_url
from eventhub.core.validators import check_email
from eventhub.events.models import Event, EventStatus
from eventhub.events.responses import hash_token, new_token  # the shared 32-byte link token / sha256 pair
from eventhub.extensions import db
from eventhub.plans.calls import _

WAVES = (3, 6)  # months after the event's last day
SEND_HOUR = 9  # Beijing: a wave goes out from 09:00 the day after its date
WAVE_WINDOW_DAYS = 90  # the last wave is sent and answerable this long after its date (earlier waves: until the next is due)
MEMBERS_MIN = 2
MEMBERS_MAX = 50
NAME_MAX = 200
DESCRIPTION_MAX = 2000
ORG_MAX = 200
CONTACT_MAX = 50
EMAIL_MAX = 254
NOTE_MAX = 1000
FORMED_BEFORE_START_DAYS = 365  # a mechanism formed more than a year before the event is not the event's result
MAIL_TEMPLATE = "assessment_mechanism_check"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)
_SPLIT_RE = re.compile(r"\s*[,，;；\t|]\s*")


class MechanismError(ValueError):
    """A refused change: ``errors`` maps a form field (or "") to a Chinese message."""

    def __init__(self, errors: Mapping[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("；".join(self.errors.values()))


def kind_labels() -> dict[str, str]:
    return {kind.value: _(label) for kind, label in MECHANISM_KIND_LABELS.items()}


# ==== dates of the waves ================================================================================


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, the day clamped at the month's end (31 May + 3 → 31 Aug, 30 Nov + 3 → 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def wave_day(event: Event, wave: int) -> date:
    """The Beijing calendar date ``wave`` months after the event's last day."""
    return add_months(event.end_date, wave)


def wave_due(event: Event, wave: int) -> datetime:
    """The instant after which the wave is due: 09:00 Beijing the day after :func:`wave_day` (UTC).

    The wave day has then fully passed, and the question arrives in office hours, not at midnight.
    """
    day = wave_day(event, wave) + timedelta(days=1)
    return shanghai(day.year, day.month, day.day, SEND_HOUR)


def wave_closes(event: Event, wave: int) -> datetime:
    """End of the wave's window: sending stops and answers are frozen (UTC)."""
    later = [w for w in WAVES if w > wave]
    if later:
        return wave_due(event, later[0])
    return wave_due(event, wave) + timedelta(days=WAVE_WINDOW_DAYS)


def open_wave(event: Event, now: datetime) -> int | None:
    """The wave whose window contains ``now`` (at most one: the 3-month window ends when the 6-month one opens)."""
    now = as_utc(now)
    for wave in WAVES:
        if wave_due(event, wave) < now < wave_closes(event, wave):
            return wave
    return None


def wave_applies(mechanism: Mechanism, event: Event, wave: int) -> bool:
    """A mechanism formed after the wave's date is not asked about that wave."""
    return mechanism.formed_on <= wave_day(event, wave)


# ==== recording =========================================================================================


@dataclass(frozen=True)
class MemberInput:
    org_name: str
    contact_name: str
    email: str


def parse_members(text: str) -> list[MemberInput]:
    """One member per line: ``单位名称，联系人，电子邮箱`` (comma, Chinese comma, semicolon, tab or |).

    Errors name the line, so a long list is fixed where it is wrong.
    """
    members: list[MemberInput] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in _SPLIT_RE.split(line)]
        if len(parts) != 3:
            errors.append(_("第 %(n)d 行：请按“单位名称，联系人，电子邮箱”填写三项。", n=number))
            continue
        org, contact, email = parts
        if not org or len(org) > ORG_MAX:
            errors.append(_("第 %(n)d 行：单位名称不能为空，且不超过 %(max)d 字。", n=number, max=ORG_MAX))
            continue
        if not contact or len(contact) > CONTACT_MAX:
            errors.append(_("第 %(n)d 行：联系人不能为空，且不超过 %(max)d 字。", n=number, max=CONTACT_MAX))
            continue
        try:
            email = check_email(email)
        except ValueError:
            errors.append(_("第 %(n)d 行：电子邮箱格式不正确（%(email)s）。", n=number, email=email))
            continue
        if len(email) > EMAIL_MAX:
            errors.append(_("第 %(n)d 行：电子邮箱过长。", n=number))
            continue
        if email in seen:
            errors.append(_("第 %(n)d 行：电子邮箱与第 %(first)d 行重复。", n=number, first=seen[email]))
            continue
        seen[email] = number
        members.append(MemberInput(org, contact, email))
    if errors:
        raise MechanismError({"members": "；".join(errors)})
    return members


def members_text(mechanism: Mechanism | None) -> str:
    """The members as the form's textarea shows them."""
    if mechanism is None:
        return ""
    return "\n".join(f"{m.org_name}，{m.contact_name}，{m.email}" for m in mechanism.members)


def checks_sent(mechanism: Mechanism) -> int:
    if mechanism.id is None:
        return 0
    return db.session.scalar(select(func.count(MechanismCheck.id)).where(MechanismCheck.mechanism_id == mechanism.id)) or 0


def is_locked(mechanism: Mechanism | None) -> bool:
    """True once any follow-up was sent: members can only be added, the mechanism not deleted."""
    return mechanism is not None and checks_sent(mechanism) > 0


def get_mechanism(event: Event, mechanism_id: int) -> Mechanism | None:
    mechanism = db.session.get(Mechanism, mechanism_id)
    return mechanism if mechanism is not None and mechanism.event_id == event.id else None


def _snapshot(mechanism: Mechanism) -> dict[str, Any]:
    return {
        "name": mechanism.name,
        "kind": mechanism.kind,
        "description": mechanism.description,
        "formed_on": mechanism.formed_on.isoformat() if mechanism.formed_on else None,
        "members": [[m.org_name, m.contact_name, m.email] for m in mechanism.members],
    }


def _check_values(event: Event, values: Mapping[str, Any], *, locked: bool, current: Mechanism | None, today: date) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        errors["name"] = _("请填写机制名称。")
    elif len(name) > NAME_MAX:
        errors["name"] = _("机制名称不能超过 %(max)d 字。", max=NAME_MAX)
    description = str(values.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("简要说明不能超过 %(max)d 字。", max=DESCRIPTION_MAX)
    if locked and current is not None:
        kind, formed_on = current.kind, current.formed_on
    else:
        kind = str(values.get("kind") or "")
        if kind not in {k.value for k in MechanismKind}:
            errors["kind"] = _("请选择机制类型。")
        formed_on = values.get("formed_on")
        if isinstance(formed_on, str):
            try:
                formed_on = date.fromisoformat(formed_on.strip())
            except ValueError:
                formed_on = None
        if not isinstance(formed_on, date):
            errors["formed_on"] = _("请填写成立日期（如 2027-05-20）。")
        elif formed_on > today:
            errors["formed_on"] = _("成立日期不能晚于今天。")
        elif formed_on < event.start_date - timedelta(days=FORMED_BEFORE_START_DAYS):
            errors["formed_on"] = _("成立日期不能早于活动开始前一年。")
        elif formed_on > wave_day(event, WAVES[-1]):
            errors["formed_on"] = _("成立日期晚于活动结束 %(months)d 个月，不计为本次活动形成的合作机制。", months=WAVES[-1])
    members: list[MemberInput] = []
    try:
        members = parse_members(str(values.get("members") or ""))
    except MechanismError as exc:
        errors.update(exc.errors)
    if locked and current is not None and "members" not in errors:
        existing = {m.email for m in current.members}
        clash = [m.email for m in members if m.email in existing]
        if clash:
            errors["members"] = _("%(emails)s 已是成员，无需重复添加。", emails=join_list(clash))
        members = [MemberInput(m.org_name, m.contact_name, m.email) for m in current.members] + members
    if "members" not in errors:
        if len(members) < MEMBERS_MIN:
            errors["members"] = _("合作机制至少需要 %(n)d 家成员单位。", n=MEMBERS_MIN)
        elif len(members) > MEMBERS_MAX:
            errors["members"] = _("合作机制最多 %(n)d 家成员单位（现为 %(count)d 家）。", n=MEMBERS_MAX, count=len(members))
    if errors:
        raise MechanismError(errors)
    return {"name": name, "description": description, "kind": kind, "formed_on": formed_on, "members": members}


def save_mechanism(event: Event, values: Mapping[str, Any], actor: Any, mechanism: Mechanism | None = None, *, now: datetime | None = None) -> Mechanism:
    """Record a new mechanism or change one (the caller commits).

    ``values``: name, kind, description, formed_on (date or ISO text), members (textarea text).
    Before the first follow-up, ``members`` is the whole list (missing ones are removed); once a
    follow-up was sent it lists only members to *add* (see the module's rules).
    """
    if event.status == EventStatus.WITHDRAWN.value:
        raise MechanismError(_("活动已撤销，不能登记合作机制。"))
    today = to_shanghai(as_utc(now or utcnow())).date()
    locked = is_locked(mechanism)
    clean = _check_values(event, values, locked=locked, current=mechanism, today=today)
    before = _snapshot(mechanism) if mechanism is not None else None
    if mechanism is None:
        mechanism = Mechanism(event_id=event.id, created_by_id=getattr(actor, "id", None))
        db.session.add(mechanism)
    mechanism.name = clean["name"]
    mechanism.description = clean["description"]
    mechanism.kind = clean["kind"]
    mechanism.formed_on = clean["formed_on"]
    wanted = {m.email: m for m in clean["members"]}
    current = {m.email: m for m in mechanism.members}
    for email, row in current.items():
        if email not in wanted:
            mechanism.members.remove(row)  # only reachable while unlocked: locked lists contain every existing member
        elif not locked:
            row.org_name, row.contact_name = wanted[email].org_name, wanted[email].contact_name
    db.session.flush()  # removals first: an e-mail removed and typed again stays one row
    for email, item in wanted.items():
        if email not in current:
            mechanism.members.append(MechanismMember(org_name=item.org_name, contact_name=item.contact_name, email=email))
    db.session.flush()
    audit.record("mechanism.create" if before is None else "mechanism.update", mechanism, before=before, after=_snapshot(mechanism), actor=actor)
    return mechanism


def delete_mechanism(mechanism: Mechanism, actor: Any) -> None:
    """Delete a mechanism that nobody was asked about yet (the caller commits)."""
    if is_locked(mechanism):
        raise MechanismError(_("已向成员发出回访，不能删除该合作机制。"))
    audit.record("mechanism.delete", mechanism, before=_snapshot(mechanism), actor=actor)
    db.session.delete(mechanism)
    db.session.flush()


def event_mechanisms(event: Event) -> list[Mechanism]:
    return list(db.session.scalars(select(Mechanism).where(Mechanism.event_id == event.id).order_by(Mechanism.formed_on, Mechanism.id)))


def checks_by_member(mechanisms: Iterable[Mechanism]) -> dict[tuple[int, int], MechanismCheck]:
    """``(member_id, wave) → check`` for the listed mechanisms (one query, for the pages)."""
    ids = [m.id for m in mechanisms]
    if not ids:
        return {}
    rows = db.session.scalars(select(MechanismCheck).where(MechanismCheck.mechanism_id.in_(ids)))
    return {(c.member_id, c.wave): c for c in rows}


# ==== the follow-up job =================================================================================


def _insert_check(mechanism_id: int, member_id: int, wave: int, token_hash: str, now: datetime) -> int | None:
    """Insert one check unless (member, wave) exists; its id, or None when another run asked already.

    ``ON CONFLICT DO NOTHING`` instead of catching IntegrityError on a flush: on PostgreSQL a
    concurrent insert of the same pair waits for the other transaction and then inserts nothing
    without poisoning this one; on SQLite a savepoint before the transaction's first write would
    be committed by the driver (see ``core.mail._insert``).
    """
    table = MechanismCheck.__table__
    values = {"mechanism_id": mechanism_id, "member_id": member_id, "wave": wave, "token_hash": token_hash, "sent_at": now, "note": ""}
    dialect = db.session.get_bind(mapper=MechanismCheck.__mapper__).dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c.member_id, table.c.wave]).returning(table.c.id)
        return db.session.execute(stmt).scalar()
    check = MechanismCheck(**values)
    try:
        with db.session.begin_nested():
            db.session.add(check)
    except IntegrityError:
        return None
    return check.id


def check_key(member_id: int, wave: int) -> str:
    return f"mechanism-check:{member_id}:{wave}"


def check_url(token: str) -> str:
    return external_url("assessment.mechanism_check", token=token)


def ask_member(mechanism: Mechanism, member: MechanismMember, wave: int, now: datetime) -> bool:
    """Create the member's check for ``wave`` and queue its keyed mail; False when it already existed."""
    token = new_token()
    check_id = _insert_check(mechanism.id, member.id, wave, hash_token(token), now)
    if check_id is None:
        return False
    event = mechanism.event
    send_mail(
        member.email,
        MAIL_TEMPLATE,
        key=check_key(member.id, wave),
        org_name=member.org_name,
        contact_name=member.contact_name,
        mechanism_name=mechanism.name,
        kind=MECHANISM_KIND_LABELS[MechanismKind(mechanism.kind)],
        event_title=event.title,
        host_name=event.host_base.display_short_name,
        end_date=event.end_date.isoformat(),
        wave=wave,
        closes=format_local(wave_closes(event, wave)),
        link=check_url(token),
    )
    return True


def send_due_checks(now: datetime | None = None) -> str:
    """Ask the members of every mechanism whose wave is open; commits per mechanism; a summary.

    Mechanisms and members are walked in id order, so two schedulers running at once meet on
    the same (member, wave) rows in the same order: one inserts, the other waits and skips.
    """
    now = as_utc(now or utcnow())
    today = to_shanghai(now).date()
    oldest = add_months(today, -(WAVES[-1] + 1)) - timedelta(days=WAVE_WINDOW_DAYS + 1)
    newest = add_months(today, -WAVES[0]) + timedelta(days=3)  # generous: the exact rule is open_wave below
    rows = db.session.execute(
        select(Mechanism.id, Event)
        .join(Event, Event.id == Mechanism.event_id)
        .where(Event.status == EventStatus.SCHEDULED.value, Event.end_date >= oldest, Event.end_date <= newest)
        .order_by(Mechanism.id)
    ).all()
    mechanisms = asked = skipped = 0
    for mechanism_id, event in rows:
        wave = open_wave(event, now)
        if wave is None:
            continue
        mechanism = db.session.get(Mechanism, mechanism_id)
        if mechanism is None or not wave_applies(mechanism, event, wave):
            continue
        done = set(db.session.scalars(select(MechanismCheck.member_id).where(MechanismCheck.mechanism_id == mechanism.id, MechanismCheck.wave == wave)))
        new = 0
        for member in sorted(mechanism.members, key=lambda m: m.id):
            if member.id in done:
                continue
            if ask_member(mechanism, member, wave, now):
                new += 1
            else:
                skipped += 1
        db.session.commit()
        if new:
            mechanisms += 1
            asked += new
    return f"{asked} member(s) of {mechanisms} mechanism(s) asked" + (f", {skipped} already asked by another run" if skipped else "")


# ==== answers by link ===================================================================================


def find_check(token: str) -> MechanismCheck | None:
    """The check whose link carries ``token`` (None for anything else; compared in constant time)."""
    if not token or not _TOKEN_RE.match(token):
        return None
    digest = hash_token(token)
    check = db.session.scalar(select(MechanismCheck).where(MechanismCheck.token_hash == digest))
    if check is None or not hmac.compare_digest(check.token_hash, digest):
        return None
    return check


def check_mechanism(check: MechanismCheck) -> Mechanism:
    mechanism = db.session.get(Mechanism, check.mechanism_id)
    assert mechanism is not None
    return mechanism


def answer_open(check: MechanismCheck, now: datetime | None = None) -> bool:
    return as_utc(now or utcnow()) < wave_closes(check_mechanism(check).event, check.wave)


def answer_check(check: MechanismCheck, active: bool, note: str = "", *, now: datetime | None = None) -> MechanismCheck:
    """Record (or change) the member's answer while the wave is open (the caller commits)."""
    now = as_utc(now or utcnow())
    if not answer_open(check, now):
        raise MechanismError(_("本次回访已于 %(at)s（北京时间）结束，答复不能再修改。", at=format_local(wave_closes(check_mechanism(check).event, check.wave))))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise MechanismError({"note": _("备注不能超过 %(max)d 字。", max=NOTE_MAX)})
    before = {"active": check.active, "note": check.note, "answered_at": check.answered_at.isoformat() if check.answered_at else None}
    check.active = bool(active)
    check.note = note
    check.answered_at = now
    audit.record("mechanism_check.answer", check, before=before, after={"active": check.active, "note": note, "answered_at": now.isoformat()}, actor=None)
    db.session.flush()
    return check


# ==== figures for the score =============================================================================


def status_at(answers: Iterable[bool | None]) -> str | None:
    """Status "active" / "inactive" / "unknown" for the answers of one wave (None: nobody was asked).

    Strict majority of those who answered; a tie is not active; nobody answered → unknown.
    """
    answers = list(answers)
    if not answers:
        return None
    given = [a for a in answers if a is not None]
    if not given:
        return "unknown"
    return "active" if 2 * sum(1 for a in given if a) > len(given) else "inactive"


def mechanism_statuses(mechanism: Mechanism, checks: Mapping[tuple[int, int], MechanismCheck]) -> dict[int, str | None]:
    """Per wave, the mechanism's status by :func:`status_at`."""
    out: dict[int, str | None] = {}
    for wave in WAVES:
        answers = [checks[(m.id, wave)].active for m in mechanism.members if (m.id, wave) in checks]
        out[wave] = status_at(answers)
    return out


def mechanism_figures(event: Event) -> dict[str, Any]:
    """The mechanism metrics of one event, JSON-ready (string keys, so they can be frozen as they are).

    ``{"mechanisms": n, "waves": {"3": {...}, "6": {...}}, "share_active_3": x|None, "share_active_6": y|None}``
    with per wave: ``mechanisms_asked``, ``members_asked``, ``answered``, ``active_answers``
    (members who said it runs), ``active`` / ``inactive`` / ``unknown`` (mechanisms) and
    ``share_active`` = active ÷ mechanisms asked (None when nobody was asked yet).
    """
    mechanisms = event_mechanisms(event)
    checks = checks_by_member(mechanisms)
    waves: dict[str, dict[str, Any]] = {}
    for wave in WAVES:
        figures = {"mechanisms_asked": 0, "members_asked": 0, "answered": 0, "active_answers": 0, "active": 0, "inactive": 0, "unknown": 0}
        for mechanism in mechanisms:
            rows = [checks[(m.id, wave)] for m in mechanism.members if (m.id, wave) in checks]
            status = status_at(c.active for c in rows)
            if status is None:
                continue
            figures["mechanisms_asked"] += 1
            figures["members_asked"] += len(rows)
            figures["answered"] += sum(1 for c in rows if c.active is not None)
            figures["active_answers"] += sum(1 for c in rows if c.active)
            figures[status] += 1
        asked = figures["mechanisms_asked"]
        waves[str(wave)] = {**figures, "share_active": (figures["active"] / asked) if asked else None}
    return {
        "mechanisms": len(mechanisms),
        "waves": waves,
        **{f"share_active_{wave}": waves[str(wave)]["share_active"] for wave in WAVES},
    }
