"""Absolute links for mail and QR codes, also outside a request (the scheduler has none)."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, has_request_context, url_for

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for ``endpoint``.

    ``PUBLIC_BASE_URL`` (e.g. ``https://eventhub.example.cn``) wins when configured, so links in
    mail point at the public address even when an organiser works on an internal host name;
    otherwise the current request's host, and outside a request the local development address.
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = (base or DEFAULT_BASE_URL).rstrip("/")
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)


def secret_page(response: Response) -> Response:
    """Headers for a page whose URL is the secret (a private link with a token): never cached,
    never indexed, never sent on as a referrer to another site. One place, so every private page
    (registrations, answers, applications, entries, deals, surveys, mechanisms) behaves alike."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


_URL = re.compile(r"https?://[^\s\"'<>]+")
# A path segment that is a secret: our tokens are 43 URL-safe characters, the signed account
# links longer (with dots); no ordinary path segment of ours is 24 characters of that alphabet.
_SECRET_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_.-]{24,}")


def mask_private_links(text: str | None) -> str:
    """``text`` with the secret part of every private link cut to its first 4 characters + "…".

    For showing sent mail to organisers (发件箱): they see which link a person got, not a link
    that would let them act as that person. Resending still mails the real link.
    """
    if not text:
        return text or ""
    return _URL.sub(lambda url: _SECRET_SEGMENT.sub(lambda secret: secret.group(0)[:4] + "…", url.group(0)), text)
