"""The road-show schedule service: sessions (validation, one room at a time), panels (roles, overlap
warning), models → solver, the draft and the automatic run, hand edits with conflict detection,
publication with .ics mail only to those whose slots changed, and the public agenda.
Real database (SQLite and PostgreSQL), real outbox, .ics parsed back with icalendar.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, timedelta
from typing import Any

import icalendar
import pytest
from sqlalchemy import select

from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import shanghai
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.roadshow import calls, scheduling
from eventhub.roadshow import schedule as svc
from eventhub.roadshow.models import ProjectApplication, RoadshowSession, ScheduleStatus
from tests.concurrency import other_commits_before_read
from tests.event_helpers import VALID_USCC, approved_event
from tests.factories import make_user

# ---- helpers (also used by the page tests) -----------------------------------------------------


def roadshow_event(fields: list[str] | None = None) -> dict[str, Any]:
    """An approved two-day theme day with a call (fields 先进制造, 新能源) and a host user."""
    ids = approved_event(f"排{secrets.token_hex(3)}")
    event = db.session.get(Event, ids["event_id"])
    calls.save_call(
        event,
        {
            "opens_at": "2020-01-01T00:00:00",
            "closes_at": f"{(event.start_date - timedelta(days=1)).isoformat()}T12:00:00",
            "intro": "征集项目。",
            "fields": fields or ["先进制造", "新能源"],
            "summary_min": "10",
            "summary_max": "800",
        },
        actor=None,
    )
    db.session.commit()
    return {**ids, "days": [event.start_date, event.end_date]}


def the_event(ids: dict[str, Any]) -> Event:
    return db.session.get(Event, ids["event_id"])


def project(
    ids: dict[str, Any], n: int, *, field: str = "先进制造", mobile: str | None = None, unavailable: list[list[str]] | None = None, **kw: Any
) -> ProjectApplication:
    """A shortlisted application (built directly: the call's form is tested elsewhere)."""
    event = the_event(ids)
    call = calls.get_call(event)
    app = ProjectApplication(
        call_id=call.id,
        event_id=event.id,
        org_name=kw.pop("org_name", f"测试科技{n}有限公司"),
        org_type="sme",
        uscc=VALID_USCC,
        contact_name="张三",
        contact_mobile=f"139{n:08d}",
        contact_email=f"contact{n}@example.com",
        presenters=[{"name": f"路演人{n}", "mobile": mobile or f"137{n:08d}", "email": f"p{n}@example.com", "position": "CEO"}],
        project_name=kw.pop("project_name", f"项目{n}"),
        field=field,
        stage="prototype",
        seeking="融资",
        summary="简介",
        unavailable=unavailable or [],
        need_ids=[],
        status=kw.pop("status", "shortlisted"),
        token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        **kw,
    )
    db.session.add(app)
    db.session.flush()
    return app


def session_data(ids: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = {
        "title": "新能源专场",
        "room": "一号路演厅",
        "online_url": "",
        "day": ids["days"][0].isoformat(),
        "start_time": "14:00",
        "end_time": "15:00",
        "slot_minutes": "15",
        "breaks": "",
        "track": "",
        "chair_name": "王主持",
        "event_session_id": "",
    }
    data.update(overrides)
    return data


def add_session(ids: dict[str, Any], **overrides: Any) -> RoadshowSession:
    return svc.save_session(the_event(ids), session_data(ids, **overrides), actor=None)


def utc_iso(day: date, hhmm: str) -> str:
    h, m = (int(x) for x in hhmm.split(":"))
    return shanghai(day.year, day.month, day.day, h, m).astimezone(UTC).isoformat()


def outbox(prefix: str = "roadshow-schedule") -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(prefix)).order_by(MailMessage.id)))


def ics_of(message: MailMessage) -> icalendar.Calendar:
    (attachment,) = [a for a in message.attachments if a.filename.endswith(".ics")]
    return icalendar.Calendar.from_ical(attachment.data)


def vevents(cal: icalendar.Calendar) -> list[Any]:
    return [c for c in cal.walk("VEVENT")]


both = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


# ---- sessions and panels -----------------------------------------------------------------------


