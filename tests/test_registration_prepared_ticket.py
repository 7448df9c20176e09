"""A ticket prepared before the registration's transaction (code, signature, QR PNG) is the same
ticket and the same image as one made inside it, and is only used when it is still valid."""

from __future__ import annotations

import io

import PIL.Image
import pytest
import zxingcpp
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core.mail import MailAttachment, MailMessage
from eventhub.extensions import db
from eventhub.registration import services as rs
from eventhub.registration import tickets
from eventhub.registration.models import Registration, Ticket
from tests.test_registration_services import event_of, reg_event, register


def decode(png: bytes) -> str:
    found = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    assert len(found) == 1
    return found[0].text


def attachment_of(key: str) -> MailAttachment:
    message = db.session.scalar(select(MailMessage).where(MailMessage.key == key))
    assert message is not None, key
    (attachment,) = message.attachments
    return attachment


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_registration_mails_the_prepared_ticket_as_the_same_png(app, backend):  # noqa: ANN001
    with app.app_context():
        ids = reg_event(capacity=5)
        register(ids, 1)  # the first registration creates the event's key (nothing to prepare before)
        second, _token = register(ids, 2)  # prepared ahead with that key
        db.session.expire_all()
        second = db.session.get(Registration, second.id)
        payload = tickets.ticket_payload(second.ticket)
        attachment = attachment_of(f"registration:{second.id}:confirmed")
        assert attachment.filename == f"ticket-{second.ticket.code}.png"
        assert attachment.data == tickets.qr_png(payload)  # byte for byte the image made inside the transaction
        assert decode(attachment.data) == payload
        assert tickets.verify_ticket(second.event, payload)[0].ok


def test_prepared_ticket_used_only_when_still_valid(app):  # noqa: ANN001
    with app.app_context():
        ids = reg_event(capacity=5)
        event = event_of(ids)
        first, _ = register(ids, 1)
        assert tickets.prepare_ticket(event) is not None

        # used: same key, code free → the ticket carries the prepared code; the attachment is the prepared PNG
        prepared = tickets.prepare_ticket(event)
        second, _ = register(ids, 2)
        registration = db.session.get(Registration, second.id)
        tickets.revoke_ticket(registration.ticket, "cancelled")
        ticket = tickets.issue_ticket(registration, prepared)
        assert ticket.code == prepared.code and ticket.kid == prepared.kid
        assert rs.ticket_attachment(registration, prepared) == (f"ticket-{prepared.code}.png", "image/png", prepared.png)
        assert tickets.ticket_payload(ticket) == prepared.payload
        db.session.commit()

        # not used: the code was taken meanwhile
        taken = tickets.prepare_ticket(event)
        first = db.session.get(Registration, first.id)
        tickets.revoke_ticket(first.ticket, "cancelled")
        first.ticket.code = taken.code  # another ticket now holds the prepared code
        db.session.flush()
        third, _ = register(ids, 3)
        third = db.session.get(Registration, third.id)
        tickets.revoke_ticket(third.ticket, "cancelled")
        assert tickets.issue_ticket(third, taken).code != taken.code
        db.session.rollback()

        # not used: the key was rotated after it was prepared; the mail then draws the new ticket's QR
        stale = tickets.prepare_ticket(event)
        tickets.rotate_key(event, db.session.scalar(select(User).where(User.id == ids["host_id"])))
        fourth, _ = register(ids, 4)
        fourth = db.session.get(Registration, fourth.id)
        tickets.revoke_ticket(fourth.ticket, "cancelled")
        fresh = tickets.issue_ticket(fourth, stale)
        assert fresh.code != stale.code and fresh.kid != stale.kid
        assert rs.ticket_attachment(fourth, stale)[2] == tickets.qr_png(tickets.ticket_payload(fresh))
        db.session.rollback()
        assert db.session.scalar(select(Ticket).where(Ticket.code == stale.code)) is None
