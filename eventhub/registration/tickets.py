"""Signed tickets (电子票): event keys, QR payloads, offline-verifiable signatures, revocations.

Why signatures: the door must work when the venue's network does not. A scanner that holds the
event's public keys (and, when it last had a connection, the revocation list) can decide alone
whether a QR code is one of ours; the private key never leaves the server.

Payload format, version 1 (exact; the offline scanner's JavaScript re-implements it)::

    EH1.<KID>.<EVENT>.<CODE>.<SIG>

    EH1    magic "EH" + format version "1"
    KID    key id, 4 characters of the RFC 4648 base32 alphabet (A–Z, 2–7), unique per event
    EVENT  the event id in decimal, no leading zeros
    CODE   the ticket code (``Ticket.code``), 10 base32 characters (50 random bits)
    SIG    the Ed25519 signature (64 bytes) in RFC 4648 base32, upper case, no padding: 103 characters
           whose 3 unused trailing bits are zero (only the canonical encoding is accepted)

    SIG signs the ASCII bytes of everything before the last "." (``EH1.<KID>.<EVENT>.<CODE>``).

Example: ``EH1.Q7KD.12.M3ZC4XTPAB.<103 characters>`` — 126 characters for a two-digit event id. Every character is
in the QR alphanumeric set (0–9 A–Z space $ % * + - . / :), so the QR is built in alphanumeric mode
(5.5 bits a character instead of 8): version 6 at error correction M (41×41 modules).
A scanner strips surrounding white space and upper-cases the text before checking (hand-held
scanners that type like a keyboard may append Enter or run with Caps Lock on); the signature still
covers the canonical upper-case text, so this admits no second payload for a ticket.

Verification order (:func:`verify_payload`), each failure with its machine-readable reason:
``malformed`` (not this shape), ``unsupported_version`` (``EH`` + another version number),
``other_event`` (checked before the key: a scanner only holds its own event's keys, so a ticket
of another event would otherwise read as an unknown key), ``unknown_key``, ``invalid_signature``,
``revoked`` (only after the signature, so a forgery never reads as "revoked").

Keys: each event has one *active* key that signs new tickets; :func:`rotate_key` retires it
(a retired key signs nothing new, its tickets stay valid); :func:`revoke_key` (the organiser's
decision, e.g. after a leak) invalidates every ticket it signed, puts them on the revocation
list and re-issues the tickets of registrations still confirmed (new code, active key, mailed). Ed25519 signatures are deterministic, so :func:`ticket_payload` gives the same text every
time and nothing but the ticket code and key id needs storing.

The caller commits; key changes leave an audit row in the same transaction.
"""

from __future__ import annotations

import base64
import functools
import io
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import qrcode
import qrcode.image.svg
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_request_context
from flask_babel import gettext
from qrcode.util import MODE_ALPHA_NUM, QRData
from sqlalchemy import select, text

from eventhub.core import audit
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import EventKey, Registration, RegistrationStatus, Ticket, TicketRevocation

FORMAT_VERSION = "1"
MAGIC = "EH"
B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
KID_LENGTH = 4  # 20 bits: plenty for the few keys of one event, and short in every QR
CODE_LENGTH = 10  # 50 random bits: guessing a code is useless without a signature, collisions are negligible
SIGNATURE_CHARS = 103  # ceil(64 * 8 / 5)
FERNET_INFO = b"eventhub/event-keys/fernet/v1"  # HKDF label: this derived key encrypts event private keys only

_PAYLOAD_V1 = re.compile(r"EH1\.(?P<kid>[A-Z2-7]{4,8})\.(?P<event>[1-9][0-9]{0,17})\.(?P<code>[A-Z2-7]{8,16})\.(?P<sig>[A-Z2-7]{" + str(SIGNATURE_CHARS) + "})")
_VERSION = re.compile(r"EH(?P<version>[0-9]{1,3})\.")

