"""Plan-deadline and detailed-plan reminders on real databases, with explicit ``now``.

Thresholds 14/3/1 days (then one "late" for detailed plans), only the most urgent one after
downtime, never again once sent (outbox keys), nothing after submission, extensions respected,
nothing for non-enterprise bases.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from eventhub.bases.models import BaseType
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import end_of_day, shanghai
from eventhub.events.models import DetailPlan, DetailPlanStatus, EventStatus
from eventhub.events.reminders import reminder_stage, send_detail_plan_reminders
from eventhub.extensions import db
from eventhub.plans import calls
from eventhub.plans.models import PlanStatus, PreliminaryPlan
from eventhub.plans.reminders import due_threshold, recipient_digest, send_plan_reminders
from eventhub.plans.services import call_key
from tests.event_helpers import host_of, make_event
from tests.factories import make_base, make_user

DEADLINE = end_of_day(date(2027, 6, 30))  # 2027-06-30 23:59:59 Beijing
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def keys(prefix: str) -> list[str]:
    return sorted(db.session.scalars(select(MailMessage.key).where(MailMessage.key.startswith(prefix))))


def stages(prefix: str) -> list[str]:
    """The distinct stage parts (``14``, ``3``, ``1``, ``late``) of keys ``{prefix}{stage}:{hash}``."""
    return sorted({key.removeprefix(prefix).split(":")[0] for key in keys(prefix)}, key=lambda s: (s == "late", -int(s) if s.isdigit() else 0))


def make_campaign(status: CampaignStatus = CampaignStatus.PLANNING) -> Campaign:
    campaign = Campaign(year=2027, title="2027 年“融通创新”主题日", plan_deadline=DEADLINE, status=status.value)
    db.session.add(campaign)
    db.session.flush()
    return campaign


@pytest.fixture
def planning(app):
    with app.app_context():
        campaign = make_campaign()
        base = make_base("中国华润有限公司", short_name="华润", contact_email="contact@huarun.example.com")
        make_user(Role.HOST, base=base, email="host@huarun.example.com")
        db.session.commit()
        yield {"campaign": campaign, "base": base, "prefix": f"plan-reminder:{campaign.id}:{base.id}:"}


def test_due_threshold_picks_the_most_urgent_reached():
    assert due_threshold(DEADLINE, DEADLINE - 15 * DAY) is None
    assert due_threshold(DEADLINE, DEADLINE - 14 * DAY) == 14
    assert due_threshold(DEADLINE, DEADLINE - 4 * DAY) == 14
    assert due_threshold(DEADLINE, DEADLINE - 3 * DAY) == 3
    assert due_threshold(DEADLINE, DEADLINE - 2 * HOUR) == 1
    assert due_threshold(DEADLINE, DEADLINE) == 1
    assert due_threshold(DEADLINE, DEADLINE + timedelta(seconds=1)) is None


def test_plan_reminders_14_3_1_once_each_to_every_recipient(planning):
    prefix = planning["prefix"]
    send_plan_reminders(now=DEADLINE - 20 * DAY)
    assert keys(prefix) == []

    summary = send_plan_reminders(now=DEADLINE - 14 * DAY + HOUR)
    assert "2 mail(s) queued" in summary
    assert stages(prefix) == ["14"]
    rows = db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(prefix))).all()
    assert sorted(m.recipient for m in rows) == ["contact@huarun.example.com", "host@huarun.example.com"]
    assert {m.key for m in rows} == {f"{prefix}14:{recipient_digest(m.recipient)}" for m in rows}
    message = rows[0]
    assert "2027-06-30 23:59" in message.body and "北京时间" in message.body
    assert "/plans/" in message.body and message.body.count("http") >= 1
    assert "初步计划" in message.subject
    assert message.html_body and "2027-06-30 23:59" in message.html_body

    for now in (DEADLINE - 14 * DAY + 2 * HOUR, DEADLINE - 5 * DAY):  # reruns, a caught-up run: nothing new
        assert "0 mail(s) queued" in send_plan_reminders(now=now)
    assert len(keys(prefix)) == 2

    send_plan_reminders(now=DEADLINE - 3 * DAY + HOUR)
    send_plan_reminders(now=DEADLINE - 3 * DAY + 2 * HOUR)
    send_plan_reminders(now=DEADLINE - HOUR)
    send_plan_reminders(now=DEADLINE + HOUR)  # after the deadline: nothing
    send_plan_reminders(now=DEADLINE + 3 * DAY)
    assert stages(prefix) == ["14", "3", "1"]
    assert len(keys(prefix)) == 6


def test_after_downtime_only_the_most_urgent_reminder_and_never_the_skipped_ones(planning):
    prefix = planning["prefix"]
    send_plan_reminders(now=DEADLINE - 12 * HOUR)  # the scheduler was down for the 14- and 3-day marks
    assert stages(prefix) == ["1"]
    send_plan_reminders(now=DEADLINE - 11 * HOUR)
    send_plan_reminders(now=DEADLINE - HOUR)
    assert stages(prefix) == ["1"]
    assert len(keys(prefix)) == 2


def test_no_reminder_once_submitted_and_none_for_other_base_types(planning):
    campaign = planning["campaign"]
    submitted = make_base("中国石油天然气集团", short_name="中石油", contact_email="cnpc@example.com")
    draft = make_base("国家电网有限公司", short_name="国网", contact_email="sgcc@example.com")
    region = make_base("深圳市南山区", BaseType.REGION, short_name="南山", contact_email="ns@example.com")
    university = make_base("清华大学", BaseType.UNIVERSITY, short_name="清华", contact_email="thu@example.com")
    make_user(Role.HOST, base=region)
    db.session.add(PreliminaryPlan(campaign_id=campaign.id, base_id=submitted.id, status=PlanStatus.SUBMITTED.value))
    db.session.add(PreliminaryPlan(campaign_id=campaign.id, base_id=draft.id, status=PlanStatus.DRAFT.value))
    db.session.commit()

    send_plan_reminders(now=DEADLINE - 2 * DAY)
    assert keys(f"plan-reminder:{campaign.id}:{submitted.id}:") == []
    assert keys(f"plan-reminder:{campaign.id}:{region.id}:") == []
    assert keys(f"plan-reminder:{campaign.id}:{university.id}:") == []
    assert stages(f"plan-reminder:{campaign.id}:{draft.id}:") == ["3"]
    assert stages(planning["prefix"]) == ["3"]


def test_extension_moves_the_reminders_of_that_base_only(planning):
    campaign = planning["campaign"]
    extended = make_base("中国中化控股", short_name="中化", contact_email="sinochem@example.com")
    organiser = make_user(Role.ORGANISER)
    db.session.commit()
    calls.grant_extension(call_key(campaign), extended.id, DEADLINE + 10 * DAY, "设备检修", organiser, now=DEADLINE - 20 * DAY)
    db.session.commit()
    ext_prefix = f"plan-reminder:{campaign.id}:{extended.id}:"

    send_plan_reminders(now=DEADLINE - 12 * HOUR)
    assert stages(planning["prefix"]) == ["1"]
    assert stages(ext_prefix) == ["14"]  # 10.5 days left on the extension
    mail = db.session.scalar(select(MailMessage).where(MailMessage.key.startswith(ext_prefix)))
    assert "2027-07-10 23:59" in mail.body and "延期" in mail.body

    send_plan_reminders(now=DEADLINE + 8 * DAY)  # general deadline passed, extension not yet
    send_plan_reminders(now=DEADLINE + 9 * DAY + 12 * HOUR)
    send_plan_reminders(now=DEADLINE + 11 * DAY)
    assert stages(ext_prefix) == ["14", "3", "1"]
    assert stages(planning["prefix"]) == ["1"]


def test_campaigns_outside_planning_send_nothing(app):
    with app.app_context():
        campaign = make_campaign(CampaignStatus.SELECTION)
        base = make_base(contact_email="x@example.com")
        db.session.commit()
        assert "0 campaign(s)" in send_plan_reminders(now=DEADLINE - DAY)
        assert keys(f"plan-reminder:{campaign.id}:{base.id}:") == []


# ---- detailed plans ------------------------------------------------------------------------


@pytest.fixture
def event(app):
    with app.app_context():
        event = make_event("华润", start=date(2027, 9, 15))
        host_of(event)
        db.session.commit()
        yield event


def test_detail_plan_reminders_14_3_1_then_once_late(event):
    prefix = f"detail-plan-reminder:{event.id}:"
    due = event.detail_plan_due
    assert due == shanghai(2027, 8, 16)
    send_detail_plan_reminders(now=due - 20 * DAY)
    assert keys(prefix) == []
    for now in (due - 13 * DAY, due - 12 * DAY, due - 2 * DAY, due - HOUR, due + HOUR, due + 2 * DAY, due + 20 * DAY):
        send_detail_plan_reminders(now=now)
    assert stages(prefix) == ["14", "3", "1", "late"]
    assert len(keys(prefix)) == 8  # two recipients (host user, base contact) per stage

    late = db.session.scalar(select(MailMessage).where(MailMessage.key.startswith(f"{prefix}late:")))
    assert "逾期" in late.subject and "华润融通创新主题日活动方案" in late.subject
    assert "2027-08-16 00:00" in late.body and "2027-09-15" in late.body
    assert "http://" in late.body or "https://" in late.body


def test_detail_plan_reminders_stop_on_submission_and_for_withdrawn_events(event):
    draft_event = make_event("国网", start=date(2027, 9, 20))
    submitted_event = make_event("中石油", start=date(2027, 9, 22))
    changes_event = make_event("中化", start=date(2027, 9, 24))
    withdrawn_event = make_event("招商", start=date(2027, 9, 26), status=EventStatus.WITHDRAWN)
    db.session.add(DetailPlan(event=draft_event, status=DetailPlanStatus.DRAFT.value))
    db.session.add(DetailPlan(event=submitted_event, status=DetailPlanStatus.SUBMITTED.value, submitted_at=shanghai(2027, 8, 1)))
    db.session.add(DetailPlan(event=changes_event, status=DetailPlanStatus.CHANGES_REQUESTED.value, submitted_at=shanghai(2027, 8, 1)))
    db.session.commit()

    send_detail_plan_reminders(now=shanghai(2027, 8, 20, 12))
    assert stages(f"detail-plan-reminder:{event.id}:") == ["late"]
    assert stages(f"detail-plan-reminder:{draft_event.id}:") == ["1"]
    assert keys(f"detail-plan-reminder:{submitted_event.id}:") == []
    assert keys(f"detail-plan-reminder:{changes_event.id}:") == []
    assert keys(f"detail-plan-reminder:{withdrawn_event.id}:") == []


def test_no_late_reminder_once_the_theme_day_has_begun(event):
    assert reminder_stage(event, shanghai(2027, 9, 14, 23, 59)) == "late"
    assert reminder_stage(event, shanghai(2027, 9, 15)) is None
    send_detail_plan_reminders(now=shanghai(2027, 9, 15, 8))
    assert keys(f"detail-plan-reminder:{event.id}:") == []


def test_detail_plan_reminder_goes_out_in_the_recipients_language(event):
    english = host_of(event)
    english.locale = "en"
    db.session.commit()
    send_detail_plan_reminders(now=event.detail_plan_due - 2 * DAY)
    by_recipient = {m.recipient: m for m in db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"detail-plan-reminder:{event.id}:3:")))}
    assert len(by_recipient) == 3
    assert by_recipient[english.email].locale == "en"
    assert by_recipient["华润@example.com"].locale.startswith("zh")
