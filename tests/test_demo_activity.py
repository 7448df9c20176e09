"""Demo activity on the approved theme day: registrations with tickets, check-ins and a published road show."""

from __future__ import annotations

from sqlalchemy import func, select

from eventhub.auth.models import User
from eventhub.checkin.models import Checkin, CheckinStaff
from eventhub.core.validators import check_uscc
from eventhub.demo import activity
from eventhub.demo import services as demo
from eventhub.events.models import DetailPlanStatus, Event
from eventhub.extensions import db
from eventhub.registration.models import Registration, Ticket
from eventhub.roadshow.models import ProjectApplication


def _count(model) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_uscc_codes_are_valid():
    assert all(check_uscc(activity.demo_uscc(n)) == activity.demo_uscc(n) for n in range(1, 120))


def test_demo_load_shows_registrations_checkin_and_roadshow(app, client):
    with app.app_context():
        lines: list[str] = []
        demo.load_demo(False, lines.append)
        # 华润's theme day: the upcoming approved one (the past theme day is approved too)
        event = next(e for e in db.session.scalars(select(Event).order_by(Event.id)) if e.detail_plan.status == DetailPlanStatus.APPROVED.value)
        event_id = event.id
        rows = list(db.session.scalars(select(Registration).where(Registration.event_id == event_id)))
        assert len(rows) == len(activity.PEOPLE)
        confirmed = [r for r in rows if r.status == "confirmed"]
        assert len(confirmed) == len(activity.PEOPLE) - 1 and all(r.ticket is not None for r in confirmed)
        assert [r.status for r in rows].count("cancelled") == 1
        assert len({r.org_type for r in rows}) >= 6
        assert db.session.scalar(select(func.count()).select_from(Checkin).where(Checkin.event_id == event_id)) == activity.CHECKED_IN
        staff = db.session.scalar(select(CheckinStaff).where(CheckinStaff.event_id == event_id))
        assert staff.gate == "东门" and db.session.get(User, staff.user_id).email == activity.CHECKIN_EMAIL
        statuses = [a.status for a in db.session.scalars(select(ProjectApplication).order_by(ProjectApplication.id))]
        assert statuses.count("shortlisted") == activity.SHORTLISTED and len(statuses) == len(activity.PROJECTS)
        assert any("已签到" in line for line in lines)
        counts = (_count(Registration), _count(Ticket), _count(Checkin), _count(ProjectApplication))
    html = client.get(f"/theme-days/{event_id}/roadshow").get_data(as_text=True)
    assert activity.PROJECTS[0][2] in html and "二号厅" in html
    assert activity.PROJECTS[4][2] not in html  # not shortlisted, not on the agenda
    with app.app_context():
        demo.load_demo(False, lambda _line: None)
        assert (_count(Registration), _count(Ticket), _count(Checkin), _count(ProjectApplication)) == counts
