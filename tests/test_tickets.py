"""Signed tickets on real databases: keys, payloads, a real QR decoder, every refusal reason,
revocation list with cursors, key rotation and revocation, private keys encrypted with the app secret."""

from __future__ import annotations

import base64
import io
import itertools
import secrets
from datetime import date

import pytest
import zxingcpp
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from PIL import Image
from qrcode.util import MODE_ALPHA_NUM
from sqlalchemy import select

from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.registration import tickets as tk
from eventhub.registration.models import EventKey, Registration, RegistrationStatus, Ticket, TicketRevocation
from tests.factories import make_scheduled_event, make_user

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_seq = itertools.count(1)


def make_registration(event, status: RegistrationStatus = RegistrationStatus.CONFIRMED) -> Registration:  # noqa: ANN001
    """A registration row made directly (the registration services are not needed here)."""
    n = next(_seq)
    registration = Registration(
        event_id=event.id,
        name=f"参会人{n}",
        organisation=f"测试单位{n}",
        org_type="sme",
        mobile=f"1380000{n:04d}",
        email=f"guest{n}@example.com",
        status=status.value,
        token_hash=secrets.token_hex(32),
    )
    db.session.add(registration)
    db.session.flush()
    return registration


@pytest.fixture
def ctx(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        event = make_scheduled_event(date(2027, 3, 31))
        other = make_scheduled_event(date(2027, 4, 15))
        db.session.commit()
        yield {"event": event, "other": other, "organiser": organiser}


def _decode_png(png: bytes) -> zxingcpp.Barcode:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0]


def _flip(payload: str, index: int) -> str:
    """The payload with one base32 character replaced by another base32 character."""
    old = payload[index]
    new = "A" if old != "A" else "B"
    return payload[:index] + new + payload[index + 1 :]


# ---- the payload and the QR -------------------------------------------------------------------


def test_png_decodes_to_the_exact_payload_which_verifies(ctx):
    event = ctx["event"]
    ticket = tk.issue_ticket(make_registration(event))
    db.session.commit()
    payload = tk.ticket_payload(ticket)

    assert set(payload) <= QR_ALPHANUMERIC
    magic, kid, event_id, code, signature = payload.split(".")
    assert (magic, kid, event_id, code) == ("EH1", ticket.kid, str(event.id), ticket.code)
    assert len(kid) == tk.KID_LENGTH and len(code) == tk.CODE_LENGTH and len(signature) == 103
    assert tk.ticket_payload(ticket) == payload  # deterministic signature: same QR every time

    barcode = _decode_png(tk.qr_png(payload))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == payload
    assert barcode.ec_level == "M"
    assert int(barcode.extra["Version"]) <= 6
    result = tk.verify_payload(barcode.text, event.id, tk.public_keys(event))
    assert result == tk.Verification(True, None, kid=ticket.kid, event_id=event.id, ticket_code=ticket.code)

    qr = tk.qr_code(payload)
    assert [segment.mode for segment in qr.data_list] == [MODE_ALPHA_NUM]
    assert qr.version <= 6


def test_svg_is_a_qr_of_the_payload(ctx):
    event = ctx["event"]
    ticket = tk.issue_ticket(make_registration(event))
    payload = tk.ticket_payload(ticket)
    svg = tk.qr_svg(payload)
    assert svg.startswith(b"<?xml") and b"<svg" in svg and b"<path" in svg
    side = 4 * tk.qr_code(payload).version + 17 + 2 * 4  # the same matrix as the PNG, quiet zone included
    assert f'viewBox="0 0 {side} {side}"'.encode() in svg


def test_qr_refuses_text_that_is_not_alphanumeric():
    with pytest.raises(ValueError):
        tk.qr_code("eh1.lower-case")


