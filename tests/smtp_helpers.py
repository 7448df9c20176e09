"""Real SMTP servers for tests (aiosmtpd in a thread on a free port), shared by every mail test.

Use the fixtures (``smtp_server``, ``closed_port``) or :func:`running` directly::

    from tests.smtp_helpers import SmtpRecorder, closed_port, smtp_server  # noqa: F401 (fixtures)

    def test_x(make_app, smtp_server):
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
        ...
        envelope = smtp_server.wait_for(1)[0]

``SmtpRecorder.answer`` turns a server that accepts everything into one that answers a
temporary (451) or permanent (554) error at RCPT or DATA — and back again, to show recovery.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

TEMPORARY = "451 4.3.0 Mailbox temporarily unavailable, try again later"
PERMANENT = "554 5.7.1 Message rejected"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """aiosmtpd handler: keeps every accepted envelope; can be told to refuse.

    ``answer`` is ``None`` (accept) or an SMTP reply such as :data:`TEMPORARY` / :data:`PERMANENT`;
    ``refuse_at`` is ``"RCPT"`` or ``"DATA"``; ``refuse_only`` limits refusals to some recipients.
    ``delay`` (seconds) slows every DATA down, to make concurrent senders overlap.
    """

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.answer: str | None = None
        self.refuse_at = "DATA"
        self.refuse_only: set[str] | None = None
        self.delay = 0.0
        self.port = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def _refuses(self, stage: str, addresses: list[str]) -> bool:
        if self.answer is None or stage != self.refuse_at:
            return False
        return self.refuse_only is None or any(a.lower() in self.refuse_only for a in addresses)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802 - aiosmtpd's hook name
        if self._refuses("RCPT", [address]):
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._refuses("DATA", list(envelope.rcpt_tos)):
            return self.answer
        with self._changed:
            self.envelopes.append(envelope)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        """The envelopes once at least ``count`` arrived (fails the test after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.envelopes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} message(s), got {len(self.envelopes)}")
                self._changed.wait(left)
            return list(self.envelopes)

    def messages(self) -> list[EmailMessage]:
        return [parse(e) for e in self.envelopes]


def parse(envelope: Any) -> EmailMessage:
    """An envelope's content as a modern ``EmailMessage`` (decoded headers, ``get_body``…)."""
    return email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[return-value]


@contextmanager
def running(handler: SmtpRecorder | None = None) -> Iterator[SmtpRecorder]:
    """A real SMTP server on 127.0.0.1 for the duration of the block."""
    handler = handler or SmtpRecorder()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpRecorder]:
    with running() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port where nothing listens: connections are refused at once (a server that is down)."""
    return free_port()
