"""Who may do what — the one place views ask (DESIGN.md §2, §4).

Every endpoint needs a logged-in user unless its view is marked :func:`public`; this is
enforced by a ``before_request`` hook, so a route forgotten by its author is closed, not open.
Role checks use :func:`require`; object checks (host A never sees host B's data) use the
``can_*`` functions, which services and views share.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])


class Role(StrEnum):
    """The roles of DESIGN.md §2."""

    ORGANISER = "organiser"  # 组织方（国家发展改革委）
    REVIEWER = "reviewer"  # 评审专家
    HOST = "host"  # 承办基地用户
    CHECKIN = "checkin"  # 签到人员
    ASSESSOR = "assessor"  # 第三方评估
    PARTICIPANT = "participant"  # 参与者（中小企业等）


ROLE_LABELS = {
    Role.ORGANISER: _l("组织方"),
    Role.REVIEWER: _l("评审专家"),
    Role.HOST: _l("承办基地"),
    Role.CHECKIN: _l("签到人员"),
    Role.ASSESSOR: _l("第三方评估"),
    Role.PARTICIPANT: _l("参与者"),
}

# Named permissions → roles that hold them. Views name the permission, not the roles, so a
# change of policy is one line here.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "users.manage": frozenset({Role.ORGANISER}),
    "bases.manage": frozenset({Role.ORGANISER}),
    "bases.view": frozenset({Role.ORGANISER, Role.REVIEWER, Role.ASSESSOR, Role.HOST}),
    "campaigns.manage": frozenset({Role.ORGANISER}),
    "campaigns.view": frozenset({Role.ORGANISER, Role.REVIEWER, Role.ASSESSOR, Role.HOST}),
    "audit.view": frozenset({Role.ORGANISER, Role.ASSESSOR}),
    "plans.write": frozenset({Role.HOST}),  # a host writes its own base's plan (object check: can_edit_plan)
    "plans.manage": frozenset({Role.ORGANISER}),  # all plans, extensions, export
    "judging.manage": frozenset({Role.ORGANISER}),  # rubrics, assignments, results
    "judging.score": frozenset({Role.REVIEWER}),  # score sheets of one's own assignments
    "selection.manage": frozenset({Role.ORGANISER}),  # select hosts, allocate dates, publish
    "events.host": frozenset({Role.HOST}),  # its own events: detailed plan, needs, answers (object check: can_manage_event)
    "events.manage": frozenset({Role.ORGANISER}),  # every event: review detailed plans, see answers
    "events.view": frozenset({Role.ORGANISER, Role.ASSESSOR}),  # read every event's plan and answers
    # private pages of an event (plan versions, attachments, answers): hosts of that event, organisers,
    # assessors — always with the object check can_view_event_private
    "events.private": frozenset({Role.ORGANISER, Role.ASSESSOR, Role.HOST}),
    "registration.manage": frozenset({Role.ORGANISER, Role.HOST}),  # registrations of an event (object check: can_manage_event)
    "checkin.manage": frozenset({Role.ORGANISER}),  # assign check-in staff, lists and gates
    "checkin.scan": frozenset({Role.CHECKIN, Role.ORGANISER}),  # scan tickets of events one is assigned to
    "roadshow.manage": frozenset({Role.ORGANISER, Role.HOST}),  # call for projects, screening, sessions, schedule (object check: can_manage_event)
    "roadshow.panel": frozenset({Role.REVIEWER, Role.PARTICIPANT, Role.ORGANISER}),  # score / mark interest as a panel member (object check: on the panel)
    "competitions.manage": frozenset({Role.ORGANISER}),  # competitions, rounds, judges, advancement, awards, recommendations
    "assessment.record": frozenset({Role.HOST, Role.ORGANISER}),  # deals and mechanisms of an event (object check: can_manage_event)
    "assessment.manage": frozenset({Role.ORGANISER}),  # questionnaires, weights, publication of results
    "assessment.review": frozenset({Role.ORGANISER, Role.ASSESSOR}),  # every event's figures, free text, comments, finalisation
    "assessment.own_result": frozenset({Role.HOST}),  # a host's own published result and rank
    "outbox.manage": frozenset({Role.ORGANISER}),  # the mail outbox: search, resend
    "scheduler.view": frozenset({Role.ORGANISER}),  # scheduled jobs and their runs
}

PUBLIC_ATTR = "_eventhub_public"


def public(view: F) -> F:
    """Mark a view as reachable without logging in (log-in page, public pages, health)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def is_public_endpoint(endpoint: str | None) -> bool:
    """True for static files and views marked :func:`public`."""
    if endpoint is None:
        return True  # 404s: let the error handler answer
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(view is not None and getattr(view, PUBLIC_ATTR, False))


def has_permission(user: Any, permission: str) -> bool:
    """True when an active user's role holds ``permission``."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return Role(user.role) in PERMISSIONS[permission]


def require(permission: str) -> Callable[[F], F]:
    """Decorator: 403 unless the current user holds ``permission`` (login is checked globally)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped._eventhub_permission = permission  # type: ignore[attr-defined]  (read by the route-walk test)
        return wrapped  # type: ignore[return-value]

    return decorate


def login_guard() -> Any:
    """``before_request`` hook: anonymous users are sent to log in for non-public endpoints."""
    if is_public_endpoint(request.endpoint):
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def can_view_base_private(user: Any, base: Any) -> bool:
    """Contacts of a base: organisers, assessors, and the base's own host users."""
    if has_permission(user, "bases.manage") or Role(user.role) is Role.ASSESSOR:
        return True
    return Role(user.role) is Role.HOST and user.base_id == base.id


def can_manage_event(user: Any, event: Any) -> bool:
    """Organisers manage every event; a host only the events of its own base."""
    if has_permission(user, "events.manage"):
        return True
    return has_permission(user, "events.host") and user.base_id is not None and user.base_id == event.host_base_id


def can_view_event_private(user: Any, event: Any) -> bool:
    """Drafts, attachments and answers of an event: its managers, plus assessors (read only)."""
    return can_manage_event(user, event) or has_permission(user, "events.view")