@both
def test_session_fields_are_checked_and_one_room_holds_one_session_at_a_time(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        _values, errors = svc.clean_session(
            event,
            session_data(ids, title="", room="", day="2001-01-01", start_time="15:00", end_time="14:00", slot_minutes="1", breaks="9-x", track="火星"),
        )
        assert set(errors) >= {"title", "room", "day", "end_time", "slot_minutes", "breaks", "track"}
        first = add_session(ids, breaks="14:30-14:40")
        assert first.breaks == [["14:30", "14:40"]] and first.track == ""
        assert [s.id for s in svc.session_slots(first)] == [f"{first.id}:1", f"{first.id}:2", f"{first.id}:3"]  # 14:00, 14:15, 14:40
        with pytest.raises(svc.ScheduleError) as err:
            add_session(ids, title="另一场", room=" 一号 路演厅", start_time="14:45", end_time="16:00")
        assert "不能重叠" in err.value.errors["room"]
        # back to back is fine, another day is fine, online channels never clash
        add_session(ids, title="接续", start_time="15:00", end_time="16:00")
        add_session(ids, title="次日", day=ids["days"][1].isoformat())
        add_session(ids, title="线上", room="", online_url="https://live.example.com/a")
        add_session(ids, title="线上2", room="", online_url="https://live.example.com/a")
        # an agenda link must be an approved roadshow session
        with pytest.raises(svc.ScheduleError) as err:
            add_session(ids, title="链接", room="二号厅", event_session_id=str(ids["session_ids"][0]))
        assert "event_session_id" in err.value.errors
        linked = add_session(ids, title="链接", room="二号厅", event_session_id=str(ids["session_ids"][1]), track="新能源")
        assert linked.event_session_id == ids["session_ids"][1] and linked.track == "新能源"
        # editing keeps its own room (no clash with itself)
        svc.save_session(event, session_data(ids, title="新名字", breaks="14:30-14:40"), actor=None, session=first)
        assert first.title == "新名字"
        db.session.commit()
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "roadshow_session.update")) is not None