# PostgreSQL advisory-lock namespaces (first int4 of pg_advisory_xact_lock(int4, int4)).
_LOCK_KEYS = 0x45480001  # creating / rotating an event's keys
_LOCK_REVOCATIONS = 0x45480002  # appending to an event's revocation list


class KeyStatus(StrEnum):
    ACTIVE = "active"  # signs new tickets
    RETIRED = "retired"  # signs nothing new; its tickets stay valid
    REVOKED = "revoked"  # its tickets are invalid


class Reason(StrEnum):
    """Why a payload was refused (machine-readable, shared by the API and the offline scanner)."""

    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KEY = "unknown_key"
    INVALID_SIGNATURE = "invalid_signature"
    OTHER_EVENT = "other_event"
    REVOKED = "revoked"


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, service tests) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


class TicketError(ValueError):
    """A ticket rule was broken (Chinese message)."""


@dataclass(frozen=True)
class Verification:
    """The result of checking one scanned text: ``ok`` with the ticket code and key id, or a ``reason``."""

    ok: bool
    reason: str | None = None
    kid: str | None = None
    event_id: int | None = None
    ticket_code: str | None = None


# ---- encoding helpers ------------------------------------------------------------------------


def b32encode(data: bytes) -> str:
    """RFC 4648 base32, upper case, without "=" padding (padding is not QR-alphanumeric-cheap)."""
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32decode(value: str) -> bytes:
    """Inverse of :func:`b32encode`; refuses non-canonical text (non-zero unused bits), so one
    signature has exactly one spelling and a flipped last character cannot still verify."""
    data = base64.b32decode(value + "=" * (-len(value) % 8))
    if b32encode(data) != value:
        raise ValueError("non-canonical base32")
    return data


def _random_b32(length: int) -> str:
    return "".join(secrets.choice(B32_ALPHABET) for _ in range(length))


def _lock(namespace: int, event_id: int) -> None:
    """Serialise writers of one event's keys or revocation list before re-reading them.

    PostgreSQL: a transaction-scoped advisory lock; it touches no row, so it cannot deadlock with
    the registration's own row locks (quotas, registrations). SQLite has a single writer, but the
    pysqlite driver begins a *deferred* transaction only at the first write, so two transactions
    could both read "no key yet" and both create one: when no transaction is open yet, start it
    with ``BEGIN IMMEDIATE`` (the write lock, waiting on the busy timeout) so the re-read is the
    truth. A transaction that already wrote holds that lock (the registration services open theirs
    with ``BEGIN IMMEDIATE`` too).
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": namespace, "id": event_id})
    elif connection.dialect.name == "sqlite":
        dbapi = connection.connection.driver_connection
        if dbapi is not None and not dbapi.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


# ---- private key encryption ------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _fernet_for(secret: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=FERNET_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def fernet(secret_key: str | bytes | None = None) -> Fernet:
    """The Fernet cipher for private keys, derived from the app's ``SECRET_KEY`` (HKDF-SHA256).

    A database dump alone therefore cannot sign tickets; changing ``SECRET_KEY`` makes stored
    private keys unreadable (rotate every event's key afterwards: old tickets stay valid, since
    verifying needs only the public half).
    """
    secret = current_app.config["SECRET_KEY"] if secret_key is None else secret_key
    return _fernet_for(secret.encode("utf-8") if isinstance(secret, str) else bytes(secret))


def _private_key(key: EventKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(fernet().decrypt(bytes(key.private_key)))


# ---- keys ------------------------------------------------------------------------------------


def _keys(event: Event) -> list[EventKey]:
    return list(db.session.scalars(select(EventKey).where(EventKey.event_id == event.id).order_by(EventKey.id)))


def _new_key(event: Event) -> EventKey:
    taken = {key.kid for key in _keys(event)}
    kid = _random_b32(KID_LENGTH)
    while kid in taken:
        kid = _random_b32(KID_LENGTH)
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = EventKey(
        event_id=event.id, kid=kid, public_key=raw_public, private_key=fernet().encrypt(raw_private), status=KeyStatus.ACTIVE.value, created_at=utcnow()
    )
    db.session.add(key)
    db.session.flush()
    return key


def _find_active(event: Event) -> EventKey | None:
    # Oldest first: should two keys ever be active (a race on SQLite), every caller picks the
    # same one, and both stay trusted, so no ticket is harmed.
    return db.session.scalar(select(EventKey).where(EventKey.event_id == event.id, EventKey.status == KeyStatus.ACTIVE.value).order_by(EventKey.id).limit(1))


def active_key(event: Event) -> EventKey:
    """The key that signs the event's new tickets, created on first use (audited as a system action)."""
    key = _find_active(event)
    if key is not None:
        return key
    _lock(_LOCK_KEYS, event.id)
    key = _find_active(event)  # another transaction may have created it while we waited
    if key is None:
        key = _new_key(event)
        audit.record("event_key.create", key, after={"event_id": event.id, "kid": key.kid, "status": key.status})
    return key