def test_scanner_noise_is_tolerated(ctx):
    """A keyboard-wedge scanner appends Enter, or types with Caps Lock on: the ticket still verifies."""
    event = ctx["event"]
    payload = tk.ticket_payload(tk.issue_ticket(make_registration(event)))
    keys = tk.public_keys(event)
    assert tk.verify_payload(payload + "\r\n", event.id, keys).ok
    assert tk.verify_payload(payload.lower(), event.id, keys).ok


# ---- every refusal with its own reason ------------------------------------------------------------


def test_flipped_characters_are_refused(ctx):
    event = ctx["event"]
    ticket = tk.issue_ticket(make_registration(event))
    payload = tk.ticket_payload(ticket)
    keys = tk.public_keys(event)
    code_start = payload.index(ticket.code)
    signature_start = payload.rindex(".") + 1

    for index in (code_start, code_start + 9, signature_start, signature_start + 50):
        result = tk.verify_payload(_flip(payload, index), event.id, keys)
        assert (result.ok, result.reason) == (False, "invalid_signature"), index
    # the last signature character carries 3 unused bits: only its canonical spelling is accepted
    last = payload[-1]
    sibling = tk.B32_ALPHABET[tk.B32_ALPHABET.index(last) ^ 1]
    assert tk.verify_payload(payload[:-1] + sibling, event.id, keys).reason in ("malformed", "invalid_signature")
    # a character outside the base32 alphabet breaks decoding
    assert tk.verify_payload(payload[:-5] + "1" + payload[-4:], event.id, keys).reason == "malformed"
    # a flipped kid names a key the event does not have
    kid_start = payload.index(".") + 1
    assert tk.verify_payload(_flip(payload, kid_start), event.id, keys).reason == "unknown_key"


def test_ticket_of_another_event(ctx):
    event, other = ctx["event"], ctx["other"]
    foreign = tk.ticket_payload(tk.issue_ticket(make_registration(other)))
    result = tk.verify_payload(foreign, event.id, tk.public_keys(event))
    assert (result.ok, result.reason, result.event_id) == (False, "other_event", other.id)
    # even with the other event's keys at hand, a ticket is only good at its own event
    assert tk.verify_payload(foreign, event.id, {**tk.public_keys(event), **tk.public_keys(other)}).reason == "other_event"
    assert tk.verify_payload(foreign, other.id, tk.public_keys(other)).ok
    # changing the event id in the text breaks the signature
    own = tk.ticket_payload(tk.issue_ticket(make_registration(event)))
    forged = own.replace(f".{event.id}.", f".{other.id}.", 1)
    assert tk.verify_payload(forged, other.id, tk.public_keys(event)).reason == "invalid_signature"


def test_unknown_key_garbage_and_versions(ctx):
    event = ctx["event"]
    payload = tk.ticket_payload(tk.issue_ticket(make_registration(event)))
    assert tk.verify_payload(payload, event.id, {}).reason == "unknown_key"
    stranger = tk.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = payload.split(".")[1]
    assert tk.verify_payload(payload, event.id, {kid: stranger}).reason == "invalid_signature"

    for garbage in ("", "   ", "hello world", "https://example.com/t/123", "EH1", "EH1.ABCD.1.ABCDEFGHIJ.XYZ", payload + ".X", payload[:-1], "中文"):
        assert tk.verify_payload(garbage, event.id, tk.public_keys(event)).reason == "malformed", garbage
    assert tk.verify_payload(None, event.id, {}).reason == "malformed"  # type: ignore[arg-type]
    assert tk.verify_payload("EH2" + payload[3:], event.id, tk.public_keys(event)).reason == "unsupported_version"
    assert tk.verify_payload("EH17.ANYTHING", event.id, tk.public_keys(event)).reason == "unsupported_version"


