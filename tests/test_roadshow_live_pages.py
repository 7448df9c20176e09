"""Live road-show pages over HTTP: the panel's phone page (score, conflict, interest), the registrant's
project list (private link, confirmed only), the host's rubric / results / leads pages (other hosts
404), the public winners page before and after publication, and the leads include for the
applicant's private page.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from flask import render_template_string
from sqlalchemy import func, select

from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.roadshow import live
from eventhub.roadshow.models import MatchmakingLead, ProjectApplication
from tests.event_helpers import host_of
from tests.factories import login, make_user
from tests.test_roadshow_live import registration, scene


def setup(app, *, start: bool = True) -> dict[str, Any]:  # noqa: ANN001
    with app.app_context():
        s = scene(projects=2, judges=2)
        live.sync_live_round(s["event"], None)
        if start:
            live.start_live_scoring(s["event"], None)
        host = host_of(s["event"])
        reg, token = registration(s["event"])
        pending, pending_token = registration(s["event"], 1, status="pending")
        db.session.commit()
        return {
            "event_id": s["event_id"],
            "session_id": s["session"].id,
            "apps": [a.id for a in s["apps"]],
            "names": [a.project_name for a in s["apps"]],
            "judges": [j.email for j in s["judges"]],
            "investor": s["investor"].email,
            "host": host.email,
            "token": token,
            "pending_token": pending_token,
            "criteria": [c.id for c in live.live_round(s["event"]).criteria],
        }


def test_panel_judge_scores_on_the_live_page_and_others_are_kept_out(app, client):
    ids = setup(app)
    url = f"/roadshow/sessions/{ids['session_id']}/live"
    assert client.get(url).status_code == 302  # log in first
    login(client, ids["judges"][0])
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert body.index(ids["names"][0]) < body.index(ids["names"][1])  # slot order
    assert "技术先进性" in body and "有兴趣，请联系我" not in body
    score_url = f"{url}/{ids['apps'][0]}/score"
    # an out-of-range value: refused, typed values kept, nothing saved
    bad = {f"score_{c}": "8" for c in ids["criteria"]} | {f"score_{ids['criteria'][0]}": "11", "action": "submit"}
    response = client.post(score_url, data=bad)
    assert response.status_code == 400 and "之间" in response.get_data(as_text=True)
    good = {f"score_{c}": "8" for c in ids["criteria"]} | {"action": "submit", "overall_comment": "很好"}
    response = client.post(score_url, data=good)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#pitch-{ids['apps'][0]}")
    assert "已提交评分" in client.get(url).get_data(as_text=True)
    with app.app_context():
        from eventhub.events.models import Event

        rnd = live.live_round(db.session.get(Event, ids["event_id"]))
        assert judging.progress(rnd) == (1, 4)
    # a reviewer who is not on the panel sees nothing (404), nor can post
    client.post("/logout")
    with app.app_context():
        stranger = make_user(Role.REVIEWER)
        db.session.commit()
        email = stranger.email
    login(client, email)
    assert client.get(url).status_code == 404
    assert client.post(score_url, data=good).status_code == 404


def test_scoring_not_started_is_explained(app, client):
    ids = setup(app, start=False)
    login(client, ids["judges"][0])
    body = client.get(f"/roadshow/sessions/{ids['session_id']}/live").get_data(as_text=True)
    assert "评分尚未开始" in body and "score-form" not in body


def test_judge_declares_a_conflict_on_the_phone(app, client):
    ids = setup(app)
    login(client, ids["judges"][0])
    url = f"/roadshow/sessions/{ids['session_id']}/live"
    response = client.post(f"{url}/{ids['apps'][1]}/conflict", data={"reason": "曾任该企业顾问"})
    assert response.status_code == 302
    body = client.get(url).get_data(as_text=True)
    assert "您已就该项目声明利益冲突" in body


def test_investor_marks_interest_once_on_the_live_page(app, client):
    ids = setup(app)
    login(client, ids["investor"])
    url = f"/roadshow/sessions/{ids['session_id']}/live"
    assert "有兴趣，请联系我" in client.get(url).get_data(as_text=True)
    for _ in range(2):
        assert client.post(f"{url}/{ids['apps'][0]}/interest", data={"note": "想了解中试"}).status_code == 302
    body = client.get(url).get_data(as_text=True)
    assert "已登记对接意向" in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MatchmakingLead)) == 1
    # an investor cannot score
    assert client.post(f"{url}/{ids['apps'][0]}/score", data={"action": "submit"}).status_code == 400
    # a judge cannot mark interest on the panel page
    client.post("/logout")
    login(client, ids["judges"][0])
    assert client.post(f"{url}/{ids['apps'][0]}/interest", data={}).status_code == 403
    # the panel member's list of sessions
    assert f"/roadshow/sessions/{ids['session_id']}/live" in client.get("/roadshow/panel").get_data(as_text=True)


def test_registrant_marks_interest_through_the_private_link(app, client):
    ids = setup(app)
    assert client.get("/registrations/" + "x" * 43 + "/projects").status_code == 404
    url = f"/registrations/{ids['token']}/projects"
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert all(name in body for name in ids["names"])
    assert client.post(f"{url}/{ids['apps'][1]}/interest", data={"note": "欢迎联系"}).status_code == 302
    assert client.post(f"{url}/{ids['apps'][1]}/interest", data={"note": "再次"}).status_code == 302
    body = client.get(url).get_data(as_text=True)
    assert "您已对 1 个项目登记对接意向" in body
    # a pending registration is told why and cannot mark interest
    pending = f"/registrations/{ids['pending_token']}/projects"
    assert "报名确认后才能登记对接意向" in client.get(pending).get_data(as_text=True)
    client.post(f"{pending}/{ids['apps'][0]}/interest", data={})
    with app.app_context():
        leads = list(db.session.scalars(select(MatchmakingLead)))
        assert [(lead.application_id, lead.note) for lead in leads] == [(ids["apps"][1], "欢迎联系")]
        # the applicant's private page section
        application = db.session.get(ProjectApplication, ids["apps"][1])
        with app.test_request_context():
            html = render_template_string('{% include "roadshow/_leads.html" %}', application=application)
        assert "对接意向（1）" in html and "欢迎联系" in html and leads[0].interested_email in html


def test_host_results_awards_publication_and_public_winners(app, client):
    ids = setup(app)
    winners_url = f"/theme-days/{ids['event_id']}/roadshow/winners"
    assert "尚未公布" in client.get(winners_url).get_data(as_text=True)
    assert client.get("/theme-days/999999/roadshow/winners").status_code == 404
    # another host: 404
    with app.app_context():
        other = make_user(Role.HOST)
        db.session.commit()
        other_email = other.email
    login(client, other_email)
    results_url = f"/events/{ids['event_id']}/roadshow/results"
    assert client.get(results_url).status_code == 404
    assert client.get(f"/events/{ids['event_id']}/roadshow/leads").status_code == 404
    client.post("/logout")
    login(client, ids["host"])
    body = client.get(results_url).get_data(as_text=True)
    assert ids["names"][0] in body and "评分进度：已提交 0 / 应提交 4" in body
    client.post(f"/events/{ids['event_id']}/roadshow/results/awards", data={f"award_{ids['apps'][1]}": "一等奖"})
    # publication needs the confirmation box
    client.post(f"/events/{ids['event_id']}/roadshow/results/publish", data={"action": "publish"})
    assert "尚未公布" in client.get(winners_url).get_data(as_text=True)
    client.post(f"/events/{ids['event_id']}/roadshow/results/publish", data={"action": "publish", "confirm": "y"})
    body = client.get(winners_url).get_data(as_text=True)
    assert "一等奖" in body and ids["names"][1] in body and ids["names"][0] not in body
    # the rubric is frozen once scoring started
    assert "评分标准已冻结" in client.get(f"/events/{ids['event_id']}/roadshow/rubric").get_data(as_text=True)
    response = client.get(f"/events/{ids['event_id']}/roadshow/results.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"


def test_host_edits_the_rubric_then_starts_scoring(app, client):
    ids = setup(app, start=False)
    login(client, ids["host"])
    url = f"/events/{ids['event_id']}/roadshow/rubric"
    body = client.get(url).get_data(as_text=True)
    assert "与承办方产业链契合度" in body
    data = {
        "crit_id": [str(c) for c in ids["criteria"]] + [""],
        "crit_name": ["技术先进性", "市场前景", "团队能力", "与承办方产业链契合度", "社会效益"],
        "crit_weight": ["2", "1", "1", "1", "0.5"],
        "crit_guidance": ["", "", "", "", "就业与绿色低碳"],
        "crit_remove": ["2"],
        "scale_min": "1",
        "scale_max": "10",
        "disagreement_threshold": "2",
    }
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        from eventhub.events.models import Event

        rnd = live.live_round(db.session.get(Event, ids["event_id"]))
        assert [(c.name, c.weight) for c in rnd.criteria] == [("技术先进性", 2.0), ("市场前景", 1.0), ("与承办方产业链契合度", 1.0), ("社会效益", 0.5)]
    client.post(f"{url}/start", data={})
    with app.app_context():
        assert live.live_round(db.session.get(Event, ids["event_id"])).status == "scoring"


def test_host_leads_list_and_audited_export(app, client):
    ids = setup(app)
    with app.app_context():
        from eventhub.auth.models import User

        investor = db.session.scalar(select(User).where(User.email == ids["investor"]))
        live.mark_interest(db.session.get(ProjectApplication, ids["apps"][0]), user=investor, note="投资意向")
        db.session.commit()
    login(client, ids["host"])
    body = client.get(f"/events/{ids['event_id']}/roadshow/leads").get_data(as_text=True)
    assert "投资意向" in body and ids["investor"] in body
    assert "还没有对接意向" not in body
    assert "没有符合条件" in client.get(f"/events/{ids['event_id']}/roadshow/leads?q=不存在").get_data(as_text=True)
    response = client.get(f"/events/{ids['event_id']}/roadshow/leads.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet.max_row == 2 and sheet["L2"].value == "投资意向"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_lead.export")) == 1
