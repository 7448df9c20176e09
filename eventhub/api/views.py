"""The scanners' JSON API (``/api/v1``): check in, offline sync, keys, revocations, roster.

Every view needs a bearer token (:mod:`eventhub.api.auth`, 401 otherwise) of a user who may scan
the event: an assigned check-in user or an organiser (403 ``not_staff`` otherwise); an unknown
event is 404 ``event_not_found``. Times are ISO 8601 in Beijing time (``+08:00``).

Status codes of ``POST …/checkins`` (``result`` and ``reason`` are machine-readable):

* ``201`` ``{"result": "ok", ticket, name, organisation, checked_in_at, list_id, scan_id}``
* ``200`` ``{"result": "already", ticket, name, organisation, first: {at, gate, staff}}`` —
  the ticket is valid and was checked in before; 200 (not 409) because the request itself
  succeeded and a scanner shows it as the amber "已签到", not as an error.
* ``422`` ``{"result": "refused", "reason": …}`` for a ticket that cannot be checked in:
  ``malformed``, ``unsupported_version``, ``unknown_key``, ``invalid_signature``, ``other_event``,
  ``revoked``, ``not_found``, ``cancelled``, ``not_approved``, ``wrong_session``.
* ``400`` ``invalid_request`` (no JSON, no ``payload`` / ``scan_id``) or ``invalid_list``;
  ``409`` ``scan_id_conflict`` (that scan id was used for another event).

Manual check-in (the scanner page's search by name): ``{"ticket": CODE, "manual": true, "scan_id"}``
instead of ``payload`` — the ticket code is judged like a scanned payload but without a signature
(the staff member vouches for the person), answered the same way, and the scan row's payload reads
``manual:CODE``. The offline sync accepts such items too.

Resending a ``scan_id`` returns the stored answer with the same status and ``"replayed": true``.
No rate limit applies to this blueprint (it is exempt): scanners are fast, each request needs a
256-bit token, and check-ins are idempotent.
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request
from sqlalchemy import select

from eventhub.api import bp
from eventhub.api.auth import error, token_required
from eventhub.checkin import services as checkin
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.core.validators import mask_mobile
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.plans.calls import CallError
from eventhub.registration import tickets
from eventhub.registration.models import Registration, RegistrationStatus, Ticket

TICKET_REASONS = frozenset(
    {
        "malformed",
        "unsupported_version",
        "unknown_key",
        "invalid_signature",
        "other_event",
        "revoked",
        checkin.NOT_FOUND,
        checkin.CANCELLED,
        checkin.NOT_APPROVED,
        checkin.WRONG_SESSION,
    }
)
MAX_SYNC_BATCH = 500
REVOCATION_PAGE = 1000


def iso(value: Any) -> str | None:
    """ISO 8601 in Beijing time, to the millisecond (``2027-03-31T09:02:11.250+08:00``)."""
    return to_shanghai(value).isoformat(timespec="milliseconds") if value is not None else None


def _scanner_access(event_id: int) -> tuple[Event | None, Any, Any]:
    """(event, error response, the user's staff assignment as read by the check — passed on to
    ``checkin_ticket`` so a scan reads it once): 404 unknown event, 403 not staff of it."""
    event = db.session.get(Event, event_id)
    if event is None:
        return None, error(404, "event_not_found"), None
    allowed, assignment = checkin.scan_access(g.api_user, event)
    if not allowed:
        return None, error(403, "not_staff"), None
    return event, None, assignment


def _event_for_scanner(event_id: int) -> tuple[Event | None, Any]:
    """The event, or the error response: 404 unknown event, 403 not staff of it."""
    event, refusal, _assignment = _scanner_access(event_id)
    return event, refusal


def result_body(result: checkin.CheckinResult) -> tuple[dict[str, Any], int]:
    """The JSON answer and status of one scan."""
    body: dict[str, Any] = {"scan_id": result.scan_id, "ticket": result.ticket_code, "list_id": result.list_id}
    if result.replayed:
        body["replayed"] = True
    if result.conflict is not None:
        body["conflict"] = _conflict_body(result.conflict)
    if result.result in (checkin.OK, checkin.SUPERSEDED):
        # superseded: this scan checked the ticket in, then an earlier offline scan took the check-in over
        body.update(result="ok", name=result.name, organisation=result.organisation, checked_in_at=iso(result.checked_in_at))
        if result.result == checkin.SUPERSEDED:
            body["superseded"] = True
        return body, 201
    if result.result == checkin.ALREADY:
        body.update(
            result="already",
            name=result.name,
            organisation=result.organisation,
            first={"at": iso(result.first_at), "gate": result.first_gate, "staff": result.first_staff},
        )
        return body, 200
    if result.result == "scan_id_conflict":
        body.update(result="error", reason="scan_id_conflict")
        return body, 409
    body.update(result="refused", reason=result.result)
    if result.name is not None:  # a known ticket refused (cancelled, not approved, wrong session): staff may tell the person why
        body.update(name=result.name, organisation=result.organisation)
    return body, 422


def _conflict_body(conflict: dict[str, Any]) -> dict[str, Any]:
    out = dict(conflict)
    replaced = conflict.get("replaced")
    if replaced:
        out["replaced"] = {"scan_id": replaced["scan_id"], "at": iso(replaced["at"]), "gate": replaced["gate"], "staff_id": replaced["staff_id"]}
    return out


def _list_from(data: dict[str, Any], event: Event) -> tuple[Any, Any]:
    list_id = data.get("list_id")
    if list_id in (None, ""):
        return None, None
    try:
        found = checkin.list_of_event(event, int(list_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        return None, error(400, "invalid_list")
    return found, None


@bp.route("/events/<int:event_id>/checkins", methods=["POST"])
@token_required
def checkin_create(event_id: int) -> Any:
    """Check one scanned ticket in (body: ``payload``, ``scan_id``, optional ``list_id``, ``gate``;
    or ``ticket`` + ``"manual": true`` instead of ``payload`` for a manual check-in by ticket code)."""
    event, refusal, assignment = _scanner_access(event_id)
    if refusal is not None:
        return refusal
    data = request.get_json(silent=True)
    manual = isinstance(data, dict) and data.get("manual") is True
    text_field = "ticket" if manual else "payload"
    if not isinstance(data, dict) or not isinstance(data.get(text_field), str) or not isinstance(data.get("scan_id"), str) or not data["scan_id"].strip():
        return error(400, "invalid_request", f"JSON body with {text_field} and scan_id expected")
    chosen, refusal = _list_from(data, event)
    if refusal is not None:
        return refusal
    try:
        result = checkin.checkin_ticket(
            event,
            data[text_field],
            staff=g.api_user,
            scan_id=data["scan_id"],
            list=chosen,
            gate=str(data.get("gate") or ""),
            manual=manual,
            assignment=assignment,
        )
    except CallError as exc:
        db.session.rollback()
        return error(400, "invalid_request", str(exc))
    db.session.commit()
    body, status = result_body(result)
    return jsonify(body), status


@bp.route("/events/<int:event_id>/checkins/sync", methods=["POST"])
@token_required
def checkin_sync(event_id: int) -> Any:
    """Merge scans recorded offline: ``{"scans": [{scan_id, payload, scanned_at, gate?}], "list_id"?}``
    (a manual check-in recorded offline: ``{scan_id, ticket, manual: true, scanned_at, gate?}``).

    Answers 200 with one result per scan (each shaped and coded as for a live scan, in
    ``status``) and the conflicts (double scans of one ticket; the earliest scan wins).
    """
    event, refusal = _event_for_scanner(event_id)
    if refusal is not None:
        return refusal
    data = request.get_json(silent=True)
    scans = data.get("scans") if isinstance(data, dict) else None
    if not isinstance(scans, list) or not all(isinstance(item, dict) for item in scans):
        return error(400, "invalid_request", "JSON body with a list of scans expected")
    if len(scans) > MAX_SYNC_BATCH:
        return error(400, "batch_too_large", f"at most {MAX_SYNC_BATCH} scans per request", max=MAX_SYNC_BATCH)
    chosen, refusal = _list_from(data, event)
    if refusal is not None:
        return refusal
    try:
        outcome = checkin.sync_offline(event, scans, g.api_user, list=chosen)
    except CallError as exc:
        db.session.rollback()
        return error(400, "invalid_request", str(exc))
    results = []
    for result in outcome.results:
        body, status = result_body(result)
        results.append({**body, "status": status})
    return jsonify(results=results, conflicts=[_conflict_body(c) for c in outcome.conflicts], synced_at=iso(utcnow()))


@bp.route("/events/<int:event_id>/keys")
@token_required
def event_keys(event_id: int) -> Any:
    """The event's signing keys: trusted ones with their public key, revoked ones by kid only."""
    event, refusal = _event_for_scanner(event_id)
    if refusal is not None:
        return refusal
    return jsonify(event_id=event.id, format="EH1", keys=tickets.public_key_set(event))