def rotate_key(event: Event, actor: Any) -> EventKey:
    """Retire the active key and create a new one; tickets already issued stay valid."""
    _lock(_LOCK_KEYS, event.id)
    now = utcnow()
    for key in _keys(event):
        if key.status == KeyStatus.ACTIVE.value:
            key.status, key.retired_at = KeyStatus.RETIRED.value, now
            audit.record("event_key.retire", key, before={"status": KeyStatus.ACTIVE.value}, after={"status": key.status, "kid": key.kid}, actor=actor)
    new = _new_key(event)
    audit.record("event_key.rotate", new, after={"event_id": event.id, "kid": new.kid, "status": new.status}, actor=actor)
    return new


def revoke_key(key: EventKey, actor: Any) -> list[Ticket]:
    """Revoke a key (the organiser's decision, e.g. after a leak) and re-issue what it signed.

    Every ticket it signed becomes invalid and gets a ``key_revoked`` row on the revocation list,
    so scanners that still hold the key learn it too. Then each ticket of a registration that is
    still confirmed is re-issued at once (:func:`reissue_after_revoke`): a fresh code under the
    active key — created now if the revoked key was the active one — and a keyed mail to the
    holder with the new QR attached. One call does the whole job; the caller commits (the
    revocation, the new tickets and the mails land together or not at all).

    Returns the tickets revoked now (those re-issued already carry their new code). Idempotent:
    a key already revoked returns ``[]``.
    """
    if key.status == KeyStatus.REVOKED.value:
        return []
    before = key.status
    key.status, key.revoked_at = KeyStatus.REVOKED.value, utcnow()
    tickets = list(
        db.session.scalars(select(Ticket).where(Ticket.event_id == key.event_id, Ticket.kid == key.kid, Ticket.revoked_at.is_(None)).order_by(Ticket.id))
    )
    for ticket in tickets:
        revoke_ticket(ticket, "key_revoked")
    reissued = reissue_after_revoke(tickets)
    audit.record(
        "event_key.revoke",
        key,
        before={"status": before},
        after={"status": key.status, "kid": key.kid, "tickets_revoked": len(tickets), "tickets_reissued": len(reissued)},
        actor=actor,
    )
    return tickets


def reissue_after_revoke(tickets: list[Ticket]) -> list[Ticket]:
    """Give each still-confirmed holder of these revoked tickets a new ticket and mail it (caller commits).

    The mail key carries the new code (``registration:<id>:ticket:<code>``), so a retried call
    never mails twice and a second re-issue (another key revoked later) mails again.
    """
    from eventhub.registration.services import mail_new_ticket

    reissued: list[Ticket] = []
    for ticket in tickets:
        registration = ticket.registration
        if registration is None or registration.status != RegistrationStatus.CONFIRMED.value or ticket.revoked_at is None:
            continue
        new = issue_ticket(registration)
        mail_new_ticket(registration)
        reissued.append(new)
    return reissued


