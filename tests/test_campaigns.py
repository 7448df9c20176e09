"""Campaign rules (services): defaults from the notice, one per year, limits in order, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eventhub.campaigns import services
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.audit import AuditLog
from eventhub.core.timeutil import shanghai
from eventhub.extensions import db
from tests.factories import make_user


def _create(**values):
    return services.create_campaign({"year": 2026, "title": "2026 年主题日", **values})


def test_create_with_defaults(app):
    with app.app_context():
        campaign = _create()
        db.session.commit()
        db.session.expire_all()
        campaign = db.session.scalar(select(Campaign).where(Campaign.year == 2026))
        assert campaign.plan_deadline == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)  # aware UTC back from the database
        assert campaign.plan_deadline == services.default_deadline(2026)
        assert (campaign.target_hosts, campaign.detail_lead_months) == (5, 1)
        assert (campaign.zishu_min, campaign.zishu_target, campaign.zishu_max) == (300, 800, 1000)
        assert campaign.status == CampaignStatus.DRAFT.value
        assert campaign.status_label == "筹备中"


def test_create_records_audit_with_actor(app):
    with app.app_context():
        organiser = make_user()
        campaign = _create(status="planning")
        db.session.commit()
        services.update_campaign(campaign, {"target_hosts": 6}, actor=organiser)
        db.session.commit()
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.object_type == "Campaign").order_by(AuditLog.id)))
        assert [r.action for r in rows] == ["campaign.create", "campaign.update"]
        assert rows[0].after["year"] == 2026
        assert rows[0].after["plan_deadline"] == "2026-06-30T15:59:59+00:00"
        assert (rows[1].before["target_hosts"], rows[1].after["target_hosts"]) == (5, 6)
        assert rows[1].actor_id == organiser.id
        assert [r.action for r in services.history(campaign)] == ["campaign.update", "campaign.create"]


def test_one_campaign_per_year(app):
    with app.app_context():
        _create()
        db.session.commit()
        with pytest.raises(services.CampaignError) as info:
            _create(title="又一个")
        assert info.value.field == "year"
        assert "2026 年已有年度工作" in str(info.value)
        db.session.rollback()
        assert len(services.list_campaigns()) == 1


def test_the_database_also_refuses_a_second_campaign_for_a_year(app):
    """Two organisers saving at the same moment: the unique constraint is the last guard."""
    with app.app_context():
        _create()
        db.session.commit()
        db.session.add(Campaign(year=2026, title="并发", plan_deadline=services.default_deadline(2026)))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_update_to_a_taken_year_is_refused_but_own_year_is_fine(app):
    with app.app_context():
        first = _create()
        second = _create(year=2027, title="2027")
        db.session.commit()
        with pytest.raises(services.CampaignError) as info:
            services.update_campaign(second, {"year": 2026})
        assert info.value.field == "year"
        assert second.year == 2027  # nothing changed
        services.update_campaign(first, {"year": 2026, "title": "改名"})
        db.session.commit()
        assert first.title == "改名"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"zishu_min": 900}, "zishu_target"),  # min 900 > target 800 (and ≤ max): out of order
        ({"zishu_target": 1200}, "zishu_target"),  # target above the max
        ({"zishu_target": 200}, "zishu_target"),  # target below the min
        ({"zishu_min": 1100, "zishu_target": 1100}, "zishu_min"),  # min above the max
        ({"zishu_min": -1, "zishu_target": 0, "zishu_max": 10}, "zishu_min"),
        ({"target_hosts": 0}, "target_hosts"),
        ({"detail_lead_months": 13}, "detail_lead_months"),
        ({"detail_lead_months": -1}, "detail_lead_months"),
        ({"status": "bogus"}, "status"),
        ({"year": 1999}, "year"),
        ({"title": "  "}, "title"),
    ],
)
def test_invalid_values_name_their_field(app, values, field):
    with app.app_context():
        with pytest.raises(services.CampaignError) as info:
            _create(**values)
        assert info.value.field == field
        assert str(info.value)  # a Chinese message
        db.session.rollback()
        assert services.list_campaigns() == []


def test_zishu_limits_in_order_are_accepted(app):
    with app.app_context():
        campaign = _create(zishu_min=500, zishu_target=500, zishu_max=500)
        db.session.commit()
        assert (campaign.zishu_min, campaign.zishu_target, campaign.zishu_max) == (500, 500, 500)


def test_the_database_checks_the_zishu_order(app):
    with app.app_context():
        db.session.add(Campaign(year=2030, title="x", plan_deadline=services.default_deadline(2030), zishu_min=900, zishu_target=800, zishu_max=1000))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_list_hides_drafts_when_asked(app):
    with app.app_context():
        draft = _create(year=2027, title="草稿")
        planning = _create(year=2026, title="征集中", status="planning")
        db.session.commit()
        assert [c.year for c in services.list_campaigns()] == [2027, 2026]
        assert [c.year for c in services.list_campaigns(include_drafts=False)] == [2026]
        assert services.get_campaign(draft.id, include_drafts=False) is None
        assert services.get_campaign(planning.id, include_drafts=False) is planning


def test_first_free_year_skips_taken_years(app):
    with app.app_context():
        now = shanghai(2026, 3, 1)
        assert services.first_free_year(now) == 2026
        _create()
        _create(year=2027, title="2027")
        db.session.flush()
        assert services.first_free_year(now) == 2028


def test_timeline(app):
    with app.app_context():
        campaign = _create(status="planning")
        db.session.flush()
        before = services.timeline(campaign, shanghai(2026, 6, 30, 23, 59, 59))
        assert len(before) == 6
        assert before[0].at == campaign.plan_deadline
        assert "800" in before[0].note
        assert not before[0].done
        after = services.timeline(campaign, shanghai(2026, 7, 1))
        assert after[0].done
        campaign.status = "closed"
        assert all(m.done for m in services.timeline(campaign, shanghai(2026, 12, 31)))


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (shanghai(2026, 6, 27, 19, 30), "还剩 3 天 4 小时"),
        (shanghai(2026, 6, 30, 21, 29, 59), "还剩 2 小时 30 分钟"),
        (shanghai(2026, 6, 30, 23, 50), "还剩 9 分钟"),
        (shanghai(2026, 6, 30, 23, 59, 59), "不足 1 分钟"),
        (shanghai(2026, 7, 1), "已截止"),
    ],
)
def test_remaining_text(app, now, text):
    with app.app_context():
        assert services.remaining_text(services.default_deadline(2026), now) == text


def test_current_campaign_prefers_this_year(app):
    with app.app_context():
        assert services.current_campaign() is None
        _create(year=2099, title="将来")
        db.session.flush()
        assert services.current_campaign().year == 2099


def test_current_campaign_can_hide_drafts(app):
    with app.app_context():
        _create(year=2098, title="已发布", status="planning")
        _create(year=2099, title="草稿")
        db.session.flush()
        assert services.current_campaign().year == 2099
        assert services.current_campaign(include_drafts=False).year == 2098
