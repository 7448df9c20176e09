"""Assessment pages: dashboard, weights, the assessor's comment / finalisation, publication, what a
host may see (its own result only, and only after publication), XLSX content, charts in Chromium."""

from __future__ import annotations

import io
import re
import secrets
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.assessment.models import AssessmentSettings, EventAssessment
from eventhub.checkin import services as checkin
from eventhub.checkin.models import Checkin
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import OrgType
from tests.event_helpers import make_event
from tests.factories import login, make_user
from tests.test_checkin_services import ticketed

NAMES = ("华润", "石油", "电网")


def attend(event: Event, n: int) -> None:
    lst = checkin.default_list(event)
    for _ in range(n):
        registration, _payload = ticketed(event, org_type=OrgType.SME.value)
        db.session.add(Checkin(ticket_id=registration.ticket.id, list_id=lst.id, event_id=event.id, scan_id=secrets.token_hex(8), checked_in_at=utcnow()))
    db.session.flush()


def build(app) -> dict:  # noqa: ANN001
    """Three held events of one campaign (different SME attendance), their hosts, an organiser and an assessor."""
    with app.app_context():
        events = []
        for i, name in enumerate(NAMES):
            event = make_event(name, start=date.today() - timedelta(days=40 - i * 10))
            events.append(event)
        for event in events[1:]:
            event.campaign_id = events[0].campaign_id
        for event, n in zip(events, (3, 1, 2), strict=True):
            attend(event, n)
        hosts = [make_user(Role.HOST, base=e.host_base) for e in events]
        organiser = make_user(Role.ORGANISER)
        assessor = make_user(Role.ASSESSOR)
        db.session.commit()
        return {
            "campaign_id": events[0].campaign_id,
            "event_ids": [e.id for e in events],
            "titles": [e.title for e in events],
            "host_emails": [h.email for h in hosts],
            "organiser": organiser.email,
            "assessor": assessor.email,
        }


@pytest.fixture
def world(app):  # noqa: ANN001, ANN201
    return build(app)


def finalise_all(client, world: dict) -> None:  # noqa: ANN001
    for event_id in world["event_ids"]:
        response = client.post(f"/events/{event_id}/assessment/finalise", data={"comment": f"意见{event_id}", "confirm": "y"})
        assert response.status_code == 302


def test_dashboard_and_access(app, client, world):  # noqa: ANN001
    cid = world["campaign_id"]
    login(client, world["host_emails"][0])
    assert client.get(f"/campaigns/{cid}/assessment").status_code == 403
    assert client.get(f"/campaigns/{cid}/assessment.xlsx").status_code == 403
    assert client.get(f"/events/{world['event_ids'][0]}/assessment").status_code == 403
    assert client.get(f"/campaigns/{cid}/assessment/weights").status_code == 403
    client.post("/logout")

    login(client, world["assessor"])
    page = client.get(f"/campaigns/{cid}/assessment").get_data(as_text=True)
    for title in NAMES:
        assert title in page
    assert 'id="deals-chart"' in page and "vendor/chartjs/chart.umd.min.js" in page
    assert 'id="satisfaction-missing"' in page  # no survey answer yet: the chart is skipped and says why
    assert "cdn" not in page.lower()
    assert "均记 100 分" in page  # the single / all-equal rule stated on the page
    assert "第 1 名 / 共 3 场" in page
    assert client.get(f"/campaigns/{cid}/assessment/weights").status_code == 403  # organiser only
    assert client.get("/assessment").status_code == 200
    report = client.get(f"/campaigns/{cid}/assessment/report").get_data(as_text=True)
    assert "第三方评估报告" in report and "@media print" in report and 'id="deals-chart"' in report


