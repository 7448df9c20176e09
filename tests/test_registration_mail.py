"""Registration mails through a real SMTP server: the ticket QR travels as a PNG attachment.

Every confirmation (direct, promoted from the waiting list, approved by the host) and every ticket
re-issued after a key was revoked is delivered by the real outbox worker to an aiosmtpd server,
parsed back as MIME, the attached PNG decoded with zxingcpp and its payload verified with
``tickets.verify_ticket``; the private link in the mail opens the registration.
"""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from typing import Any

import PIL.Image
import pytest
import zxingcpp
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core.mail import KEY_HEADER, deliver_pending
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.registration import services as rs
from eventhub.registration import tickets
from eventhub.registration.models import EventKey, Registration
from tests.factories import make_user
from tests.smtp_helpers import SmtpRecorder, parse, running
from tests.test_registration_services import event_of, reg_event, register


@pytest.fixture
def smtp_server():  # noqa: ANN201
    with running(SmtpRecorder()) as server:
        yield server


@pytest.fixture
def mail_app(make_app, smtp_server):  # noqa: ANN001, ANN201
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)


def delivered(smtp_server: SmtpRecorder, key: str) -> EmailMessage:
    """Run the outbox worker and return the message with this outbox key, as the SMTP server got it."""
    deliver_pending()
    for envelope in smtp_server.envelopes:
        message = parse(envelope)
        if message[KEY_HEADER] == key:
            return message
    raise AssertionError(f"no delivered message with key {key}; got {[parse(e)[KEY_HEADER] for e in smtp_server.envelopes]}")


def ticket_png(message: EmailMessage) -> tuple[str, bytes]:
    attachments = [part for part in message.iter_attachments() if part.get_content_type() == "image/png"]
    assert len(attachments) == 1, [p.get_filename() for p in message.iter_attachments()]
    return attachments[0].get_filename(), attachments[0].get_content()


def decode(png: bytes) -> str:
    found = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    assert len(found) == 1
    return found[0].text


def private_token(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+/registrations/([A-Za-z0-9_-]{43})(?=\s)", text)
    assert match, text
    html = message.get_body(("html",)).get_content()
    assert f"/registrations/{match.group(1)}" in html
    return match.group(1)


def check_ticket_mail(message: EmailMessage, registration: Registration) -> str:
    """The attachment is the registration's valid ticket; returns the decoded payload."""
    db.session.expire_all()
    registration = db.session.get(Registration, registration.id)
    filename, png = ticket_png(message)
    assert filename == f"ticket-{registration.ticket.code}.png"
    payload = decode(png)
    verdict, ticket = tickets.verify_ticket(registration.event, payload)
    assert verdict.ok and ticket.registration_id == registration.id
    body = message.get_body(("plain",)).get_content()
    assert registration.ticket.code in body and filename in body
    assert rs.find_by_token(private_token(message)).id == registration.id
    assert f"/registrations/{private_token(message)}/ticket" in body  # the printable A6 page
    return payload


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_confirmation_mail_carries_the_qr_and_the_private_link(mail_app, smtp_server, backend):
    with mail_app.app_context():
        ids = reg_event()
        reg, token = register(ids)
        message = delivered(smtp_server, f"registration:{reg.id}:confirmed")
        assert message["To"] == "p0@example.com" and "报名成功" in message["Subject"]
        check_ticket_mail(message, reg)
        assert private_token(message) == token


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_promoted_and_approved_registrations_get_their_ticket_by_mail(mail_app, smtp_server, backend):
    with mail_app.app_context():
        ids = reg_event(capacity=1)
        first, _ = register(ids, 1)
        second, _ = register(ids, 2)
        waiting = delivered(smtp_server, f"registration:{second.id}:waitlisted")
        assert not list(waiting.iter_attachments())  # no ticket while waiting, but the link
        assert rs.find_by_token(private_token(waiting)).id == second.id
        rs.cancel(db.session.get(Registration, first.id))
        promoted = delivered(smtp_server, f"registration:{second.id}:promoted")
        assert "候补成功" in promoted["Subject"]
        check_ticket_mail(promoted, second)

        moderated = reg_event(mode="moderated")
        pending, _ = register(moderated, 3)
        received = delivered(smtp_server, f"registration:{pending.id}:pending")
        assert not list(received.iter_attachments())
        rs.approve([db.session.get(Registration, pending.id)], db.session.get(User, moderated["host_id"]))
        check_ticket_mail(delivered(smtp_server, f"registration:{pending.id}:confirmed"), pending)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_revoking_a_key_mails_a_new_valid_ticket_and_refuses_the_old_one(mail_app, smtp_server, backend):
    with mail_app.app_context():
        organiser = make_user(Role.ORGANISER)
        ids = reg_event(capacity=3)
        holders = [register(ids, n)[0] for n in range(3)]
        rs.cancel(db.session.get(Registration, holders[2].id))  # a cancelled ticket is not re-issued
        event = event_of(ids)
        old: dict[int, Any] = {}
        for holder in holders[:2]:
            old[holder.id] = decode(ticket_png(delivered(smtp_server, f"registration:{holder.id}:confirmed"))[1])
            assert tickets.verify_ticket(event, old[holder.id])[0].ok
        key = db.session.scalar(select(EventKey).where(EventKey.event_id == event.id, EventKey.status == "active"))

        revoked = tickets.revoke_key(key, organiser)
        db.session.commit()
        assert {t.registration_id for t in revoked} == {holders[0].id, holders[1].id}  # the cancelled one was already revoked
        for holder in holders[:2]:
            reg = db.session.get(Registration, holder.id)
            message = delivered(smtp_server, f"registration:{reg.id}:ticket:{reg.ticket.code}")
            assert "电子票已更新" in message["Subject"]
            new_payload = check_ticket_mail(message, reg)
            assert new_payload != old[holder.id] and f".{key.kid}." not in new_payload
            assert tickets.verify_ticket(event, old[holder.id])[0].reason == "revoked"
        new_key = tickets.active_key(event)
        assert new_key.id != key.id and {t.kid for t in revoked} == {new_key.kid}
        # a second call changes nothing and mails nobody again
        before = len(smtp_server.envelopes)
        assert tickets.revoke_key(key, organiser) == []
        db.session.commit()
        deliver_pending()
        assert len(smtp_server.envelopes) == before