@bp.route("/events/<int:event_id>/revocations")
@token_required
def revocations(event_id: int) -> Any:
    """Revoked ticket codes after the cursor ``since`` (default 0), oldest first, and the next cursor."""
    event, refusal = _event_for_scanner(event_id)
    if refusal is not None:
        return refusal
    since = request.args.get("since", "0").strip() or "0"
    if not since.isdigit():
        return error(400, "invalid_cursor")
    rows, cursor = tickets.revocations_since(event, int(since), limit=REVOCATION_PAGE)
    return jsonify(
        event_id=event.id,
        revocations=[{"id": row.id, "ticket": row.ticket_code, "reason": row.reason, "revoked_at": iso(row.revoked_at)} for row in rows],
        cursor=cursor,
        more=len(rows) == REVOCATION_PAGE,
    )


@bp.route("/events/<int:event_id>/roster")
@token_required
def roster(event_id: int) -> Any:
    """What an offline scanner may show: valid ticket code → name, organisation, masked mobile, sessions.

    Only confirmed registrations with an unrevoked ticket; the mobile is masked (138****5678)
    and no e-mail is sent, so a lost phone leaks as little as possible. Also the event's lists.
    """
    event, refusal = _event_for_scanner(event_id)
    if refusal is not None:
        return refusal
    rows = db.session.execute(
        select(Ticket.code, Registration.name, Registration.organisation, Registration.org_type, Registration.mobile, Registration.session_ids)
        .join(Registration, Registration.id == Ticket.registration_id)
        .where(Ticket.event_id == event.id, Ticket.revoked_at.is_(None), Registration.status == RegistrationStatus.CONFIRMED.value)
        .order_by(Ticket.id)
    ).all()
    return jsonify(
        event_id=event.id,
        generated_at=iso(utcnow()),
        lists=[{"id": row.id, "name": row.name, "session_id": row.session_id} for row in checkin.event_lists(event)],
        tickets=[
            {
                "ticket": code,
                "name": name,
                "organisation": organisation,
                "org_type": org_type,
                "mobile": mask_mobile(mobile),
                "sessions": list(session_ids or []),
            }
            for code, name, organisation, org_type, mobile, session_ids in rows
        ],
    )
