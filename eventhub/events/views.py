"""Event views: the public year calendar and its feed; the host's list of answers to its technology needs.

The answer pages are for the event's host (its own base only: another host gets 404, as if the
event did not exist), organisers (who may also decide) and assessors (read only).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eventhub.core import audit
from eventhub.core.permissions import can_manage_event, can_view_event_private, public, require
from eventhub.core.timeutil import SHANGHAI
from eventhub.core.uploads import send_stored
from eventhub.core.wordcount import count_zishu
from eventhub.events import bp, services
from eventhub.events import responses as answers
from eventhub.events.models import RESPONSE_STATUS_LABELS, Event, TechNeed, TechNeedResponse
from eventhub.extensions import db


@bp.get("/calendar")
@public
def calendar() -> Any:
    """The year's theme days (public, no log-in), dates on the Beijing calendar."""
    year = request.args.get("year", type=int) or services.default_year()
    events = services.events_of_year(year)
    return render_template("events/calendar.html", year=year, events=events, years=sorted(set(services.published_years()) | {year}, reverse=True))


@bp.get("/calendar.ics")
@public
def calendar_ics() -> Response:
    """Every published theme day as an iCalendar feed (``?year=`` for one year)."""
    year = request.args.get("year", type=int)
    events = services.events_of_year(year) if year else services.all_events()
    body = services.ical_feed(events)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="eventhub-calendar.ics"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# ---- answers to technology needs: the host's side (organisers all, assessors read only) -------

PER_PAGE = 20


_event_reader = require("events.private")  # hosts (own events), organisers, assessors; other hosts get 404 below


def _readable_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not can_view_event_private(current_user, event):
        abort(404)
    return event


def _need(event: Event, need_id: int) -> TechNeed:
    need = db.session.get(TechNeed, need_id)
    if need is None or need.event_id != event.id:
        abort(404)
    return need


def _response(need: TechNeed, response_id: int) -> TechNeedResponse:
    response = db.session.get(TechNeedResponse, response_id)
    if response is None or response.need_id != need.id:
        abort(404)
    return response


@bp.get("/events/<int:event_id>/needs")
@_event_reader
def need_responses(event_id: int) -> Any:
    """Every technology need of the event with its answers counted by status."""
    event = _readable_event(event_id)
    return render_template(
        "events/responses/needs.html",
        event=event,
        summaries=answers.need_summaries(event),
        statuses=RESPONSE_STATUS_LABELS,
        can_manage=can_manage_event(current_user, event),
    )


@bp.get("/events/<int:event_id>/needs/<int:need_id>/responses")
@_event_reader
def need_response_list(event_id: int, need_id: int) -> Any:
    """The answers to one need: search, status filter, pages; mobiles masked."""
    event = _readable_event(event_id)
    need = _need(event, need_id)
    filters = {"q": request.args.get("q", "").strip()[:100], "status": request.args.get("status", "")}
    query = answers.responses_query(need, q=filters["q"], status=filters["status"])
    pagination = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template(
        "events/responses/list.html",
        event=event,
        need=need,
        pagination=pagination,
        filters=filters,
        statuses=RESPONSE_STATUS_LABELS,
        count_zishu=count_zishu,
    )


@bp.get("/events/<int:event_id>/needs/<int:need_id>/responses/<int:response_id>")
@_event_reader
def need_response_detail(event_id: int, need_id: int, response_id: int) -> Any:
    """One answer in full, with the decision form for those who manage the event."""
    event = _readable_event(event_id)
    need = _need(event, need_id)
    response = _response(need, response_id)
    return render_template(
        "events/responses/detail.html",
        event=event,
        need=need,
        response=response,
        can_manage=can_manage_event(current_user, event),
        history=audit.history_of(response),
        action_labels=answers.ACTION_LABELS,
        count_zishu=count_zishu,
        note_max=answers.NOTE_MAX,
        errors={},
        typed={},
    )


@bp.post("/events/<int:event_id>/needs/<int:need_id>/responses/<int:response_id>/decision")
@_event_reader
def need_response_decide(event_id: int, need_id: int, response_id: int) -> Any:
    """Shortlist or decline an answer with a note (the respondent is mailed; audited)."""
    event = _readable_event(event_id)
    if not can_manage_event(current_user, event):
        abort(403)
    need = _need(event, need_id)
    response = _response(need, response_id)
    decision, note = request.form.get("decision", ""), request.form.get("note", "")
    try:
        changed = answers.decide(response, decision, note, current_user)
    except answers.ResponseError as exc:
        db.session.rollback()
        page = render_template(
            "events/responses/detail.html",
            event=event,
            need=need,
            response=response,
            can_manage=True,
            history=audit.history_of(response),
            action_labels=answers.ACTION_LABELS,
            count_zishu=count_zishu,
            note_max=answers.NOTE_MAX,
            errors=exc.errors,
            typed={"decision": decision, "note": note},
        )
        return page, 400
    db.session.commit()
    if changed:
        flash(_("已将 %(org)s 标记为“%(status)s”，并已通知响应单位。", org=response.org_name, status=_(response.status_label)), "success")
    else:
        flash(_("状态和说明没有变化。"), "info")
    return redirect(url_for("events.need_response_detail", event_id=event.id, need_id=need.id, response_id=response.id))


@bp.get("/events/<int:event_id>/needs/<int:need_id>/responses/<int:response_id>/attachment")
@_event_reader
def need_response_attachment(event_id: int, need_id: int, response_id: int) -> Response:
    """The answer's attachment, for those who may read the event's answers."""
    event = _readable_event(event_id)
    response = _response(_need(event, need_id), response_id)
    if response.attachment is None:
        abort(404)
    return send_stored(response.attachment)


@bp.get("/events/<int:event_id>/needs/<int:need_id>/responses.xlsx")
@_event_reader
def need_responses_export(event_id: int, need_id: int) -> Response:
    """All answers to one need as an Excel sheet (full contacts; the export is audited)."""
    event = _readable_event(event_id)
    need = _need(event, need_id)
    rows = list(db.session.scalars(answers.responses_query(need)))
    data = answers.export_xlsx(need, rows)
    audit.record("need_response.export", need, after={"rows": len(rows)})
    db.session.commit()
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    response = send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"揭榜响应-{event.id}-{need.id}-{stamp}.xlsx",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
