"""Check-in rules: staff and lists, API tokens, one scan → one result, offline merge.

Why the database decides: two scanners at the same door may read the same QR at the same
moment. Neither looks up "is it checked in?" first (both would see "no"); each inserts the
``Checkin`` row with ``INSERT … ON CONFLICT DO NOTHING`` and the unique ``(ticket_id, list_id)``
constraint lets exactly one insert through — on PostgreSQL the second waits for the first to
commit, on SQLite writers are serialised by the database lock. The loser reads the winner's row
and answers ``already`` with its time, gate and staff member. The same holds for ``scan_id``: a
device resending a scan (timeout, offline queue) gets the stored result back, because the scan
row is inserted the same way before anything else is written. The verdict on the payload
(signature, ticket, registration) is read *before* that first write, so on SQLite the write lock
is held only for the two INSERTs (scan, check-in), the audit row and the COMMIT.

``ON CONFLICT DO NOTHING`` rather than try/except around a flush in a SAVEPOINT (as
``core.mail`` explains): no exception, no extra SAVEPOINT round trips per scan, the caller's
transaction stays usable on PostgreSQL, and pysqlite's SAVEPOINT-as-first-statement pitfall
cannot bite.

Result codes (machine-readable, shared by the API and the scanner page): ``ok``, ``already``,
the verifier's reasons (``malformed``, ``unsupported_version``, ``unknown_key``,
``invalid_signature``, ``other_event``, ``revoked``) and the server's own: ``not_found`` (a
validly signed code with no ticket), ``cancelled``, ``not_approved`` (pending, wait-listed or
declined), ``wrong_session`` (a session list and the registration did not choose that session).
The server looks the ticket up before judging revocation, so a cancelled registration reads
``cancelled`` rather than the scanner's generic ``revoked``.

Manual check-in (人工签到): staff who found a person by name on the scanner page check them in
by ticket code (``manual=True``). There is no signature to verify — the logged-in staff member
vouches for it — so the code is judged against the database only (same reasons as a scan after
its signature: ``not_found``, ``cancelled``, ``not_approved``, ``revoked``, ``wrong_session``;
``malformed`` for text that is no ticket code). The scan row then holds ``manual:<CODE>`` as its
payload (``CheckinScan`` has no column for it; :data:`MANUAL_PREFIX`) and the audit row says
``"manual": true``.

The caller commits, except :func:`sync_offline`, which commits each scan on its own (see there).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import contains_eager

from eventhub.auth.models import User
from eventhub.checkin.models import ApiToken, Checkin, CheckinList, CheckinScan, CheckinStaff
from eventhub.core import audit
from eventhub.core.permissions import Role, has_permission
from eventhub.core.timeutil import as_utc, utcnow
from eventhub.events.models import Event, EventSession
from eventhub.extensions import db
from eventhub.plans.calls import CallError, _
from eventhub.registration.models import EventKey, Registration, RegistrationStatus, Ticket, TicketRevocation
from eventhub.registration.tickets import CODE_LENGTH, KeyStatus, public_keys, verify_payload

OK = "ok"
ALREADY = "already"
NOT_FOUND = "not_found"
CANCELLED = "cancelled"
NOT_APPROVED = "not_approved"
WRONG_SESSION = "wrong_session"
REVOKED = "revoked"
MALFORMED = "malformed"
SUPERSEDED = "superseded"  # a scan whose check-in moved to an earlier offline scan (organiser sees it in the scans table)
PENDING = "pending"  # placeholder of older versions while a scan's transaction decided (never committed)

MANUAL_PREFIX = "manual:"  # payload stored for a manual check-in by ticket code
MAX_PAYLOAD = 1000  # longer "scans" are not tickets; stored truncated
TOKEN_PREFIX = "eh_"  # noqa: S105  (a visible prefix so leaked tokens are recognisable, not a secret)
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most once a minute per token
_LOCK_LISTS = 0x45480003  # PostgreSQL advisory-lock namespace: creating an event's check-in lists


UNREAD: Any = object()  # "the staff assignment was not read yet" (None means: read, and there is none)


class CheckinError(CallError):
    """A check-in rule was broken (Chinese message)."""


@dataclass
class CheckinResult:
    """What one scan gave. ``result`` is ``ok``, ``already`` or a reason code."""

    result: str
    scan_id: str
    ticket_code: str | None = None
    name: str | None = None
    organisation: str | None = None
    checked_in_at: datetime | None = None  # ok: this check-in's time
    first_at: datetime | None = None  # already: the winning check-in
    first_gate: str | None = None
    first_staff: str | None = None
    list_id: int | None = None
    replayed: bool = False  # the scan_id had been sent before: this is the stored result
    conflict: dict[str, Any] | None = None  # offline merge: another scan of the same ticket
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result == OK


# ---- lists and staff -------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _write_lock(event_id: int) -> None:
    """Serialise creators of an event's lists before re-reading them (as ``tickets._lock`` does):
    an advisory lock on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` when no transaction is open yet
    (a transaction that already wrote holds the database's write lock anyway)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": _LOCK_LISTS, "id": event_id})
    elif connection.dialect.name == "sqlite":
        dbapi = connection.connection.driver_connection
        if dbapi is not None and not dbapi.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _find_list(event_id: int, session_id: int | None) -> CheckinList | None:
    cond = CheckinList.session_id.is_(None) if session_id is None else CheckinList.session_id == session_id
    # Oldest first, so every caller agrees should a duplicate ever exist.
    return db.session.scalar(select(CheckinList).where(CheckinList.event_id == event_id, cond).order_by(CheckinList.id).limit(1))


def _get_or_create_list(event: Event, session_id: int | None, name: str) -> CheckinList:
    # A unique constraint cannot guard session_id NULL (NULLs are distinct), hence the lock.
    found = _find_list(event.id, session_id)
    if found is not None:
        return found
    _write_lock(event.id)
    found = _find_list(event.id, session_id)
    if found is None:
        found = CheckinList(event_id=event.id, session_id=session_id, name=name[:100])
        db.session.add(found)
        db.session.flush()
    return found


def default_list(event: Event) -> CheckinList:
    """The whole-event list (全场签到), created once."""
    return _get_or_create_list(event, None, "全场签到")


def session_list(event: Event, session_id: int) -> CheckinList:
    """The list of one session of the event, created once."""
    session = db.session.get(EventSession, session_id)
    if session is None or session.event_id != event.id:
        raise CheckinError(_("该场次不属于本活动。"), field="list")
    return _get_or_create_list(event, session.id, session.title)


def event_lists(event: Event) -> list[CheckinList]:
    return list(db.session.scalars(select(CheckinList).where(CheckinList.event_id == event.id).order_by(CheckinList.id)))


def list_of_event(event: Event, list_id: int) -> CheckinList | None:
    row = db.session.get(CheckinList, list_id)
    return row if row is not None and row.event_id == event.id else None


def may_be_staff(user: User) -> bool:
    """Only check-in users (签到人员) and organisers can be assigned to scan."""
    return bool(user.is_active) and Role(user.role) in (Role.CHECKIN, Role.ORGANISER)


def staff_assignment(user: User, event: Event) -> CheckinStaff | None:
    return db.session.scalar(select(CheckinStaff).where(CheckinStaff.event_id == event.id, CheckinStaff.user_id == user.id))


def is_staff(user: User, event: Event) -> bool:
    """True when ``user`` is assigned to the event (organisers too only when assigned)."""
    return staff_assignment(user, event) is not None


def scan_access(user: User, event: Event) -> tuple[bool, CheckinStaff | None]:
    """(may scan, the user's staff assignment) with one read: the API passes the assignment on to
    :func:`checkin_ticket` so a scan does not read it twice. Organisers are not looked up (they
    may scan without an assignment; their assignment, if any, is read by :func:`checkin_ticket`)."""
    if not has_permission(user, "checkin.scan"):
        return False, None
    if Role(user.role) is Role.ORGANISER:
        return True, UNREAD
    assignment = staff_assignment(user, event)
    return assignment is not None, assignment


def can_scan(user: User, event: Event) -> bool:
    """May scan this event's tickets: an assigned check-in user, or any organiser."""
    return scan_access(user, event)[0]


def assign_staff(event: Event, user: User, *, list: CheckinList | None = None, gate: str = "", actor: Any) -> CheckinStaff:  # noqa: A002
    """Assign (or re-assign) a check-in user to an event, optionally to one list and a gate."""
    if not may_be_staff(user):
        raise CheckinError(_("只有签到人员或组织方用户可以分配为签到人员。"), field="user")
    if list is not None and list.event_id != event.id:
        raise CheckinError(_("该签到清单不属于本活动。"), field="list")
    gate = (gate or "").strip()[:50]
    default_list(event)  # every event that has staff has its whole-event list
    row = staff_assignment(user, event)
    before = None
    if row is None:
        row = CheckinStaff(event_id=event.id, user_id=user.id, list_id=list.id if list else None, gate=gate)
        db.session.add(row)
    else:
        before = {"list_id": row.list_id, "gate": row.gate}
        row.list_id, row.gate = (list.id if list else None), gate
    db.session.flush()
    audit.record(
        "checkin_staff.assign", row, before=before, after={"event_id": event.id, "user_id": user.id, "list_id": row.list_id, "gate": row.gate}, actor=actor
    )
    return row


def unassign(event: Event, user: User, *, actor: Any) -> bool:
    """Remove a staff member from an event; their past check-ins stay. False when not assigned."""
    row = staff_assignment(user, event)
    if row is None:
        return False
    audit.record("checkin_staff.unassign", row, before={"event_id": event.id, "user_id": user.id, "list_id": row.list_id, "gate": row.gate}, actor=actor)
    db.session.delete(row)
    db.session.flush()
    return True


# ---- API tokens ------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str, *, actor: Any = None) -> str:
    """A new bearer token for ``user``; returned once, only its SHA-256 is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=(name or "").strip()[:100], token_hash=_hash_token(token), created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record("api_token.create", row, after={"user_id": user.id, "name": row.name}, actor=actor or user)
    return token


def revoke_token(token: ApiToken, *, actor: Any = None) -> None:
    """Stop a token from working (idempotent)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.record("api_token.revoke", token, after={"user_id": token.user_id, "name": token.name}, actor=actor)


def user_for_bearer(header: str | None) -> User | None:
    """The active user of an ``Authorization: Bearer <token>`` header, or None.

    The token is hashed and looked up by its hash (an index lookup), so no secret is ever
    compared character by character — nothing to time. ``last_used_at`` is refreshed at most
    once a minute (the caller commits), so a busy scanner does not turn every read into a write.
    """
    if not header:
        return None
    scheme, _sep, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    found = db.session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == _hash_token(token))).first()
    if found is None:  # no such token (or, impossible with the foreign key, no such user)
        return None
    row, user = found
    if row.revoked_at is not None or not user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
    return user


# ---- one scan --------------------------------------------------------------------------------


def _insert_ignore(model: Any, values: dict[str, Any], conflict: list[str]) -> int | None:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING RETURNING id``: the new id, or None when the
    unique constraint kept an existing row (on PostgreSQL after waiting for its transaction)."""
    table = model.__table__
    insert = pg_insert if _dialect() == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c[name] for name in conflict]).returning(table.c.id)
    return db.session.execute(stmt).scalar()


def _first_fields(checkin: Checkin) -> dict[str, Any]:
    staff = db.session.get(User, checkin.staff_id) if checkin.staff_id else None
    return {"first_at": checkin.checked_in_at, "first_gate": checkin.gate, "first_staff": staff.name if staff else None}


def _ticket_by_code(event_id: int, code: str | None) -> Ticket | None:
    """The event's ticket with this code and its registration, in one joined query."""
    if code is None:
        return None
    query = select(Ticket).join(Ticket.registration).options(contains_eager(Ticket.registration)).where(Ticket.event_id == event_id, Ticket.code == code)
    return db.session.scalar(query)


def _stored_result(scan: CheckinScan) -> CheckinResult:
    """Rebuild the answer of a scan already recorded (an idempotent resend)."""
    result = CheckinResult(result=scan.result, scan_id=scan.scan_id, ticket_code=scan.ticket_code, list_id=scan.list_id, replayed=True)
    ticket = _ticket_by_code(scan.event_id, scan.ticket_code)
    if ticket is not None and scan.result in (OK, ALREADY, SUPERSEDED):
        result.name, result.organisation = ticket.registration.name, ticket.registration.organisation
        checkin = db.session.scalar(select(Checkin).where(Checkin.ticket_id == ticket.id, Checkin.list_id == scan.list_id))
        if scan.result == OK:
            result.checked_in_at = checkin.checked_in_at if checkin is not None and checkin.scan_id == scan.scan_id else scan.scanned_at
        elif checkin is not None:
            for key, value in _first_fields(checkin).items():
                setattr(result, key, value)
    return result


def manual_code(text: str) -> str | None:
    """The ticket code typed or picked for a manual check-in (upper-cased), or None when it is not one."""
    code = (text or "").strip().upper()
    return code if len(code) == CODE_LENGTH and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in code) else None


def _judge(
    event: Event, payload: str, checkin_list: CheckinList, manual: bool = False, keys: dict[str, bytes] | None = None
) -> tuple[str | None, str | None, Ticket | None]:
    """(reason or None, ticket code, ticket): signature first (none for a manual code), then what the database knows.

    Reads only. ``keys`` are the event's trusted public keys when the caller already has them
    (:func:`sync_offline` reads them once per batch); else they are read here.
    """
    if manual:
        code = manual_code(payload)
        if code is None:
            return MALFORMED, None, None
        return _judge_ticket(event, code, checkin_list)
    verification = verify_payload(payload, event.id, public_keys(event) if keys is None else keys)
    code = verification.ticket_code
    if not verification.ok:
        if verification.reason == "unknown_key":
            revoked_key = db.session.scalar(
                select(EventKey.id).where(EventKey.event_id == event.id, EventKey.kid == verification.kid, EventKey.status == KeyStatus.REVOKED.value)
            )
            if revoked_key is not None:
                return REVOKED, code, None
        return verification.reason, code, None
    return _judge_ticket(event, code, checkin_list)


def _judge_ticket(event: Event, code: str | None, checkin_list: CheckinList) -> tuple[str | None, str | None, Ticket | None]:
    """The database's verdict on a ticket code of this event (signature already checked, or a manual entry)."""
    ticket = _ticket_by_code(event.id, code)
    if ticket is None:
        listed = db.session.scalar(select(TicketRevocation.id).where(TicketRevocation.event_id == event.id, TicketRevocation.ticket_code == code).limit(1))
        return (REVOKED if listed is not None else NOT_FOUND), code, None
    registration: Registration = ticket.registration
    if registration.status == RegistrationStatus.CANCELLED.value:
        return CANCELLED, code, ticket
    if registration.status != RegistrationStatus.CONFIRMED.value:
        return NOT_APPROVED, code, ticket
    if ticket.revoked_at is not None:
        return REVOKED, code, ticket
    if checkin_list.session_id is not None and checkin_list.session_id not in (registration.session_ids or []):
        return WRONG_SESSION, code, ticket
    return None, code, ticket


def _set_scan_result(scan_id: str, result: str) -> None:
    db.session.execute(update(CheckinScan).where(CheckinScan.scan_id == scan_id).values(result=result).execution_options(synchronize_session=False))


def checkin_ticket(
    event: Event,
    payload: str,
    *,
    staff: User,
    scan_id: str,
    list: CheckinList | None = None,  # noqa: A002
    gate: str = "",
    scanned_at: datetime | None = None,
    offline: bool = False,
    manual: bool = False,
    assignment: CheckinStaff | None = UNREAD,
    keys: dict[str, bytes] | None = None,
) -> CheckinResult:
    """Check one scanned text in on a list (default: the staff member's list, else the whole event).

    The caller has checked that ``staff`` may scan this event (:func:`can_scan`; the API passes
    the ``assignment`` that check read, so it is not read twice) and commits.

    Order: first the verdict, from reads only (signature, ticket with its registration) — on
    SQLite no write lock is held yet, so concurrent scans judge in parallel; then the scan row,
    inserted with its result (unique ``scan_id``: a resend finds it and returns the stored
    result, nothing else is written); then, for a valid ticket, the check-in row (unique per
    ticket and list: the winner). The scan row of a valid ticket is inserted as ``ok`` and
    corrected to ``already`` only when the constraint refuses the check-in — so the common
    scan is two INSERTs (and the audit row) inside the write. As on PostgreSQL before, the
    verdict is the state committed when it was read: a cancellation committed in the same
    instant may come after it (the ticket then reads as checked in, which the organiser sees).

    For an offline scan (``offline=True``, ``scanned_at`` = device time) that finds a *later*
    check-in, the earlier scan takes the check-in over (see :func:`sync_offline`). With
    ``manual=True`` ``payload`` is a ticket code picked by the staff member, judged without a
    signature. ``keys``: the event's trusted public keys, when the caller read them already.
    """
    scan_id = (scan_id or "").strip()
    if not scan_id or len(scan_id) > 64:
        raise CheckinError(_("扫码编号无效。"), field="scan_id")
    now = utcnow()
    scanned_at = min(as_utc(scanned_at), now) if scanned_at is not None else now  # a device clock ahead of ours cannot "win" later
    if assignment is UNREAD:
        assignment = staff_assignment(staff, event)
    if list is None and assignment is not None and assignment.list_id is not None:
        list = db.session.get(CheckinList, assignment.list_id)  # noqa: A001
    if list is None:
        list = default_list(event)  # noqa: A001
    if list.event_id != event.id:
        raise CheckinError(_("该签到清单不属于本活动。"), field="list")
    gate = ((gate or "").strip() or (assignment.gate if assignment else ""))[:50]
    payload = payload if isinstance(payload, str) else ""
    stored_payload = (MANUAL_PREFIX + payload.strip().upper()) if manual else payload

    reason, code, ticket = _judge(event, payload, list, manual, keys) if len(payload) <= MAX_PAYLOAD else (MALFORMED, None, None)
    scan_row_id = _insert_ignore(
        CheckinScan,
        {
            "scan_id": scan_id,
            "event_id": event.id,
            "list_id": list.id,
            "payload": stored_payload[:MAX_PAYLOAD],
            "ticket_code": code,
            "result": reason or OK,
            "staff_id": staff.id,
            "gate": gate,
            "scanned_at": scanned_at,
            "received_at": now,
            "offline": offline,
        },
        ["scan_id"],
    )
    if scan_row_id is None:  # sent before: the stored answer, never a second check-in
        stored = db.session.scalar(select(CheckinScan).where(CheckinScan.scan_id == scan_id))
        if stored is None or stored.event_id != event.id:
            return CheckinResult(result="scan_id_conflict", scan_id=scan_id)
        return _stored_result(stored)

    result = CheckinResult(result=reason or OK, scan_id=scan_id, ticket_code=code, list_id=list.id)
    if ticket is not None:
        result.name, result.organisation = ticket.registration.name, ticket.registration.organisation
    if reason is not None:
        return result

    assert ticket is not None
    checkin_id = _insert_ignore(
        Checkin,
        {
            "ticket_id": ticket.id,
            "list_id": list.id,
            "event_id": event.id,
            "scan_id": scan_id,
            "staff_id": staff.id,
            "gate": gate,
            "checked_in_at": scanned_at,
            "created_at": now,
        },
        ["ticket_id", "list_id"],
    )
    if checkin_id is not None:
        result.checked_in_at = scanned_at
        audit.record(
            "checkin.ok",
            object_type="Checkin",
            object_id=checkin_id,
            after={
                "event_id": event.id,
                "ticket": code,
                "list_id": list.id,
                "gate": gate,
                "scan_id": scan_id,
                "offline": offline,
                "manual": manual,
                "checked_in_at": scanned_at,
            },
            actor=staff,
        )
        db.session.flush()
        return result

    winner = db.session.scalar(select(Checkin).where(Checkin.ticket_id == ticket.id, Checkin.list_id == list.id))
    assert winner is not None  # the constraint refused our row, so the winner exists (and is committed)
    if offline and scanned_at < winner.checked_in_at:
        replaced = {"scan_id": winner.scan_id, "at": winner.checked_in_at, "gate": winner.gate, "staff_id": winner.staff_id}
        taken = db.session.execute(
            update(Checkin)
            .where(Checkin.id == winner.id, Checkin.checked_in_at > scanned_at)  # conditional: a still earlier scan may have won meanwhile
            .values(checked_in_at=scanned_at, gate=gate, staff_id=staff.id, scan_id=scan_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            _set_scan_result(replaced["scan_id"], SUPERSEDED)  # our own scan row already reads ok
            result.checked_in_at = scanned_at
            result.conflict = {"resolution": "earlier_wins", "ticket": code, "kept": scan_id, "replaced": replaced}
            audit.record(
                "checkin.conflict",
                object_type="Checkin",
                object_id=winner.id,
                before={k: replaced[k] for k in ("scan_id", "at", "gate", "staff_id")},
                after={"scan_id": scan_id, "at": scanned_at, "gate": gate, "staff_id": staff.id, "ticket": code},
                actor=staff,
            )
            db.session.flush()
            return result
        db.session.refresh(winner)
    result.result = ALREADY
    _set_scan_result(scan_id, ALREADY)
    for key, value in _first_fields(winner).items():
        setattr(result, key, value)
    if offline:
        result.conflict = {"resolution": "kept_earlier", "ticket": code, "kept": winner.scan_id, "replaced": None}
    return result


# ---- offline merge ---------------------------------------------------------------------------


@dataclass
class SyncOutcome:
    results: list[CheckinResult]
    conflicts: list[dict[str, Any]]


def sync_offline(event: Event, scans: list[dict[str, Any]], staff: User, *, list: CheckinList | None = None) -> SyncOutcome:  # noqa: A002
    """Merge scans a device recorded while offline: ``{scan_id, payload, scanned_at, gate?}`` each
    (a manual check-in: ``{scan_id, ticket, manual: true, scanned_at, gate?}``).

    Each scan is merged like a live one, oldest first, and **committed on its own**: a batch
    never holds locks on several tickets at once (two devices syncing overlapping batches in
    different orders could otherwise deadlock on PostgreSQL), and a batch cut short by a network
    failure is simply sent again — every scan_id already merged returns its stored result.
    When a ticket was checked in by a *later* scan, the earlier offline scan takes the check-in
    over (time, gate, staff, scan id); the displaced scan's row reads ``superseded``. Both that
    and an offline scan that lost to an earlier check-in are returned as conflicts.
    ``scanned_at`` is an aware datetime (or ISO 8601 text; without an offset it is Beijing time).
    The event's public keys are read once for the batch (the scans were made before the request).
    """
    from eventhub.core.timeutil import local_to_utc

    prepared = []
    for item in scans:  # check the whole batch before merging anything
        scan_id = str(item.get("scan_id") or "").strip()
        if not scan_id or len(scan_id) > 64:
            raise CheckinError(_("扫码编号无效。"), field="scan_id")
        at = item.get("scanned_at")
        if isinstance(at, str):
            try:
                at = local_to_utc(datetime.fromisoformat(at))
            except ValueError as exc:
                raise CheckinError(_("离线扫码时间无效。"), field="scanned_at") from exc
        elif isinstance(at, datetime):
            at = local_to_utc(at)
        else:
            raise CheckinError(_("离线扫码缺少扫码时间。"), field="scanned_at")
        prepared.append((at, item))
    prepared.sort(key=lambda pair: pair[0])
    keys = public_keys(event) if any(item.get("manual") is not True for _at, item in prepared) else None  # once per batch
    results: list[CheckinResult] = []
    conflicts: list[dict[str, Any]] = []
    for at, item in prepared:
        manual = item.get("manual") is True
        result = checkin_ticket(
            event,
            str((item.get("ticket") if manual else item.get("payload")) or ""),
            staff=staff,
            scan_id=str(item.get("scan_id") or ""),
            list=list,
            gate=str(item.get("gate") or ""),
            scanned_at=at,
            offline=True,
            manual=manual,
            keys=keys,
        )
        db.session.commit()
        results.append(result)
        if result.conflict is not None:
            conflicts.append({"scan_id": result.scan_id, **result.conflict})
    return SyncOutcome(results, conflicts)