def test_weights_page(app, client, world):  # noqa: ANN001
    cid = world["campaign_id"]
    login(client, world["organiser"])
    page = client.get(f"/campaigns/{cid}/assessment/weights").get_data(as_text=True)
    assert 'name="deals_per_100_sme"' in page and 'value="20"' in page
    data = {
        "deals_per_100_sme": "1",
        "deals_confirmed": "0",
        "deal_amount_wan": "0",
        "stability_3m": "0",
        "stability_6m": "0",
        "satisfaction_mean": "0",
        "nps": "0",
    }
    bad = client.post(f"/campaigns/{cid}/assessment/weights", data=data | {"response_rate": "-2"})
    assert bad.status_code == 200 and 'value="-2"' in bad.get_data(as_text=True)  # typed value kept
    ok = client.post(f"/campaigns/{cid}/assessment/weights", data=data | {"response_rate": "0.5"})
    assert ok.status_code == 302
    with app.app_context():
        settings = db.session.scalar(select(AssessmentSettings))
        assert settings.weights["response_rate"] == 0.5 and settings.weights["nps"] == 0
    page = client.get(f"/campaigns/{cid}/assessment").get_data(as_text=True)
    # only the per-100 rate (3/3, 0/1, 0/2 → all 0 deals: equal → 100) and the response rate (unknown) count
    assert page.count("100.00") >= 3


def test_finalisation_by_assessor_freezes_figures(app, client, world):  # noqa: ANN001
    event_id = world["event_ids"][0]
    login(client, world["assessor"])
    client.post(f"/events/{event_id}/assessment/comment", data={"comment": "签约项目质量较高。"})
    page = client.get(f"/events/{event_id}/assessment").get_data(as_text=True)
    assert "签约项目质量较高。" in page and 'id="finalise-form"' in page
    # no confirmation box: nothing happens
    client.post(f"/events/{event_id}/assessment/finalise", data={"comment": "签约项目质量较高。"})
    with app.app_context():
        assert db.session.scalar(select(EventAssessment.finalised_at).where(EventAssessment.event_id == event_id)) is None
    client.post(f"/events/{event_id}/assessment/finalise", data={"comment": "定稿意见。", "confirm": "y"})
    with app.app_context():
        row = db.session.scalar(select(EventAssessment).where(EventAssessment.event_id == event_id))
        assert row.finalised_at is not None and row.comment == "定稿意见。" and row.figures["sme_attendees"] == 3
        attend(db.session.get(Event, event_id), 2)  # later check-ins change the live figure only
        db.session.commit()
    page = client.get(f"/events/{event_id}/assessment").get_data(as_text=True)
    assert 'id="changed-warning"' in page and "已定稿" in page
    assert 'id="comment-form"' not in page
    assert client.post(f"/events/{event_id}/assessment/reopen", data={"confirm": "y"}).status_code == 403  # assessors cannot reopen
    client.post("/logout")
    login(client, world["organiser"])
    assert client.post(f"/events/{event_id}/assessment/reopen", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(EventAssessment.finalised_at).where(EventAssessment.event_id == event_id)) is None


def test_publication_and_hosts_see_only_their_own(app, client, world):  # noqa: ANN001
    cid = world["campaign_id"]
    a_event, b_event = world["event_ids"][0], world["event_ids"][1]

    # before publication: nothing for hosts
    login(client, world["host_emails"][0])
    page = client.get("/assessment/my-result").get_data(as_text=True)
    assert 'id="no-results"' in page
    assert client.get(f"/events/{a_event}/assessment/report").status_code == 404
    assert client.get(f"/events/{b_event}/assessment/report").status_code == 404
    client.post("/logout")

    login(client, world["organiser"])
    refused = client.post(f"/campaigns/{cid}/assessment/publish", data={"action": "publish", "confirm": "y"}, follow_redirects=True)
    assert "尚未定稿" in refused.get_data(as_text=True)
    finalise_all(client, world)
    client.post(f"/campaigns/{cid}/assessment/publish", data={"action": "publish"})  # box not ticked
    with app.app_context():
        assert db.session.scalar(select(AssessmentSettings.published_at)) is None
    client.post(f"/campaigns/{cid}/assessment/publish", data={"action": "publish", "confirm": "y"})
    with app.app_context():
        assert db.session.scalar(select(AssessmentSettings.published_at)) is not None
    client.post("/logout")

    login(client, world["host_emails"][0])
    page = client.get("/assessment/my-result").get_data(as_text=True)
    assert world["titles"][0] in page
    assert re.search(r"第 \d 名 / 共 3 场", page)
    for other in (world["titles"][1], world["titles"][2], "石油", "电网"):
        assert other not in page
    report = client.get(f"/events/{a_event}/assessment/report")
    assert report.status_code == 200
    text = report.get_data(as_text=True)
    assert "意见" in text and "石油" not in text and "电网" not in text
    assert client.get(f"/events/{b_event}/assessment/report").status_code == 404  # another host's event
    assert client.get(f"/campaigns/{cid}/assessment").status_code == 403
    client.post("/logout")

    login(client, world["organiser"])
    client.post(f"/campaigns/{cid}/assessment/publish", data={"action": "unpublish"})
    client.post("/logout")
    login(client, world["host_emails"][0])
    assert client.get(f"/events/{a_event}/assessment/report").status_code == 404