@both
def test_panel_roles_and_overlap_warning(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        a = add_session(ids)
        b = add_session(ids, title="二号厅", room="二号厅", start_time="14:30", end_time="15:30")
        reviewer = make_user(Role.REVIEWER)
        investor = make_user(Role.PARTICIPANT)
        host = make_user(Role.HOST, base=event.host_base)
        with pytest.raises(svc.ScheduleError):
            svc.add_panel_member(a, investor, "judge", actor=None)  # a judge is a reviewer
        with pytest.raises(svc.ScheduleError):
            svc.add_panel_member(a, host, "investor", actor=None)
        svc.add_panel_member(a, reviewer, "judge", actor=None)
        svc.add_panel_member(a, investor, "investor", actor=None)
        with pytest.raises(svc.ScheduleError):
            svc.add_panel_member(a, reviewer, "investor", actor=None)  # once per session
        assert svc.panel_overlaps(event) == []
        svc.add_panel_member(b, reviewer, "judge", actor=None)  # allowed, but warned
        (overlap,) = svc.panel_overlaps(event)
        assert overlap.user.id == reviewer.id and {overlap.first.id, overlap.second.id} == {a.id, b.id}
        slots = svc.slots_for(event)
        assert all(str(reviewer.id) in s.panel for s in slots)
        svc.remove_panel_member(a.panel[0], actor=None)
        db.session.commit()
        assert [m.user_id for m in a.panel] == [investor.id]


# ---- models → solver and the automatic run -------------------------------------------------------


@both
def test_projects_for_converts_presenters_unavailability_and_pins(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        day = ids["days"][0]
        p1 = project(ids, 1, mobile="+86 137-0000-0001", unavailable=[[utc_iso(day, "14:00"), utc_iso(day, "14:30")]])
        p2 = project(ids, 2, mobile="13700000001", field="")
        project(ids, 3, status="submitted")
        projects = svc.projects_for(event)
        assert [p.id for p in projects] == [p1.id, p2.id]  # only shortlisted
        assert projects[0].presenters == projects[1].presenters == frozenset({"13700000001"})
        assert projects[0].unavailable[0][0] == shanghai(day.year, day.month, day.day, 14, 0)
        assert projects[1].field is None and projects[0].field == "先进制造"


@both
def test_auto_schedule_fills_the_draft_keeps_pins_and_reports_what_does_not_fit(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        energy = add_session(ids, title="新能源", track="新能源")  # 4 slots 14:00–15:00
        making = add_session(ids, title="先进制造", room="二号厅", track="先进制造", end_time="14:30")  # 2 slots
        apps = [project(ids, n, field="新能源" if n < 3 else "先进制造") for n in range(7)]
        result = svc.auto_schedule(event, actor=None)
        db.session.commit()
        draft = svc.get_draft(event)
        assert draft is not None and draft.number == 1 and draft.status == ScheduleStatus.DRAFT.value
        assert result.placed == 6 and len(draft.placements) == 6
        report = draft.report
        assert report["placed"] == 6 and list(report["unplaced"]) == [str(apps[6].id)]
        assert report["unplaced"][str(apps[6].id)]["code"] == scheduling.CAPACITY
        assert report["load"][str(energy.id)] == [4, 4] and report["load"][str(making.id)] == [2, 2]
        # a hand move pins; the next run keeps it
        target = svc.session_slots(energy)[3].id
        moved = next(p for p in draft.placements if p.session_id == making.id)
        victim = next(p for p in draft.placements if svc.placement_slot_ids(draft, svc.slots_for(event))[p.application_id] == target)
        svc.swap_placements(event, moved.application, victim.application, actor=None)
        db.session.commit()
        svc.auto_schedule(event, actor=None)
        db.session.commit()
        draft = svc.get_draft(event)
        assert svc.placement_slot_ids(draft, svc.slots_for(event))[moved.application_id] == target
        assert next(p for p in draft.placements if p.application_id == moved.application_id).pinned
        assert len(svc.versions(event)) == 1  # still one draft


# ---- hand edits -----------------------------------------------------------------------------------


def _setup_two_rooms(ids: dict[str, Any]) -> tuple[RoadshowSession, RoadshowSession]:
    a = add_session(ids, title="A厅", room="A厅", track="先进制造")
    b = add_session(ids, title="B厅", room="B厅", track="新能源")
    return a, b


@both
def test_hand_edits_detect_every_conflict_and_refuse_hard_ones(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        day = ids["days"][0]
        a, b = _setup_two_rooms(ids)
        sa, sb = svc.session_slots(a), svc.session_slots(b)
        shared = project(ids, 1, mobile="13711111111")
        twin = project(ids, 2, mobile="13711111111")  # same presenter, another project
        busy = project(ids, 3, unavailable=[[utc_iso(day, "14:45"), utc_iso(day, "15:00")]])
        energy = project(ids, 4, field="新能源")
        db.session.commit()
        svc.move_placement(event, shared, sa[0].id, actor=None)
        svc.move_placement(event, busy, sa[1].id, actor=None)
        db.session.commit()

        # presenter in two rooms at once
        with pytest.raises(svc.ScheduleError) as err:
            svc.move_placement(event, twin, sb[0].id, actor=None)
        assert scheduling.PRESENTER_OVERLAP in {c.code for c in err.value.conflicts}
        # a time they cannot make
        with pytest.raises(svc.ScheduleError) as err:
            svc.move_placement(event, busy, sa[3].id, actor=None)
        assert scheduling.UNAVAILABLE in {c.code for c in err.value.conflicts}
        # slot taken
        with pytest.raises(svc.ScheduleError) as err:
            svc.move_placement(event, twin, sa[0].id, actor=None)
        assert scheduling.SLOT_TAKEN in {c.code for c in err.value.conflicts}
        # a swap that would put busy at an impossible time
        svc.move_placement(event, twin, sa[3].id, actor=None)
        with pytest.raises(svc.ScheduleError) as err:
            svc.swap_placements(event, busy, twin, actor=None)
        assert scheduling.UNAVAILABLE in {c.code for c in err.value.conflicts}
        db.session.commit()
        # panel double booking: one judge on both rooms, both used at 14:00
        judge = make_user(Role.REVIEWER)
        svc.add_panel_member(a, judge, "judge", actor=None)
        svc.add_panel_member(b, judge, "judge", actor=None)
        db.session.commit()
        ctx = svc.edit_context(event)
        preview = svc.preview_move(ctx, energy.id, sb[0].id)
        assert [c.code for c in preview] == [scheduling.PANEL_DOUBLE_BOOKED] and preview[0].people == (str(judge.id),)
        with pytest.raises(svc.ScheduleError):
            svc.move_placement(event, energy, sb[0].id, actor=None)
        # a warning (track mismatch) is saved, and the project is pinned
        svc.remove_panel_member(b.panel[0], actor=None)
        warnings = svc.move_placement(event, energy, sa[2].id, actor=None)
        assert [c.code for c in warnings] == [scheduling.TRACK_MISMATCH]
        db.session.commit()
        draft = svc.get_draft(event)
        placed = {p.application_id: p for p in draft.placements}
        assert placed[energy.id].pinned and placed[energy.id].starts_at == sa[2].start
        assert placed[twin.id].starts_at == sa[3].start and placed[busy.id].starts_at == sa[1].start  # refusals changed nothing
        # out of the schedule
        svc.move_placement(event, energy, None, actor=None)
        db.session.commit()
        assert energy.id not in {p.application_id for p in svc.get_draft(event).placements}
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "roadshow_schedule.move")) is not None


@both
def test_session_time_change_moves_draft_placements_by_slot_number(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        a = add_session(ids)
        p1, p2 = project(ids, 1), project(ids, 2)
        svc.move_placement(event, p1, f"{a.id}:1", actor=None)
        svc.move_placement(event, p2, f"{a.id}:4", actor=None)
        db.session.commit()
        svc.save_session(event, session_data(ids, start_time="15:00", end_time="15:45"), actor=None, session=a)
        db.session.commit()
        draft = svc.get_draft(event)
        (kept,) = draft.placements
        assert kept.application_id == p1.id and kept.starts_at == shanghai(ids["days"][0].year, ids["days"][0].month, ids["days"][0].day, 15, 0)


# ---- publication ----------------------------------------------------------------------------------


@both
def test_publish_mails_ics_only_to_those_whose_slots_changed(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        a, b = _setup_two_rooms(ids)
        judge_a, judge_b = make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        svc.add_panel_member(a, judge_a, "judge", actor=None)
        svc.add_panel_member(b, judge_b, "judge", actor=None)
        p1 = project(ids, 1)
        p1.presenters = [*p1.presenters, {"name": "二号", "mobile": "13600000001", "email": "second@example.com", "position": ""}]
        p2 = project(ids, 2)
        p3 = project(ids, 3, field="新能源")
        db.session.commit()
        svc.auto_schedule(event, actor=None)
        draft = svc.get_draft(event)
        plan = svc.plan_publication(event, draft)
        assert len(plan.changed) == 3 and set(plan.panel) == {judge_a.id, judge_b.id}
        first = svc.publish(event, draft, actor=None)
        db.session.commit()
        assert first.version.status == ScheduleStatus.PUBLISHED.value and first.changed == 3
        mails = outbox()
        slot_mails = [m for m in mails if m.template == "roadshow_schedule_slot"]
        assert sorted(m.recipient for m in slot_mails) == sorted(
            ["contact1@example.com", "p1@example.com", "second@example.com", "contact2@example.com", "p2@example.com", "contact3@example.com", "p3@example.com"]
        )
        assert sorted(m.recipient for m in mails if m.template == "roadshow_schedule_panel") == sorted([judge_a.email, judge_b.email])
        published = {p.application_id: p for p in first.version.placements}
        p1_mail = next(m for m in slot_mails if m.recipient == "p1@example.com")
        cal = ics_of(p1_mail)
        assert str(cal["method"]) == "PUBLISH" and any(tz["tzid"] == "Asia/Shanghai" for tz in cal.walk("VTIMEZONE"))
        (item,) = vevents(cal)
        assert str(item["uid"]) == published[p1.id].uid and int(item["sequence"]) == 0
        assert item.decoded("dtstart") == published[p1.id].starts_at
        assert "项目1" in str(item["summary"]) and "A厅" in str(item["location"])
        assert "项目1" in p1_mail.body and "路演时间通知" in p1_mail.subject

        # a second publish with nothing changed mails nobody
        draft2 = svc.ensure_draft(event, actor=None)
        assert draft2.number == 2 and all(p.pinned for p in draft2.placements)
        again = svc.publish(event, draft2, actor=None)
        db.session.commit()
        assert again.mails == 0 and len(outbox()) == len(mails)
        assert first.version.status == ScheduleStatus.SUPERSEDED.value

        # move p2 within room A: only p2's presenters and room A's panel hear of it
        before = len(outbox())
        free = next(s for s in svc.session_slots(a) if s.start not in {p.starts_at for p in again.version.placements if p.session_id == a.id})
        svc.move_placement(event, p2, free.id, actor=None)
        draft3 = svc.get_draft(event)
        third = svc.publish(event, draft3, actor=None)
        db.session.commit()
        new = outbox()[before:]
        assert sorted(m.recipient for m in new) == sorted(["contact2@example.com", "p2@example.com", judge_a.email])
        p2_mail = next(m for m in new if m.recipient == "p2@example.com")
        (item,) = vevents(ics_of(p2_mail))
        assert str(item["uid"]) == published[p2.id].uid and int(item["sequence"]) == 1 and item.decoded("dtstart") == free.start
        assert "已调整" in p2_mail.subject
        panel_cal = ics_of(next(m for m in new if m.recipient == judge_a.email))
        (session_item,) = vevents(panel_cal)
        assert int(session_item["sequence"]) == third.version.number and "项目2" in str(session_item["description"])

        # take p3 out: a cancellation with the same UID and a higher SEQUENCE
        before = len(outbox())
        svc.move_placement(event, p3, None, actor=None)
        svc.publish(event, svc.get_draft(event), actor=None)
        db.session.commit()
        new = outbox()[before:]
        assert sorted(m.recipient for m in new) == sorted(["contact3@example.com", "p3@example.com", judge_b.email])
        cancel = next(m for m in new if m.recipient == "p3@example.com")
        assert cancel.template == "roadshow_schedule_cancelled"
        cal = ics_of(cancel)
        assert str(cal["method"]) == "CANCEL"
        (item,) = vevents(cal)
        assert str(item["uid"]) == published[p3.id].uid and str(item["status"]) == "CANCELLED" and int(item["sequence"]) == 1
        assert "text/calendar; method=CANCEL" in cancel.attachments[0].content_type

        # put it back later: same UID, SEQUENCE above the cancellation
        before = len(outbox())
        svc.move_placement(event, p3, svc.session_slots(b)[0].id, actor=None)
        svc.publish(event, svc.get_draft(event), actor=None)
        db.session.commit()
        back = next(m for m in outbox()[before:] if m.recipient == "p3@example.com")
        (item,) = vevents(ics_of(back))
        assert str(item["uid"]) == published[p3.id].uid and int(item["sequence"]) == 2
        statuses = [v.status for v in svc.versions(event)]
        assert statuses.count("published") == 1 and statuses.count("draft") == 0
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "roadshow_schedule.publish")) is not None


@both
def test_publish_refuses_a_draft_with_hard_conflicts_and_the_agenda_shows_only_the_published_version(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        a = add_session(ids)
        p1 = project(ids, 1)
        svc.move_placement(event, p1, svc.session_slots(a)[0].id, actor=None)
        db.session.commit()
        version, days = svc.public_agenda(event)
        assert version is None and days == []
        svc.publish(event, svc.get_draft(event), actor=None)
        db.session.commit()
        # a new draft moves it; the agenda still shows the published slot
        svc.move_placement(event, p1, svc.session_slots(a)[2].id, actor=None)
        db.session.commit()
        version, days = svc.public_agenda(event)
        ((day, (entry,)),) = days
        assert entry.placements[0].starts_at == svc.session_slots(a)[0].start
        # a presenter's new unavailability makes the draft unpublishable until fixed
        d = ids["days"][0]
        p1.unavailable = [[utc_iso(d, "14:30"), utc_iso(d, "14:45")]]
        db.session.commit()
        with pytest.raises(svc.ScheduleError) as err:
            svc.publish(event, svc.get_draft(event), actor=None)
        assert scheduling.UNAVAILABLE in {c.code for c in err.value.conflicts}


@both
@pytest.mark.parametrize("before_read", [1, 2, 3])
def test_two_hosts_opening_a_draft_at_once_share_one_draft(make_app, backend, before_read):  # noqa: ANN001
    """Another host opens the draft (a pinned copy of the published schedule) and commits just
    before this host's first, second or third read of the versions: one draft, used by both."""
    app = make_app()
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        a = add_session(ids)
        p1 = project(ids, 1)
        svc.move_placement(event, p1, svc.session_slots(a)[0].id, actor=None)
        svc.publish(event, svc.get_draft(event), actor=None)
        db.session.commit()
        event_id, project_id = event.id, p1.id
    theirs: list[int] = []

    def other_host() -> None:
        theirs.append(svc.ensure_draft(db.session.get(Event, event_id)).id)

    with other_commits_before_read(app, "roadshow_schedule_versions", before_read, other_host) as run_other_if_not_yet, app.app_context():
        mine = svc.ensure_draft(db.session.get(Event, event_id)).id
        db.session.commit()
        run_other_if_not_yet()
        assert theirs == [mine]
        drafts = [v for v in svc.versions(db.session.get(Event, event_id)) if v.status == ScheduleStatus.DRAFT.value]
        assert [d.number for d in drafts] == [2]
        assert [(p.application_id, p.pinned) for p in drafts[0].placements] == [(project_id, True)]


@both
def test_a_session_in_the_published_schedule_cannot_be_deleted(app, backend):
    with app.app_context():
        ids = roadshow_event()
        event = the_event(ids)
        a = add_session(ids)
        spare = add_session(ids, title="备用", room="备用厅")
        p1 = project(ids, 1)
        svc.move_placement(event, p1, svc.session_slots(a)[0].id, actor=None)
        svc.publish(event, svc.get_draft(event), actor=None)
        db.session.commit()
        with pytest.raises(svc.ScheduleError):
            svc.delete_session(event, a, actor=None)
        svc.delete_session(event, spare, actor=None)
        db.session.commit()
        assert [s.title for s in svc.sessions_of(event)] == ["新能源专场"]