@pytest.mark.parametrize("why", ["cancelled", "declined"])
def test_revoked_ticket(ctx, why):
    event = ctx["event"]
    registration = make_registration(event)
    ticket = tk.issue_ticket(registration)
    db.session.commit()
    payload = tk.ticket_payload(ticket)

    row = tk.revoke_ticket(ticket, why)
    assert tk.revoke_ticket(ticket, why) is None  # idempotent: one list row
    db.session.commit()
    assert ticket.revoked_at is not None
    assert [(r.ticket_code, r.reason) for r in db.session.scalars(select(TicketRevocation))] == [(ticket.code, why)]

    rows, cursor = tk.revocations_since(event, 0)
    assert [r.id for r in rows] == [row.id] and cursor == row.id
    offline = tk.verify_payload(payload, event.id, tk.public_keys(event), {r.ticket_code for r in rows})
    assert (offline.ok, offline.reason) == (False, "revoked")
    server, found = tk.verify_ticket(event, payload)
    assert (server.reason, found.id) == ("revoked", ticket.id)
    # a forgery is never reported as "revoked"
    assert tk.verify_payload(_flip(payload, -10), event.id, tk.public_keys(event), {ticket.code}).reason == "invalid_signature"


# ---- issuing ----------------------------------------------------------------------------------


def test_only_confirmed_registrations_get_one_ticket(ctx):
    event = ctx["event"]
    for status in (RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED, RegistrationStatus.DECLINED, RegistrationStatus.CANCELLED):
        with pytest.raises(tk.TicketError):
            tk.issue_ticket(make_registration(event, status))
    registration = make_registration(event)
    ticket = tk.issue_ticket(registration)
    db.session.commit()
    assert tk.issue_ticket(registration) is ticket
    assert db.session.scalars(select(Ticket)).all() == [ticket]
    assert registration.ticket is ticket and ticket.event_id == event.id
    server, found = tk.verify_ticket(event, tk.ticket_payload(ticket))
    assert server.ok and found is ticket


def test_reissue_after_revocation_gives_a_fresh_code(ctx):
    event = ctx["event"]
    registration = make_registration(event)
    ticket = tk.issue_ticket(registration)
    old_code, old_payload = ticket.code, tk.ticket_payload(ticket)
    tk.revoke_ticket(ticket, "cancelled")
    db.session.commit()

    again = tk.issue_ticket(registration)
    db.session.commit()
    assert again.id == ticket.id and again.code != old_code and again.revoked_at is None
    assert tk.verify_ticket(event, tk.ticket_payload(again))[0].ok
    assert tk.verify_ticket(event, old_payload)[0].reason == "revoked"  # the old QR keeps failing


# ---- keys ------------------------------------------------------------------------------------


def test_active_key_is_created_once_and_audited(ctx):
    event = ctx["event"]
    key = tk.active_key(event)
    assert tk.active_key(event) is key
    db.session.commit()
    assert key.status == "active" and len(key.kid) == tk.KID_LENGTH and set(key.kid) <= set(tk.B32_ALPHABET)
    assert len(key.public_key) == 32
    assert db.session.scalars(select(AuditLog.action).where(AuditLog.action.startswith("event_key."))).all() == ["event_key.create"]
    assert tk.active_key(ctx["other"]).id != key.id


def test_private_key_is_encrypted_with_the_app_secret(ctx, app, make_app):
    event = ctx["event"]
    key = tk.active_key(event)
    db.session.commit()
    stored = db.session.scalar(select(EventKey.private_key).where(EventKey.id == key.id))
    raw = tk.fernet().decrypt(stored)
    assert len(raw) == 32 and raw not in stored and base64.b64encode(raw) not in stored and raw.hex().encode() not in stored
    derived_public = tk.Ed25519PrivateKey.from_private_bytes(raw).public_key()
    assert derived_public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == key.public_key

    with pytest.raises(InvalidToken):
        tk.fernet("another-secret-key-of-another-installation-0123").decrypt(stored)
    other_app = make_app(SECRET_KEY="another-secret-key-of-another-installation-0123")
    with other_app.app_context():
        ticket = tk.issue_ticket(make_registration(db.session.get(type(event), event.id)))
        with pytest.raises(InvalidToken):
            tk.ticket_payload(ticket)  # the other installation cannot sign with this key
        db.session.rollback()


