"""Recommendations to national showcases: rules, the page, and the XLSX with its evidence (engine
scores of the road show, competition results and awards, host base, matchmaking leads)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from eventhub.competitions import recommendations as recs
from eventhub.competitions import services as comp
from eventhub.competitions.models import Recommendation
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.roadshow.models import MatchmakingLead, ProjectCall
from tests.factories import make_user, user_and_login
from tests.test_competitions import add_entry, make_application, make_competition, run_round


def _scored_application(organiser):
    """A shortlisted road-show project scored 8.5 in its event's live round, with two investor leads."""
    application = make_application()
    other = make_application(event=application.event, n=2)
    call = db.session.get(ProjectCall, application.call_id)
    live = judging.get_or_create_round(key=f"roadshow-live-test:{call.id}", title="现场路演", default_criteria=[("技术", 1.0, "")])
    judging.sync_items(
        live,
        [
            judging.ItemSpec("project_application", application.id, application.project_name),
            judging.ItemSpec("project_application", other.id, other.project_name),
        ],
    )
    judge = make_user(Role.REVIEWER)
    judging.auto_assign(live, [judge], k=1, actor=organiser)
    judging.start_scoring(live, organiser)
    for item in live.items:
        value = 8.5 if item.ref_id == application.id else 6
        judging.save_sheet(item.assignments[0], {c.id: value for c in live.criteria}, {}, None, True, judge)
    call.live_round_id = live.id
    for n in range(2):
        investor = make_user(Role.PARTICIPANT)
        db.session.add(MatchmakingLead(event_id=application.event_id, application_id=application.id, user_id=investor.id, interested_name=f"投资人{n}"))
    db.session.flush()
    return application


def test_recommend_rules(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        application = make_application()
        with pytest.raises(recs.RecommendationError) as exc:
            recs.recommend("application", application.id, "activity_week", "  ", organiser)
        assert "reason" in exc.value.errors
        with pytest.raises(recs.RecommendationError):
            recs.recommend("application", 99999, "activity_week", "优秀", organiser)
        with pytest.raises(recs.RecommendationError):
            recs.recommend("application", application.id, "olympics", "优秀", organiser)
        rec = recs.recommend("application", application.id, "activity_week", "技术领先，已获投资意向", organiser)
        with pytest.raises(recs.RecommendationError):
            recs.recommend("application", application.id, "activity_week", "再次", organiser)
        recs.recommend("application", application.id, "maker_china", "同时推荐创客中国", organiser)  # another showcase is fine
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "recommendation.create")) == 2
        recs.withdraw(rec, organiser)
        assert db.session.scalar(select(func.count()).select_from(Recommendation)) == 1


def test_recommendations_xlsx_carries_the_evidence(app, client):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        application = _scored_application(organiser)
        c = make_competition(tracks=("先进制造",), rounds=[comp.RoundSpec("决赛")])
        e = [add_entry(c, i) for i in range(1, 3)]
        run_round(c.rounds[0], {e[0].id: 9, e[1].id: 7}, organiser)
        comp.decide_round(c.rounds[0], organiser)
        comp.save_awards(c, {e[0].id: "一等奖"}, organiser)
        comp.publish_results(c, organiser)
        recs.recommend("application", application.id, "activity_week", "路演得分第一，两家投资机构有意向", organiser)
        recs.recommend("entry", e[0].id, "yixing", "大赛一等奖", organiser)
        db.session.commit()
        host_name = application.event.host_base.name
        app_name, entry_name, competition_name = application.project_name, e[0].project_name, c.name
    user_and_login(app, client, Role.ORGANISER)
    page = client.get("/recommendations").get_data(as_text=True)
    assert app_name in page and entry_name in page and "对接意向：2 条" in page
    response = client.get("/recommendations.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["全国双创活动周", "央企熠星大赛", "创客中国"]
    header, row = list(wb["全国双创活动周"].iter_rows(values_only=True))
    data = dict(zip(header, row, strict=True))
    assert data["项目名称"] == app_name and data["承办基地 / 主办单位"] == host_name
    assert "现场路演 8.50（第 1 名）" in data["评审得分"] and data["对接意向数"] == 2
    assert data["推荐理由"].startswith("路演得分第一") and data["合作成果"] in ("", None)  # deals: issue 7 hook
    header, row = list(wb["央企熠星大赛"].iter_rows(values_only=True))
    data = dict(zip(header, row, strict=True))
    assert data["项目名称"] == entry_name and "决赛 9.00（赛道第 1 名）" in data["评审得分"]
    assert data["获奖情况"] == f"{competition_name}：一等奖" and data["对接意向数"] == 0
    assert len(list(wb["创客中国"].iter_rows())) == 1  # header only
    only = load_workbook(io.BytesIO(client.get("/recommendations.xlsx?showcase=yixing").data))
    assert only.sheetnames == ["央企熠星大赛"]


def test_recommendations_page_add_and_withdraw(app, client):
    with app.app_context():
        application = make_application()
        db.session.commit()
        key = f"application:{application.id}"
    user_and_login(app, client, Role.ORGANISER)
    assert "还没有推荐" in client.get("/recommendations").get_data(as_text=True)
    bad = client.post("/recommendations", data={"ref": key, "showcase": "maker_china", "reason": ""})
    assert bad.status_code == 400 and "请填写推荐理由" in bad.get_data(as_text=True)
    assert client.post("/recommendations", data={"ref": key, "showcase": "maker_china", "reason": "成长性好"}).status_code == 302
    with app.app_context():
        rec_id = db.session.scalar(select(Recommendation.id))
    client.post(f"/recommendations/{rec_id}/delete", data={})  # unconfirmed: kept
    with app.app_context():
        assert db.session.get(Recommendation, rec_id) is not None
    client.post(f"/recommendations/{rec_id}/delete", data={"confirm": "y"})
    with app.app_context():
        assert db.session.get(Recommendation, rec_id) is None


def test_only_a_confirmed_deal_can_be_recommended_and_its_evidence_is_exported(app):
    from eventhub.assessment import deals
    from tests.test_assessment_deals import data, past_event

    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        event = past_event()
        deal, _token = deals.record_deal(event, data(amount_wan="300"))
        assert f"deal:{deal.id}" not in {c.key for c in recs.candidates()}
        with pytest.raises(recs.RecommendationError):  # the host's word alone is no evidence
            recs.recommend("deal", deal.id, "yixing", "央企与中小企业合作典型", organiser)

        deals.respond(deal, "confirm", "属实")
        assert f"deal:{deal.id}" in {c.key for c in recs.candidates()}
        rec = recs.recommend("deal", deal.id, "yixing", "央企与中小企业合作典型", organiser)
        ev = recs.evidence(rec)
        assert not ev.missing and ev.org_name == deal.counterparty_name and ev.host == event.host_base.name
        assert ev.deals and deal.counterparty_name in ev.deals[0]

        workbook = load_workbook(io.BytesIO(recs.export_xlsx("yixing")))
        cells = [str(c.value) for row in workbook.active.iter_rows() for c in row if c.value is not None]
        assert any(deal.counterparty_name in value for value in cells)