def public_keys(event: Event) -> dict[str, bytes]:
    """The keys a scanner may trust: ``{kid: raw 32-byte Ed25519 public key}``, active and retired."""
    trusted = (KeyStatus.ACTIVE.value, KeyStatus.RETIRED.value)
    return {key.kid: bytes(key.public_key) for key in _keys(event) if key.status in trusted}


def public_key_set(event: Event) -> list[dict[str, Any]]:
    """The event's keys for scanners, JSON-friendly.

    Trusted keys (active, retired) carry the raw public key in standard base64 and in base32;
    revoked keys are listed by kid and status only — no key material — so a scanner that cached
    one drops it, and a naive client that trusts every listed key cannot trust a revoked one.
    """
    out: list[dict[str, Any]] = []
    for key in _keys(event):
        entry: dict[str, Any] = {
            "kid": key.kid,
            "alg": "Ed25519",
            "status": key.status,
            "created_at": key.created_at.isoformat() if key.created_at else None,
        }
        if key.status == KeyStatus.REVOKED.value:
            entry["revoked_at"] = key.revoked_at.isoformat() if key.revoked_at else None
        else:
            raw = bytes(key.public_key)
            entry["public_key"] = base64.b64encode(raw).decode("ascii")
            entry["public_key_b32"] = b32encode(raw)
        out.append(entry)
    return out


# ---- tickets ---------------------------------------------------------------------------------


def _new_code() -> str:
    code = _random_b32(CODE_LENGTH)
    while db.session.scalar(select(Ticket.id).where(Ticket.code == code)) is not None:
        code = _random_b32(CODE_LENGTH)
    return code


@dataclass(frozen=True)
class PreparedTicket:
    """A ticket code signed and drawn *before* the registration's write transaction (:func:`prepare_ticket`).

    Drawing the QR PNG for the confirmation mail costs 12–17 ms of CPU (qrcode tries all 8 mask
    patterns in pure Python). Inside the registration's transaction that time holds the SQLite
    write lock (``BEGIN IMMEDIATE``) or, on PostgreSQL, the event quota's row lock, so every
    registration waited for it. Prepared beforehand, :func:`issue_ticket` takes the code when the
    key that signed it is still the active one and the code is still free, and the mail uses the
    PNG as is; otherwise both are made inside, as before. The PNG is the very same image either
    way (Ed25519 signatures are deterministic, the QR a pure function of the payload).
    """

    event_id: int
    kid: str
    code: str
    payload: str
    png: bytes


def prepare_ticket(event: Event) -> PreparedTicket | None:
    """Sign and draw a ticket for a registration about to be confirmed; reads only (None before the event has a key)."""
    key = _find_active(event)
    if key is None:
        return None
    code = _random_b32(CODE_LENGTH)
    message = signed_message(key.kid, event.id, code)
    payload = f"{message}.{b32encode(_private_key(key).sign(message.encode('ascii')))}"
    return PreparedTicket(event_id=event.id, kid=key.kid, code=code, payload=payload, png=qr_png(payload))


def prepared_png(ticket: Ticket, prepared: PreparedTicket | None) -> bytes | None:
    """The prepared PNG when it is this ticket's (same event, code and key), else None."""
    if prepared is None or (ticket.event_id, ticket.code, ticket.kid) != (prepared.event_id, prepared.code, prepared.kid):
        return None
    return prepared.png


