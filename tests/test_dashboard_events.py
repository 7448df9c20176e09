"""Home pages point at the detailed-plan work: the host's theme days with their due time, the
organiser's plans awaiting review and failed mail."""

from __future__ import annotations

from datetime import timedelta

from eventhub.core.mail import MailStatus, queue_mail
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.events import detail_plans as dp
from eventhub.extensions import db
from tests.factories import fill_detail_plan, login, make_scheduled_event, make_user


def _upcoming_event():  # noqa: ANN202
    return make_scheduled_event(to_shanghai(utcnow()).date() + timedelta(days=60))


def test_host_home_lists_its_theme_day_with_the_due_time(app, client):
    with app.app_context():
        event = _upcoming_event()
        host = make_user(Role.HOST, base=event.host_base)
        other = make_scheduled_event(to_shanghai(utcnow()).date() + timedelta(days=70), short_name="中油")
        db.session.commit()
        email, title, other_title, event_id = host.email, event.title, other.title, event.id
    login(client, email)
    html = client.get("/").get_data(as_text=True)
    assert title in html and f"/events/{event_id}/plan" in html and "活动方案截止" in html
    assert other_title not in html  # another base's theme day


def test_organiser_home_flags_plans_to_review_and_failed_mail(app, client):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        email = organiser.email
    login(client, email)
    assert 'id="attention"' not in client.get("/").get_data(as_text=True)
    with app.app_context():
        event = _upcoming_event()
        host = make_user(Role.HOST, base=event.host_base)
        plan = fill_detail_plan(event, host)
        dp.submit(plan, host)
        message = queue_mail("x@example.com", "主题", "正文")
        message.status = MailStatus.FAILED.value
        db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "1 份活动方案待审核" in html and "status=submitted" in html
    assert "1 封邮件发送失败" in html and "status=failed" in html
