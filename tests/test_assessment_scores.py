"""Composite scores: a hand-computed example, normalisation (single event, ties), missing metrics,
ranking ties, and the campaign service (frozen figures at finalisation, publication rules)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from eventhub.assessment import scores
from eventhub.assessment.models import AssessmentSettings, EventAssessment
from eventhub.assessment.scores import EventFigures
from eventhub.checkin import services as checkin
from eventhub.checkin.models import Checkin
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import OrgType
from tests.event_helpers import make_event
from tests.factories import make_user
from tests.test_checkin_services import ticketed

# ---- pure scoring --------------------------------------------------------------------------------

WEIGHTS = {
    "deals_per_100_sme": 2,
    "deals_confirmed": 1,
    "deal_amount_wan": 1,
    "stability_3m": 0,
    "stability_6m": 1,
    "satisfaction_mean": 2,
    "nps": 1,
    "response_rate": 0,
}  # sum 8: not 1 on purpose (weights are divided by their sum)

A = EventFigures(deals_confirmed=6, sme_attendees=200, deal_amount_wan=500, stability_6m=0.5, satisfaction_mean=4.0, nps=20, response_rate=0.4)
B = EventFigures(deals_confirmed=4, sme_attendees=50, deal_amount_wan=1500, stability_6m=1.0, satisfaction_mean=4.5, nps=40, response_rate=0.8)
C = EventFigures(deals_confirmed=2, sme_attendees=100, deal_amount_wan=0, stability_6m=None, satisfaction_mean=4.5, nps=-10, response_rate=0.6)


def test_hand_computed_example_three_events():
    """Worked by hand:

    raw            A        B        C
    per 100 SME    6/200·100=3   4/50·100=8   2/100·100=2
    confirmed      6        4        2
    amount (万元)  500      1500     0
    stability 6 m  50 %     100 %    —   (C unknown)
    satisfaction   4.0      4.5      4.5
    NPS            20       40       −10

    min–max to 0–100:
    per 100 SME    (3−2)/6·100=16.667  100   0
    confirmed      100      (4−2)/4·100=50   0
    amount         500/1500·100=33.333  100  0
    stability 6 m  0        100      —
    satisfaction   0        100      100      (4.5 is the max, shared)
    NPS            (20+10)/50·100=60   100   0

    weights 2,1,1,(0),1,2,1,(0) → sum 8; C lacks stability (weight 1) → its weights sum to 7
    A = (2·16.667 + 100 + 33.333 + 0 + 2·0 + 60) / 8 = 226.667 / 8 = 28.333
    B = (2·100 + 50 + 100 + 100 + 2·100 + 100) / 8 = 750 / 8 = 93.75
    C = (2·0 + 0 + 0 + 2·100 + 0) / 7 = 200 / 7 = 28.571   (would be 25 without renormalising: below A)
    ranks: B 1, C 2, A 3
    """
    result = scores.score({1: A, 2: B, 3: C}, WEIGHTS)
    a, b, c = result[1], result[2], result[3]
    assert a.raw["deals_per_100_sme"] == pytest.approx(3)
    assert b.raw["deals_per_100_sme"] == pytest.approx(8)
    assert a.normalised["deals_per_100_sme"] == pytest.approx(16.6667, abs=1e-3)
    assert a.normalised["deal_amount_wan"] == pytest.approx(33.3333, abs=1e-3)
    assert a.normalised["nps"] == pytest.approx(60)
    assert b.normalised["deals_confirmed"] == pytest.approx(50)
    assert c.normalised["satisfaction_mean"] == pytest.approx(100)
    assert c.normalised["stability_6m"] is None
    assert a.composite == pytest.approx(28.3333, abs=1e-3)
    assert b.composite == pytest.approx(93.75)
    assert c.composite == pytest.approx(28.5714, abs=1e-3)
    assert (b.rank, c.rank, a.rank) == (1, 2, 3)
    # the missing metric is flagged and C's weights are renormalised over 7
    assert c.missing == ["stability_6m"]
    assert a.missing == []
    assert c.weights_used["satisfaction_mean"] == pytest.approx(2 / 7)
    assert a.weights_used["satisfaction_mean"] == pytest.approx(2 / 8)
    assert sum(c.weights_used.values()) == pytest.approx(1)
    # weight 0 metrics play no part, even with values
    assert a.weights_used["response_rate"] == 0
    assert sum(v for v in a.contributions.values() if v is not None) == pytest.approx(a.composite)


def test_single_event_gets_100_on_every_known_metric():
    result = scores.score({7: A})
    only = result[7]
    assert all(only.normalised[m] == 100 for m in scores.METRIC_KEYS if only.raw[m] is not None)
    assert only.normalised["stability_3m"] is None and "stability_3m" in only.missing
    assert only.composite == pytest.approx(100)
    assert only.rank == 1


def test_normalisation_with_ties():
    assert scores.normalise({1: 5.0, 2: 5.0, 3: 5.0}) == {1: 100.0, 2: 100.0, 3: 100.0}
    assert scores.normalise({1: 2.0, 2: 4.0, 3: 4.0, 4: None}) == {1: 0.0, 2: 100.0, 3: 100.0, 4: None}
    assert scores.normalise({1: None, 2: None}) == {1: None, 2: None}
    same = scores.score({1: A, 2: A})
    assert same[1].composite == same[2].composite == pytest.approx(100)
    assert same[1].rank == same[2].rank == 1


def test_missing_metric_no_sme_attendee():
    """No SME checked in: the per-100 rate is unknown (not 0, not infinite) and left out."""
    nobody = EventFigures(deals_confirmed=3, sme_attendees=0, satisfaction_mean=4.0)
    result = scores.score({1: nobody, 2: B})
    assert result[1].raw["deals_per_100_sme"] is None
    assert "deals_per_100_sme" in result[1].missing
    assert result[2].normalised["deals_per_100_sme"] == 100  # B alone has the metric


def test_no_metric_at_all_is_unranked():
    weights = dict.fromkeys(scores.METRIC_KEYS, 0) | {"nps": 1}
    result = scores.score({1: EventFigures(nps=None), 2: EventFigures(nps=10)}, weights)
    assert result[1].composite is None and result[1].rank is None
    assert result[2].rank == 1


def test_ranking_ties_share_a_rank():
    assert scores.rank({1: 80.0, 2: 80.0, 3: 70.0, 4: None, 5: 60.0}) == {1: 1, 2: 1, 3: 3, 4: None, 5: 4}
    # ranked on the composite as shown (two decimals)
    assert scores.rank({1: 80.001, 2: 79.999, 3: 80.1}) == {3: 1, 1: 2, 2: 2}


def test_weights_cleaned_and_defaults():
    assert scores.clean_weights(None) == scores.DEFAULT_WEIGHTS
    cleaned = scores.clean_weights({"nps": "3", "satisfaction_mean": -1, "unknown": 5, "deals_confirmed": "x"})
    assert cleaned["nps"] == 3
    assert cleaned["satisfaction_mean"] == scores.DEFAULT_WEIGHTS["satisfaction_mean"]
    assert "unknown" not in cleaned
    assert EventFigures.from_dict(A.as_dict() | {"extra": 1}) == A


# ---- campaign service ---------------------------------------------------------------------------


def past(days: int) -> date:
    return date.today() - timedelta(days=days)


def attend(event: Event, org_type: OrgType = OrgType.SME) -> None:
    """A checked-in registration (Checkin row on the event's default list)."""
    registration, _payload = ticketed(event, org_type=org_type.value)
    lst = checkin.default_list(event)
    db.session.add(Checkin(ticket_id=registration.ticket.id, list_id=lst.id, event_id=event.id, scan_id=secrets.token_hex(8), checked_in_at=utcnow()))
    db.session.flush()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_sme_attendees_counts_checked_in_smes_and_startups(app):
    with app.app_context():
        event = make_event("华润", start=past(20))
        attend(event)
        attend(event, OrgType.STARTUP)
        attend(event, OrgType.LARGE)
        ticketed(event, org_type=OrgType.SME.value)  # registered, never scanned
        db.session.commit()
        assert scores.sme_attendees(event) == 2
        assert scores.collect(event).sme_attendees == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_finalise_freezes_figures_and_publication_rules(app):
    with app.app_context():
        one = make_event("华润", start=past(30))
        two = make_event("石油", start=past(20), base=None)
        two.campaign_id = one.campaign_id
        future = make_event("电网", start=date.today() + timedelta(days=30))
        future.campaign_id = one.campaign_id
        attend(one)
        organiser = make_user(Role.ORGANISER)
        assessor = make_user(Role.ASSESSOR)
        db.session.commit()
        campaign = one.campaign

        result = scores.campaign_result(campaign)
        assert {r.event.id for r in result.rows} == {one.id, two.id}  # the future event is left out
        assert result.row_for(future.id) is None

        with pytest.raises(scores.AssessmentError):
            scores.publish(campaign, organiser)  # nothing finalised yet

        scores.save_comment(one, "对接成效明显。", assessor)
        row = scores.finalise(one, assessor)
        db.session.commit()
        assert row.figures["sme_attendees"] == 1
        assert row.finalised_by_id == assessor.id
        with pytest.raises(scores.AssessmentError):
            scores.save_comment(one, "改", assessor)

        attend(one)  # a late check-in: live figure changes, the frozen one does not
        db.session.commit()
        result = scores.campaign_result(campaign)
        frozen = result.row_for(one.id)
        assert frozen.figures.sme_attendees == 1 and frozen.live.sme_attendees == 2
        assert frozen.changed_since_final

        with pytest.raises(scores.AssessmentError, match="1"):
            scores.publish(campaign, organiser)  # one event still open
        scores.finalise(two, assessor)
        scores.publish(campaign, organiser)
        db.session.commit()
        assert scores.is_published(campaign)
        with pytest.raises(scores.AssessmentError):
            scores.unfinalise(one, organiser)  # published: unpublish first
        with pytest.raises(scores.AssessmentError):
            scores.set_weights(campaign, {"nps": 1}, organiser)
        scores.unpublish(campaign, organiser)
        scores.unfinalise(one, organiser)
        db.session.commit()
        assessment = db.session.scalar(select(EventAssessment).where(EventAssessment.event_id == one.id))
        assert assessment.finalised_at is None and assessment.figures == {}
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"assessment.comment", "assessment.finalise", "assessment.publish", "assessment.unpublish", "assessment.unfinalise"} <= actions


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_set_weights_validates_and_audits(app):
    with app.app_context():
        event = make_event("华润", start=past(10))
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        with pytest.raises(scores.AssessmentError):
            scores.set_weights(event.campaign, dict.fromkeys(scores.METRIC_KEYS, 0), organiser)
        with pytest.raises(scores.AssessmentError):
            scores.set_weights(event.campaign, {"nps": -1}, organiser)
        scores.set_weights(event.campaign, {"nps": 2, "satisfaction_mean": 3}, organiser)
        db.session.commit()
        settings = db.session.scalar(select(AssessmentSettings))
        assert settings.weights["nps"] == 2 and settings.weights["deals_confirmed"] == 0
        assert scores.campaign_weights(event.campaign)["satisfaction_mean"] == 3
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "assessment.weights")) is not None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_collect_reads_deals_mechanisms_and_surveys(app):
    """The adapter reads the three parts' real figures (rows made as their services leave them)."""
    pytest.importorskip("eventhub.assessment.deals")
    pytest.importorskip("eventhub.assessment.mechanisms")
    from eventhub.assessment import surveys
    from eventhub.assessment.models import Deal, DealStatus, Mechanism, MechanismCheck, MechanismMember, SurveyInvitation, SurveyResponse

    with app.app_context():
        event = make_event("华润", start=past(120))
        attend(event)
        attend(event)

        def deal(status: DealStatus, amount: float | None) -> None:
            db.session.add(
                Deal(
                    event_id=event.id,
                    lead_party="华润",
                    counterparty_name=f"测试公司{secrets.token_hex(3)}",
                    counterparty_type="sme",
                    counterparty_email="c@example.com",
                    kind="technology",
                    stage="signed",
                    amount_wan=amount,
                    deal_date=past(100),
                    status=status.value,
                    confirm_token_hash=secrets.token_hex(32),
                )
            )

        deal(DealStatus.CONFIRMED, 120.5)
        deal(DealStatus.CONFIRMED, None)
        deal(DealStatus.UNCONFIRMED, 999)
        deal(DealStatus.DISPUTED, 50)
        deal(DealStatus.WITHDRAWN, 70)
        mechanism = Mechanism(event_id=event.id, name="产业联盟", kind="alliance", formed_on=past(100))
        idle = Mechanism(event_id=event.id, name="联合实验室", kind="joint_lab", formed_on=past(100))
        db.session.add_all([mechanism, idle])
        db.session.flush()
        for mech, active in ((mechanism, True), (idle, False)):
            member = MechanismMember(mechanism_id=mech.id, org_name="成员单位", email=f"m{mech.id}@example.com")
            db.session.add(member)
            db.session.flush()
            db.session.add(
                MechanismCheck(mechanism_id=mech.id, member_id=member.id, wave=3, token_hash=secrets.token_hex(32), answered_at=utcnow(), active=active)
            )
        questionnaire = surveys.ensure_questionnaire(event.campaign)
        by_key = {q.key: q for q in questionnaire.questions}
        registrations = [ticketed(event)[0] for _ in range(4)]
        for i, registration in enumerate(registrations):
            invitation = SurveyInvitation(
                event_id=event.id, registration_id=registration.id, questionnaire_id=questionnaire.id, token_hash=secrets.token_hex(32), closes_at=utcnow()
            )
            db.session.add(invitation)
            db.session.flush()
            if i < 2:  # two of four answer: overall 4 and 5, NPS 10 and 6
                answers = {str(by_key["overall"].id): 4 + i, str(by_key["nps"].id): (10, 6)[i]}
                db.session.add(SurveyResponse(invitation_id=invitation.id, event_id=event.id, answers=answers))
        db.session.commit()

        figures = scores.collect(event)
        assert figures.sources_missing == []
        assert (figures.deals_confirmed, figures.deals_unconfirmed, figures.deals_disputed) == (2, 1, 1)
        assert figures.deal_amount_wan == pytest.approx(120.5)
        assert figures.sme_attendees == 2
        assert figures.mechanisms == 2
        assert figures.stability_3m == pytest.approx(0.5) and figures.stability_6m is None  # nobody asked at 6 months yet
        assert figures.responses == 2 and figures.response_rate == pytest.approx(0.5)
        assert figures.satisfaction_mean == pytest.approx(4.5)
        assert figures.nps == pytest.approx(0)  # one promoter, one detractor
        values = scores.metric_values(figures)
        assert values["deals_per_100_sme"] == pytest.approx(100)  # 2 confirmed per 2 SME attendees
        assert values["stability_3m"] == pytest.approx(50) and values["response_rate"] == pytest.approx(50)