def issue_ticket(registration: Registration, prepared: PreparedTicket | None = None) -> Ticket:
    """The ticket of a confirmed registration (one per registration), signed by the active key.

    Idempotent: a registration that already holds a valid ticket gets it back. One whose ticket
    was revoked (cancelled and confirmed again, or its key revoked) gets a fresh code under the
    active key on the same row: the old code stays on the revocation list, so a copy of the old
    QR keeps failing. The caller serialises confirmations of one registration (the unique
    ``registration_id`` refuses a second row anyway).

    ``prepared`` (:func:`prepare_ticket`): its code is used when it was signed by the active key
    and no ticket holds it yet (checked here, inside the transaction, as for a new code).
    """
    if registration.status != RegistrationStatus.CONFIRMED.value:
        raise TicketError(_("只有已确认的报名才能获得电子票。"))
    ticket = registration.ticket
    if ticket is not None and ticket.revoked_at is None:
        return ticket
    key = active_key(registration.event)
    code = None
    if prepared is not None and prepared.event_id == registration.event_id and prepared.kid == key.kid:
        taken = db.session.scalar(select(Ticket.id).where(Ticket.code == prepared.code))
        code = prepared.code if taken is None else None
    code, now = code or _new_code(), utcnow()
    if ticket is None:
        ticket = Ticket(registration_id=registration.id, event_id=registration.event_id, code=code, kid=key.kid, issued_at=now)
        db.session.add(ticket)
        registration.ticket = ticket
    else:
        ticket.code, ticket.kid, ticket.issued_at, ticket.revoked_at = code, key.kid, now, None
    db.session.flush()
    return ticket


def signed_message(kid: str, event_id: int, code: str) -> str:
    """The text the signature covers: everything before the signature, without the last dot."""
    return f"{MAGIC}{FORMAT_VERSION}.{kid}.{event_id}.{code}"


def ticket_payload(ticket: Ticket) -> str:
    """The QR text of a ticket, signed with the key that issued it (deterministic: same text every time)."""
    key = db.session.scalar(select(EventKey).where(EventKey.event_id == ticket.event_id, EventKey.kid == ticket.kid))
    if key is None or key.status == KeyStatus.REVOKED.value:
        raise TicketError(_("该电子票的签名密钥已作废，请重新出票。"))
    message = signed_message(ticket.kid, ticket.event_id, ticket.code)
    signature = _private_key(key).sign(message.encode("ascii"))
    return f"{message}.{b32encode(signature)}"