def test_rotation_keeps_old_tickets_and_revoking_the_old_key_invalidates_them(ctx):
    event, organiser = ctx["event"], ctx["organiser"]
    old_ticket = tk.issue_ticket(make_registration(event))
    already_cancelled = tk.issue_ticket(make_registration(event))
    tk.revoke_ticket(already_cancelled, "cancelled")
    db.session.commit()
    old_key = tk.active_key(event)
    old_payload = tk.ticket_payload(old_ticket)
    _, cursor = tk.revocations_since(event, 0)

    new_key = tk.rotate_key(event, organiser)
    db.session.commit()
    assert (old_key.status, new_key.status) == ("retired", "active") and old_key.retired_at is not None
    assert tk.active_key(event).id == new_key.id and new_key.kid != old_key.kid
    assert set(tk.public_keys(event)) == {old_key.kid, new_key.kid}
    # tickets issued under the retired key still verify, and their payload is unchanged
    assert tk.ticket_payload(old_ticket) == old_payload
    assert tk.verify_payload(old_payload, event.id, tk.public_keys(event)).ok
    assert tk.verify_ticket(event, old_payload)[0].ok
    new_ticket = tk.issue_ticket(make_registration(event))
    db.session.commit()
    assert new_ticket.kid == new_key.kid
    new_payload = tk.ticket_payload(new_ticket)
    assert tk.verify_payload(new_payload, event.id, tk.public_keys(event)).kid == new_key.kid
    assert [k["status"] for k in tk.public_key_set(event)] == ["retired", "active"]

    cached_keys = tk.public_keys(event)  # what an offline scanner holds
    old_code = old_ticket.code
    revoked_now = tk.revoke_key(old_key, organiser)
    assert tk.revoke_key(old_key, organiser) == []  # idempotent
    db.session.commit()
    assert [t.id for t in revoked_now] == [old_ticket.id]  # the cancelled ticket is not listed twice
    # the still-confirmed holder got a new ticket at once: new code, active key, mailed with the new QR
    assert old_key.status == "revoked" and old_ticket.revoked_at is None
    assert old_ticket.code != old_code and old_ticket.kid == new_key.kid
    reissue_mail = db.session.scalar(select(MailMessage).where(MailMessage.key == f"registration:{old_ticket.registration_id}:ticket:{old_ticket.code}"))
    assert reissue_mail is not None and [a.filename for a in reissue_mail.attachments] == [f"ticket-{old_ticket.code}.png"]
    assert tk.verify_ticket(event, tk.ticket_payload(old_ticket))[0].ok
    assert set(tk.public_keys(event)) == {new_key.kid}
    rows, new_cursor = tk.revocations_since(event, cursor)
    assert [(r.ticket_code, r.reason) for r in rows] == [(old_code, "key_revoked")] and new_cursor == rows[-1].id
    # a fresh scanner no longer knows the key; one that cached it learns from the list; the server says revoked
    assert tk.verify_payload(old_payload, event.id, tk.public_keys(event)).reason == "unknown_key"
    assert tk.verify_payload(old_payload, event.id, cached_keys, {r.ticket_code for r in rows}).reason == "revoked"
    assert tk.verify_ticket(event, old_payload)[0].reason == "revoked"
    assert tk.verify_ticket(event, new_payload)[0].ok
    old_ticket.kid = old_key.kid  # (in memory only) a ticket of the revoked key
    with pytest.raises(tk.TicketError):
        tk.ticket_payload(old_ticket)  # a revoked key signs nothing
    db.session.rollback()

    key_set = {k["kid"]: k for k in tk.public_key_set(event)}
    assert key_set[old_key.kid]["status"] == "revoked" and "public_key" not in key_set[old_key.kid]
    assert base64.b64decode(key_set[new_key.kid]["public_key"]) == new_key.public_key
    assert tk.b32decode(key_set[new_key.kid]["public_key_b32"]) == new_key.public_key

    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.action.startswith("event_key.")).order_by(AuditLog.id)).all()
    assert actions == ["event_key.create", "event_key.retire", "event_key.rotate", "event_key.revoke"]
    actor_ids = db.session.scalars(select(AuditLog.actor_id).where(AuditLog.action.in_(["event_key.rotate", "event_key.revoke"]))).all()
    assert actor_ids == [organiser.id, organiser.id]


