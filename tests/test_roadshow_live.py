"""Live road shows through the judging engine: the event's rubric round follows the published
schedule and the panels, a panel judge's sheet is saved and counted, conflicts are honoured;
leads are created once per project and person (also under real concurrency, on SQLite and
PostgreSQL) and mailed once; results are ranked per session and published. Real database, real
outbox; the schedule is written as published ``ScheduleVersion`` / ``Placement`` rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import shanghai, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.judging.models import Assignment, JudgeAffiliation
from eventhub.registration import services as rs
from eventhub.registration.models import Registration
from eventhub.roadshow import calls, live
from eventhub.roadshow.models import (
    MatchmakingLead,
    PanelMember,
    Placement,
    ProjectApplication,
    RoadshowSession,
    ScheduleVersion,
)
from tests.concurrency import run_concurrently
from tests.factories import make_base, make_user
from tests.test_roadshow_calls import call_event, submit, the_call

POOL = {"pool_size": 20, "max_overflow": 10, "pool_timeout": 60, "pool_pre_ping": True}


def add_session(event: Event, title: str, *, room: str = "一号路演厅", day_index: int = 0) -> RoadshowSession:
    from datetime import time

    session = RoadshowSession(
        event_id=event.id,
        title=title,
        room=room,
        day=event.start_date + timedelta(days=day_index),
        start_time=time(9, 0),
        end_time=time(12, 0),
        slot_minutes=15,
    )
    db.session.add(session)
    db.session.flush()
    return session


def seat(session: RoadshowSession, user: User, role: str = "judge") -> PanelMember:
    member = PanelMember(session_id=session.id, user_id=user.id, role=role)
    db.session.add(member)
    db.session.flush()
    return member


def publish(event: Event, layout: dict[int, list[ProjectApplication]]) -> ScheduleVersion:
    """Publish a new schedule version: ``layout`` maps session id → projects in slot order (the
    previous published version, if any, is superseded, as the schedule service does)."""
    previous = live.published_version(event)
    number = 1
    if previous is not None:
        previous.status = "superseded"
        number = previous.number + 1
    version = ScheduleVersion(event_id=event.id, number=number, status="published", published_at=utcnow())
    db.session.add(version)
    db.session.flush()
    for session_id, apps in layout.items():
        session = db.session.get(RoadshowSession, session_id)
        for index, application in enumerate(apps):
            start = shanghai(session.day.year, session.day.month, session.day.day, 9, 0) + timedelta(minutes=15 * index)
            db.session.add(
                Placement(version_id=version.id, application_id=application.id, session_id=session_id, starts_at=start, ends_at=start + timedelta(minutes=15))
            )
    db.session.flush()
    return version


def scene(projects: int = 3, judges: int = 3) -> dict[str, Any]:
    """An event with an open call, ``projects`` shortlisted applications, one session with
    ``judges`` reviewer judges and one investor (a participant), and a published schedule."""
    ids = call_event()
    apps = []
    for n in range(projects):
        application, _token = submit(ids, n)
        calls.screen(application, "shortlist", "", None)
        apps.append(application)
    call = the_call(ids)
    event = call.event
    session = add_session(event, "新能源专场")
    panel = [make_user(Role.REVIEWER) for _ in range(judges)]
    for judge in panel:
        seat(session, judge)
    investor = make_user(Role.PARTICIPANT)
    seat(session, investor, "investor")
    publish(event, {session.id: apps})
    db.session.commit()
    return {
        **ids,
        "event": event,
        "session": session,
        "apps": apps,
        "judges": panel,
        "investor": investor,
    }


def assigned(application: ProjectApplication) -> set[int]:
    event = application.event
    rnd = live.live_round(event)
    item = next(i for i in rnd.items if i.ref_id == application.id)
    return {a.judge_id for a in item.assignments if a.status == "assigned"}


def score(s: dict[str, Any], judge: User, application: ProjectApplication, value: float, *, submit: bool = True) -> Any:
    rnd = live.live_round(s["event"])
    values = {c.id: value for c in rnd.criteria}
    return live.save_score(s["session"], application, judge, values, {}, "", submit)


# ---- the rubric round follows the published schedule --------------------------------------


def test_sync_creates_the_event_round_with_default_rubric_and_assigns_the_session_judges(app):
    with app.app_context():
        s = scene()
        report = live.sync_live_round(s["event"], None)
        db.session.commit()
        rnd = live.live_round(s["event"])
        assert rnd.key == f"roadshow-live:{s['event_id']}"
        assert the_call(s).live_round_id == rnd.id
        assert [c.name for c in rnd.criteria] == ["技术先进性", "市场前景", "团队能力", "与承办方产业链契合度"]
        assert sorted(i.ref_id for i in rnd.items if i.active) == sorted(a.id for a in s["apps"])
        assert all(i.ref_type == "roadshow_application" for i in rnd.items)
        judge_ids = {j.id for j in s["judges"]}
        for application in s["apps"]:
            assert assigned(application) == judge_ids  # the investor is not a judge
        assert len(report.assigned) == 9 and report.skipped == []
        # idempotent: nothing changes, nothing audited again
        audits = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_live.sync"))
        again = live.sync_live_round(s["event"], None)
        db.session.commit()
        assert not again.changed
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_live.sync")) == audits == 1


def test_sync_honours_conflicts_and_refuses_accounts_that_are_not_reviewers(app):
    with app.app_context():
        s = scene(projects=2, judges=2)
        # the first project's organisation is itself a demonstration base; one judge is tied to it
        target = s["apps"][0]
        s["apps"][1].org_name = "另一家科技有限公司"
        base = make_base(target.org_name, short_name="精测")
        tied = s["judges"][0]
        db.session.add(JudgeAffiliation(user_id=tied.id, base_id=base.id))
        # a panel "judge" whose account is a participant cannot score through the engine
        outsider = make_user(Role.PARTICIPANT)
        seat(s["session"], outsider, "judge")
        db.session.commit()
        report = live.sync_live_round(s["event"], None)
        db.session.commit()
        assert tied.id not in assigned(target)
        assert tied.id in assigned(s["apps"][1])
        assert outsider.id not in assigned(target) | assigned(s["apps"][1])
        reasons = {(k.application.id, k.judge.id): k.reason for k in report.skipped}
        assert "利益冲突" in reasons[(target.id, tied.id)]
        assert "评审专家" in reasons[(target.id, outsider.id)]


def test_moving_a_project_to_another_session_moves_open_assignments_but_keeps_submitted_sheets(app):
    with app.app_context():
        s = scene(projects=2, judges=2)
        live.sync_live_round(s["event"], None)
        live.start_live_scoring(s["event"], None)
        db.session.commit()
        moved = s["apps"][0]
        first, second = s["judges"]
        score(s, first, moved, 8)  # submitted: stands
        db.session.commit()
        other = add_session(s["event"], "先进制造专场", room="二号路演厅")
        newcomer = make_user(Role.REVIEWER)
        seat(other, newcomer)
        publish(s["event"], {s["session"].id: [s["apps"][1]], other.id: [moved]})
        report = live.sync_live_round(s["event"], None)
        db.session.commit()
        assert (moved.id, second.id) in report.removed
        assert assigned(moved) == {first.id, newcomer.id}  # the submitted sheet's judge stays
        rnd = live.live_round(s["event"])
        assert live.results_by_session(s["event"])[1].rows[0].result.submitted == 1
        # a project no longer placed becomes inactive, its assignments are kept
        publish(s["event"], {s["session"].id: [s["apps"][1]]})
        live.sync_live_round(s["event"], None)
        db.session.commit()
        item = next(i for i in rnd.items if i.ref_id == moved.id)
        assert item.active is False and len(item.assignments) == 2


# ---- scoring -----------------------------------------------------------------------------------


def test_a_panel_judge_scores_through_the_engine_and_the_sheet_counts_in_aggregate(app):
    with app.app_context():
        s = scene(projects=3, judges=2)
        live.sync_live_round(s["event"], None)
        db.session.commit()
        a, b, c = s["apps"]
        j1, j2 = s["judges"]
        with pytest.raises(judging.JudgingError, match="尚未开始"):
            score(s, j1, a, 8)
        db.session.rollback()
        live.start_live_scoring(s["event"], None)
        db.session.commit()
        with pytest.raises(live.LiveError):
            live.start_live_scoring(s["event"], None)
        # a draft does not count; the submitted sheet does
        sheet = score(s, j1, a, 9, submit=False)
        db.session.commit()
        assert sheet.status == "draft"
        assert judging.progress(live.live_round(s["event"])) == (0, 6)
        for judge, values in ((j1, (9, 7, 5)), (j2, (8, 6, 7))):
            for application, value in zip((a, b, c), values, strict=True):
                score(s, judge, application, value)
        db.session.commit()
        rnd = live.live_round(s["event"])
        assert judging.progress(rnd) == (6, 6)
        results = {r.item.ref_id: r for r in judging.aggregate(rnd)}
        assert results[a.id].raw_mean == pytest.approx(8.5)
        assert results[a.id].submitted == 2
        block = live.results_by_session(s["event"])[0]
        # normalised: b and c tie (each one judge's middle and one's lowest); the engine's tie rule puts b (raw 6.5) before c (raw 6)
        assert [r.application.id for r in block.rows] == [a.id, b.id, c.id]
        assert [r.rank for r in block.rows] == [1, 2, 3]
        assert [r.tie for r in block.rows] == [False, True, True]
        assert (block.submitted, block.expected) == (6, 6)
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "judging.sheet_submit")) == 6


def test_a_reviewer_not_on_the_panel_and_an_investor_are_refused(app):
    with app.app_context():
        s = scene(projects=1, judges=1)
        live.sync_live_round(s["event"], None)
        live.start_live_scoring(s["event"], None)
        db.session.commit()
        stranger = make_user(Role.REVIEWER)
        db.session.commit()
        with pytest.raises(live.LiveError, match="只有本场次的评委"):
            score(s, stranger, s["apps"][0], 8)
        with pytest.raises(live.LiveError, match="只有本场次的评委"):
            score(s, s["investor"], s["apps"][0], 8)
        # a judge of another session cannot score this session's pitch either
        other = add_session(s["event"], "另一场")
        elsewhere = make_user(Role.REVIEWER)
        seat(other, elsewhere)
        db.session.commit()
        with pytest.raises(live.LiveError):
            live.save_score(other, s["apps"][0], elsewhere, {}, {}, "", True)
        assert live.assignment_for(s["event"], s["apps"][0], stranger) is None


def test_a_declared_conflict_is_kept_and_never_reassigned_or_scored(app):
    with app.app_context():
        s = scene(projects=2, judges=2)
        live.sync_live_round(s["event"], None)
        live.start_live_scoring(s["event"], None)
        db.session.commit()
        a = s["apps"][0]
        j1, j2 = s["judges"]
        score(s, j1, a, 7, submit=False)
        result = live.declare_conflict(s["session"], a, j1, "曾任该企业技术顾问")
        db.session.commit()
        assert result.replacement is None  # the only other panel judge already scores it
        assignment = live.assignment_for(s["event"], a, j1)
        assert assignment.status == "conflict" and assignment.sheet is None
        with pytest.raises(judging.JudgingError, match="利益冲突"):
            score(s, j1, a, 8)
        db.session.rollback()
        report = live.sync_live_round(s["event"], None)
        db.session.commit()
        assert not report.changed and assigned(a) == {j2.id}
        assert any(k.judge.id == j1.id and "声明" in k.reason for k in report.skipped)


def test_scoring_opens_by_itself_on_the_road_show_day(app):
    with app.app_context():
        s = scene(projects=1, judges=1)
        live.sync_live_round(s["event"], None)
        db.session.commit()
        day = s["session"].day
        assert not live.open_scoring_if_due(s["event"], now=shanghai(day.year, day.month, day.day) - timedelta(minutes=1))
        assert live.open_scoring_if_due(s["event"], now=shanghai(day.year, day.month, day.day, 8, 0))
        assert live.live_round(s["event"]).status == "scoring"


# ---- leads ---------------------------------------------------------------------------------------


def registration(event: Event, n: int = 0, status: str = "confirmed") -> tuple[Registration, str]:
    token = rs.new_token()
    row = Registration(
        event_id=event.id,
        name=f"王投资{n}",
        organisation=f"华创资本{n}",
        org_type="investor",
        mobile=f"1360000{n:04d}",
        email=f"investor{n}@example.com",
        status=status,
        token_hash=rs.hash_token(token),
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def lead_mails(application: ProjectApplication) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"roadshow-lead:{application.id}:"))))


def test_an_investor_marks_interest_once_and_the_project_is_mailed_once(app):
    with app.app_context():
        s = scene(projects=2, judges=1)
        a = s["apps"][0]
        lead = live.mark_interest(a, user=s["investor"], note="关注中试计划")
        db.session.commit()
        again = live.mark_interest(a, user=s["investor"], note="第二次点击")
        db.session.commit()
        assert again.id == lead.id and again.note == "关注中试计划"
        assert db.session.scalar(select(func.count()).select_from(MatchmakingLead)) == 1
        mails = lead_mails(a)
        assert len(mails) == 1 and mails[0].recipient == a.contact_email
        assert s["investor"].name in mails[0].subject and "关注中试计划" in mails[0].body
        assert lead.interested_email == s["investor"].email and lead.event_id == s["event_id"]
        assert [x.id for x in live.leads_of_application(a)] == [lead.id]
        assert [x.application_id for x in live.leads_of_user(s["event"], s["investor"])] == [a.id]
        with pytest.raises(live.LiveError, match="最多"):
            live.mark_interest(s["apps"][1], user=s["investor"], note="长" * 501)


def test_a_confirmed_registrant_marks_interest_and_others_are_refused(app):
    with app.app_context():
        s = scene(projects=2, judges=1)
        a, b = s["apps"]
        reg, _token = registration(s["event"])
        pending, _t = registration(s["event"], 1, status="pending")
        db.session.commit()
        lead = live.mark_interest(a, registration=reg)
        db.session.commit()
        assert (lead.registration_id, lead.user_id, lead.interested_org) == (reg.id, None, reg.organisation)
        assert live.mark_interest(a, registration=reg).id == lead.id
        with pytest.raises(live.LiveError, match="报名确认后"):
            live.mark_interest(b, registration=pending)
        other = call_event()
        stranger, _t2 = registration(db.session.get(Event, other["event_id"]), 2)
        with pytest.raises(live.LiveError, match="本次活动"):
            live.mark_interest(b, registration=stranger)
        unplaced, _tok = submit(s, 9)
        with pytest.raises(live.LiveError, match="已发布的路演日程"):
            live.mark_interest(unplaced, registration=reg)
        # the same person by account and by registration are two leads (two kinds of person)
        live.mark_interest(a, user=s["investor"])
        db.session.commit()
        assert len(live.leads_of_application(a)) == 2 and len(lead_mails(a)) == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_simultaneous_clicks_make_one_lead_and_one_mail(make_app):  # noqa: ANN001
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)
    with app.app_context():
        s = scene(projects=1, judges=1)
        reg, _token = registration(s["event"])
        db.session.commit()
        app_id, user_id, reg_id = s["apps"][0].id, s["investor"].id, reg.id

    def by_user() -> int:
        lead = live.mark_interest(db.session.get(ProjectApplication, app_id), user=db.session.get(User, user_id), note="并发")
        db.session.commit()
        return lead.id

    def by_registration() -> int:
        lead = live.mark_interest(db.session.get(ProjectApplication, app_id), registration=db.session.get(Registration, reg_id))
        db.session.commit()
        return lead.id

    results, errors = run_concurrently(app, [by_user] * 6 + [by_registration] * 6)
    assert errors == []
    with app.app_context():
        leads = list(db.session.scalars(select(MatchmakingLead).order_by(MatchmakingLead.id)))
        assert [(x.user_id, x.registration_id) for x in leads] == [(user_id, None), (None, reg_id)] or [(x.user_id, x.registration_id) for x in leads] == [
            (None, reg_id),
            (user_id, None),
        ]
        assert sorted(set(results)) == sorted(x.id for x in leads) and len(results) == 12
        assert len(lead_mails(db.session.get(ProjectApplication, app_id))) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_lead.create")) == 2


def test_leads_export_has_both_sides_and_is_audited(app):
    with app.app_context():
        s = scene(projects=1, judges=1)
        live.mark_interest(s["apps"][0], user=s["investor"], note='=HYPERLINK("x")')
        db.session.commit()
        import io

        import openpyxl

        rows = list(db.session.scalars(live.event_leads_query(s["event"])))
        content = live.export_leads_xlsx(s["event"], rows, None)
        db.session.commit()
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        values = [c.value for c in sheet[2]]
        assert s["apps"][0].project_name in values and s["apps"][0].contact_mobile in values and s["investor"].email in values
        assert values[-1].startswith("'=")  # formula-safe
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_lead.export")) == 1


# ---- results and publication -----------------------------------------------------------------


def test_awards_and_publication(app):
    with app.app_context():
        s = scene(projects=2, judges=1)
        a, b = s["apps"]
        assert live.winners(s["event"]) is None
        with pytest.raises(live.LiveError, match="设置奖项"):
            live.publish_results(s["event"], None)
        unplaced, _t = submit(s, 7)
        changed = live.set_awards(s["event"], {a.id: " 一等奖 ", b.id: "", unplaced.id: "特等奖"}, None)
        db.session.commit()
        assert changed == 1 and a.award == "一等奖" and unplaced.award == ""
        assert live.winners(s["event"]) is None  # not yet published
        live.publish_results(s["event"], None)
        db.session.commit()
        assert the_call(s).results_published_at is not None
        winners = live.winners(s["event"])
        assert [(w.application.id, w.award, w.session.id) for w in winners] == [(a.id, "一等奖", s["session"].id)]
        with pytest.raises(live.LiveError):
            live.publish_results(s["event"], None)
        live.unpublish_results(s["event"], None)
        db.session.commit()
        assert live.winners(s["event"]) is None
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.action.startswith("roadshow_live."))))
        assert {"roadshow_live.awards", "roadshow_live.publish", "roadshow_live.unpublish"} <= actions


def test_assignments_are_engine_rows(app):
    """The live round is an ordinary engine round: its assignments are the engine's rows."""
    with app.app_context():
        s = scene(projects=1, judges=2)
        live.sync_live_round(s["event"], None)
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Assignment))
        assert count == 2
        assert all(judging.is_assigned(j, "roadshow_application", s["apps"][0].id) for j in s["judges"])