def revoke_ticket(ticket: Ticket, reason: str) -> TicketRevocation | None:
    """Invalidate a ticket and append it to the event's revocation list; idempotent.

    ``reason`` is machine-readable: ``cancelled``, ``declined`` or ``key_revoked``. Returns the new
    list row, or ``None`` when the ticket was already revoked (nothing is appended twice).
    Appends are serialised per event so list ids grow in commit order: a scanner that saw id N
    can never later miss a row below N (see :func:`revocations_since`).
    """
    if not reason or len(reason) > 20:
        raise ValueError("revocation reason must be 1–20 characters")
    if ticket.revoked_at is not None:
        return None
    _lock(_LOCK_REVOCATIONS, ticket.event_id)
    now = utcnow()
    ticket.revoked_at = now
    row = TicketRevocation(event_id=ticket.event_id, ticket_code=ticket.code, reason=reason, revoked_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def revocations_since(event: Event, cursor: int | None, limit: int = 1000) -> tuple[list[TicketRevocation], int]:
    """Revocation rows of the event newer than ``cursor`` (oldest first, at most ``limit``) and the
    cursor to send next time (the last row's id, or the given cursor when nothing is new)."""
    cursor = max(int(cursor or 0), 0)
    rows = list(
        db.session.scalars(
            select(TicketRevocation).where(TicketRevocation.event_id == event.id, TicketRevocation.id > cursor).order_by(TicketRevocation.id).limit(limit)
        )
    )
    return rows, (rows[-1].id if rows else cursor)


# ---- verification ----------------------------------------------------------------------------


def verify_payload(payload: str, event_id: int, public_keys: dict[str, bytes], revoked_codes: set[str] | frozenset[str] = frozenset()) -> Verification:
    """Check a scanned text against an event's trusted public keys — no database, no app.

    This is exactly what an offline scanner does (the scanner page re-implements it in
    JavaScript); the server uses it too (:func:`verify_ticket`), so both give the same reasons.
    """
    if not isinstance(payload, str):
        return Verification(False, Reason.MALFORMED.value)
    scanned = payload.strip().upper()
    match = _PAYLOAD_V1.fullmatch(scanned)
    if match is None:
        version = _VERSION.match(scanned)
        if version is not None and version["version"] != FORMAT_VERSION:
            return Verification(False, Reason.UNSUPPORTED_VERSION.value)
        return Verification(False, Reason.MALFORMED.value)
    kid, code, scanned_event = match["kid"], match["code"], int(match["event"])
    seen = {"kid": kid, "event_id": scanned_event, "ticket_code": code}
    try:
        signature = b32decode(match["sig"])
    except ValueError:
        return Verification(False, Reason.MALFORMED.value, **seen)
    if scanned_event != event_id:
        return Verification(False, Reason.OTHER_EVENT.value, **seen)
    raw_key = public_keys.get(kid)
    if raw_key is None:
        return Verification(False, Reason.UNKNOWN_KEY.value, **seen)
    try:
        Ed25519PublicKey.from_public_bytes(bytes(raw_key)).verify(signature, signed_message(kid, scanned_event, code).encode("ascii"))
    except InvalidSignature:
        return Verification(False, Reason.INVALID_SIGNATURE.value, **seen)
    except ValueError:  # unusable key bytes: treat as a key we do not know
        return Verification(False, Reason.UNKNOWN_KEY.value, **seen)
    if code in revoked_codes:
        return Verification(False, Reason.REVOKED.value, **seen)
    return Verification(True, None, **seen)


def verify_ticket(event: Event, payload: str) -> tuple[Verification, Ticket | None]:
    """The server's check: the signature against the event's trusted keys, then the ticket row.

    Differences from an offline scanner, both towards the truth the server knows: a ticket
    signed by a *revoked* key reads ``revoked`` (not ``unknown_key``), and so does a validly
    signed code whose ticket was revoked or re-issued under a new code. Returns the ticket when
    the payload is valid.
    """
    result = verify_payload(payload, event.id, public_keys(event))
    if result.reason == Reason.UNKNOWN_KEY.value:
        revoked = db.session.scalar(
            select(EventKey.id).where(EventKey.event_id == event.id, EventKey.kid == result.kid, EventKey.status == KeyStatus.REVOKED.value)
        )
        if revoked is not None:
            return Verification(False, Reason.REVOKED.value, result.kid, result.event_id, result.ticket_code), None
    if not result.ok:
        return result, None
    ticket = db.session.scalar(select(Ticket).where(Ticket.event_id == event.id, Ticket.code == result.ticket_code))
    if ticket is None or ticket.revoked_at is not None:
        return Verification(False, Reason.REVOKED.value, result.kid, result.event_id, result.ticket_code), ticket
    return result, ticket


# ---- QR images -------------------------------------------------------------------------------


def qr_code(payload: str, **options: Any) -> qrcode.QRCode:
    """A QR code of the payload in alphanumeric mode at error correction M, smallest version that fits.

    The mode is forced (``QRData(mode=MODE_ALPHA_NUM)``) rather than guessed, so a payload that
    is not alphanumeric raises instead of silently doubling the QR in byte mode.
    """
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, **options)
    qr.add_data(QRData(payload.encode("ascii"), mode=MODE_ALPHA_NUM))
    qr.make(fit=True)
    return qr


def qr_png(payload: str, box_size: int = 8) -> bytes:
    """The QR as PNG (8 px a module by default: about 390 px for version 6 with the quiet zone)."""
    image = qr_code(payload, box_size=box_size, border=4).make_image()
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_svg(payload: str) -> bytes:
    """The QR as one SVG path (scales to any print size, e.g. the A6 ticket)."""
    image = qr_code(payload, border=4, image_factory=qrcode.image.svg.SvgPathImage).make_image()
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