def test_revoking_the_active_key_makes_the_next_ticket_use_a_new_one(ctx):
    event, organiser = ctx["event"], ctx["organiser"]
    registration = make_registration(event)
    ticket = tk.issue_ticket(registration)
    first = tk.active_key(event)
    tk.revoke_key(first, organiser)
    db.session.commit()
    again = tk.issue_ticket(registration)  # re-issue for the still-confirmed registration
    db.session.commit()
    assert again.id == ticket.id and again.kid != first.kid and tk.active_key(event).kid == again.kid
    assert tk.verify_ticket(event, tk.ticket_payload(again))[0].ok


# ---- the revocation list -------------------------------------------------------------------------


def test_revocations_since_returns_only_newer_rows_of_the_event(ctx):
    event, other = ctx["event"], ctx["other"]
    tickets = [tk.issue_ticket(make_registration(event)) for _ in range(4)]
    foreign = tk.issue_ticket(make_registration(other))
    db.session.commit()
    assert tk.revocations_since(event, 0) == ([], 0)
    assert tk.revocations_since(event, None) == ([], 0)

    tk.revoke_ticket(tickets[0], "cancelled")
    tk.revoke_ticket(foreign, "cancelled")
    tk.revoke_ticket(tickets[1], "declined")
    db.session.commit()
    rows, cursor = tk.revocations_since(event, 0)
    assert [r.ticket_code for r in rows] == [tickets[0].code, tickets[1].code] and cursor == rows[-1].id
    assert tk.revocations_since(event, cursor) == ([], cursor)  # nothing new: same cursor

    tk.revoke_ticket(tickets[2], "cancelled")
    tk.revoke_ticket(tickets[3], "cancelled")
    db.session.commit()
    rows, next_cursor = tk.revocations_since(event, cursor)
    assert [r.ticket_code for r in rows] == [tickets[2].code, tickets[3].code] and next_cursor > cursor
    page, page_cursor = tk.revocations_since(event, cursor, limit=1)  # paging
    assert [r.ticket_code for r in page] == [tickets[2].code] and page_cursor == page[0].id
    assert [r.ticket_code for r in tk.revocations_since(other, 0)[0]] == [foreign.code]


def test_concurrent_first_tickets_share_one_key(ctx, app):
    """Eight transactions issue the event's first tickets at once: exactly one key is created
    (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite) and every ticket verifies."""
    import threading

    event_id = ctx["event"].id
    registration_ids = [make_registration(ctx["event"]).id for _ in range(8)]
    db.session.commit()
    barrier = threading.Barrier(len(registration_ids))
    errors: list[BaseException] = []

    def issue(registration_id: int) -> None:
        try:
            with app.app_context():
                registration = db.session.get(Registration, registration_id)
                barrier.wait(10)
                tk.issue_ticket(registration)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(rid,)) for rid in registration_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    db.session.expire_all()
    event = db.session.get(type(ctx["event"]), event_id)
    keys = db.session.scalars(select(EventKey).where(EventKey.event_id == event_id)).all()
    assert len(keys) == 1
    tickets = db.session.scalars(select(Ticket).where(Ticket.event_id == event_id)).all()
    assert len(tickets) == 8
    assert all(tk.verify_ticket(event, tk.ticket_payload(t))[0].ok for t in tickets)