def test_xlsx_content_and_audit(app, client, world):  # noqa: ANN001
    cid = world["campaign_id"]
    login(client, world["assessor"])
    response = client.get(f"/campaigns/{cid}/assessment.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["综合得分与排名", "原始数据", "标准化得分", "指标原值", "权重"]
    ranking = list(workbook["综合得分与排名"].iter_rows(values_only=True))
    assert ranking[0][:5] == ("活动", "承办基地", "开始日期", "综合得分", "排名")
    assert {r[0] for r in ranking[1:]} == set(world["titles"])
    raw = {r[0]: r for r in workbook["原始数据"].iter_rows(min_row=2, values_only=True)}
    assert raw[world["titles"][0]][1] == 3 and raw[world["titles"][1]][1] == 1
    weights = {r[0]: r[1] for r in workbook["权重"].iter_rows(min_row=2, values_only=True)}
    assert weights["确认合作项目数"] == 10
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "assessment.export")) is not None


def test_dashboard_charts_render_in_chromium(live_server, page):  # noqa: ANN001
    from tests.browser_helpers import login as browser_login

    app, base_url = live_server
    world = build(app)
    with app.app_context():  # two survey answers on the first event: the satisfaction chart is drawn
        from eventhub.assessment import surveys
        from eventhub.assessment.models import SurveyInvitation, SurveyResponse

        event = db.session.get(Event, world["event_ids"][0])
        questionnaire = surveys.ensure_questionnaire(event.campaign)
        overall = next(q for q in questionnaire.questions if q.key == "overall")
        for score in (4, 5):
            registration, _payload = ticketed(event)
            invitation = SurveyInvitation(
                event_id=event.id, registration_id=registration.id, questionnaire_id=questionnaire.id, token_hash=secrets.token_hex(32), closes_at=utcnow()
            )
            db.session.add(invitation)
            db.session.flush()
            db.session.add(SurveyResponse(invitation_id=invitation.id, event_id=event.id, answers={str(overall.id): score}))
        db.session.commit()
    browser_login(page, base_url, world["organiser"])
    page.goto(f"{base_url}/campaigns/{world['campaign_id']}/assessment")
    page.wait_for_function("window.assessmentChartsReady === true")
    assert page.evaluate("typeof Chart") == "function"
    for chart_id in ("deals-chart", "response-chart", "composite-chart"):
        assert page.evaluate(f"Chart.getChart('{chart_id}') !== undefined"), chart_id
    assert page.evaluate("Chart.getChart('deals-chart').data.labels") == list(NAMES)
    assert page.evaluate("Chart.getChart('satisfaction-chart').data.datasets[0].data") == [0, 0, 0, 1, 1]
    page.goto(f"{base_url}/campaigns/{world['campaign_id']}/assessment/report")
    page.wait_for_function("window.assessmentChartsReady === true")
    assert page.evaluate("Chart.getChart('deals-chart') !== undefined")
    page.emulate_media(media="print")
    assert page.locator("#print-report").is_hidden()
