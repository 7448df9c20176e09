"""Every route is closed to anonymous users unless it is on the explicit public list."""

from __future__ import annotations

import re

from eventhub.core.permissions import PERMISSIONS, Role
from tests.factories import user_and_login

# endpoint -> why it is public. Adding a public page means adding it here, on purpose.
PUBLIC_ENDPOINTS = {
    "static": "CSS/JS",
    "bootstrap.static": "vendored Bootstrap",
    "core.healthz": "load balancer health check",
    "core.set_language": "language switch in the footer",
    "auth.login": "log-in page",
    "auth.accept_invitation": "invitation link sets the first password",
    "auth.reset_password": "password reset link",
    "auth.forgot_password": "self-service request for a reset link (neutral answer, rate-limited per IP and per address)",
    "events.calendar": "public year calendar of theme days",
    "events.calendar_ics": "iCalendar feed of theme days (subscribed by calendar clients)",
    "events.public_page": "public theme-day page (approved content only)",
    "events.public_qr_png": "QR code of the public page (PNG)",
    "events.public_qr_svg": "QR code of the public page (SVG)",
    "events.event_ics": "iCalendar file of one theme day and its approved sessions",
    "events.session_ics": "iCalendar file of one approved session",
    "events.respond_need": "SMEs answer a published technology need without an account (rate limited)",
    "events.response_status": "respondent's private status page, found by its secret token",
    "events.response_attachment": "respondent's own attachment, through the secret token",
    "registration.register_form": "public registration form of a published theme day (rate limited)",
    "registration.private_page": "registrant's private page, found by its secret token",
    "registration.ticket_qr_png": "ticket QR (PNG) through the registrant's secret token",
    "registration.ticket_qr_svg": "ticket QR (SVG) through the registrant's secret token",
    "registration.cancel_registration": "registrant cancels through the secret token (CSRF + confirmation box)",
    "registration.registration_ics": "registrant's calendar file through the secret token",
    "registration.ticket_page": "printable A6 ticket through the registrant's secret token",
    "registration.edit_answers": "registrant edits answers through the secret token (CSRF)",
    "roadshow.call_page": "public call for road-show projects (rate limited, honeypot)",
    "roadshow.private_page": "applicant's private page, found by its secret token",
    "roadshow.edit_application": "applicant edits through the secret token until the call closes (CSRF)",
    "roadshow.withdraw_application": "applicant withdraws through the secret token (CSRF + confirmation box)",
    "roadshow.registrant_projects": "registrant's list of road-show projects, found by the registration's secret token",
    "roadshow.registrant_interest": "confirmed registrant marks interest through the secret token (CSRF, rate limited)",
    "roadshow.public_agenda": "public agenda of the published road-show schedule (no contacts)",
    "roadshow.public_winners": "published road-show winners (says not yet published before)",
    "competitions.public_list": "public list of open and finished competitions",
    "competitions.public_page": "public competition page with its entry form (rate limited, honeypot)",
    "competitions.public_results": "published results of a competition (404 before publication)",
    "competitions.entry_private": "entrant's private page, found by its secret token",
    "assessment.deal_confirm": "counterparty confirms or disputes a deal through its signed link (CSRF, rate limited)",
    "assessment.survey_page": "a checked-in participant's personal survey link (CSRF, rate limited)",
    "assessment.mechanism_check": "a mechanism member says whether it is still active, through its signed link",
    "api.checkin_create": "scanner API, bearer token checked in the view (401 JSON, not the log-in page)",
    "api.checkin_sync": "scanner API, bearer token checked in the view (401 JSON, not the log-in page)",
    "api.event_keys": "scanner API, bearer token checked in the view (401 JSON, not the log-in page)",
    "api.revocations": "scanner API, bearer token checked in the view (401 JSON, not the log-in page)",
    "api.roster": "scanner API, bearer token checked in the view (401 JSON, not the log-in page)",
}


def _fill(rule) -> str:  # noqa: ANN001
    """A concrete URL for a rule: 1 for ints, 'x' for strings and paths."""
    url = rule.rule
    for name, conv in rule._converters.items():
        value = "1" if type(conv).__name__ in {"IntegerConverter", "FloatConverter"} else "x"
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
    return url


def _routes(app):  # noqa: ANN001
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        yield rule, methods


def test_every_non_public_route_refuses_anonymous(app, client):
    checked = 0
    for rule, methods in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in methods:
            response = client.open(_fill(rule), method=method)
            assert response.status_code in {302, 401}, f"{method} {rule.rule} answered {response.status_code} to an anonymous user"
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], f"{rule.rule} redirects elsewhere than log-in"
            checked += 1
    assert checked >= 5


def test_public_list_matches_marked_views(app):
    """Views marked @public are exactly the list above (no accidental public route)."""
    from eventhub.core.permissions import PUBLIC_ATTR

    marked = {ep for ep, view in app.view_functions.items() if getattr(view, PUBLIC_ATTR, False)}
    marked |= {ep for ep in app.view_functions if ep == "static" or ep.endswith(".static")}
    assert marked == set(PUBLIC_ENDPOINTS), f"public views differ from the explicit list: {marked ^ set(PUBLIC_ENDPOINTS)}"


def _organiser_only_endpoints(app):  # noqa: ANN001
    """Endpoints whose view is wrapped by require() of an organiser-only permission."""
    organiser_only = {name for name, roles in PERMISSIONS.items() if roles == {Role.ORGANISER}}
    for rule, methods in _routes(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "_eventhub_permission", None) in organiser_only:
            yield rule, methods


def test_host_cannot_open_organiser_pages(app, client):
    user_and_login(app, client, Role.HOST)
    rules = list(_organiser_only_endpoints(app))
    assert len(rules) >= 5, "expected several organiser-only pages"
    for rule, methods in rules:
        for method in methods:
            response = client.open(_fill(rule), method=method)
            assert response.status_code == 403, f"host got {response.status_code} on {method} {rule.rule}"


def test_organiser_pages_answer_organiser(app, client):
    user_and_login(app, client, Role.ORGANISER)
    for path in ["/", "/users", "/bases/", "/campaigns/", "/audit"]:
        assert client.get(path).status_code == 200, path
