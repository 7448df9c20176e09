"""Absolute links for mail and QR codes, also outside a request (the scheduler has none)."""

from __future__ import annotations

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
