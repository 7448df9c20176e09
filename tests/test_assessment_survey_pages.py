"""Survey pages: the participant's link page (form, errors kept, thank-you, edit, closed), the
organiser's questionnaire editor (versions, questions, publish with confirmation), and the
results page and export (organisers / assessors see everything, the event's host aggregates only,
other hosts nothing)."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.assessment import surveys
from eventhub.assessment.models import Questionnaire, SurveyInvitation, SurveyResponse
from eventhub.auth.models import User
from eventhub.campaigns.models import Campaign
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration.models import OrgType, Registration
from tests.event_helpers import make_event
from tests.factories import login, make_user
from tests.test_assessment_surveys import check_in
from tests.test_checkin_services import ticketed


@pytest.fixture
def survey(app):  # noqa: ANN001, ANN201
    """An event that ended yesterday, two checked-in SMEs invited (links in the outbox), one answered."""
    with app.app_context():
        yesterday = (utcnow() + timedelta(hours=8)).date() - timedelta(days=1)
        event = make_event("华润", start=yesterday - timedelta(days=1), days=2)
        names = []
        for name, org in [("张三", "甲科技有限公司"), ("李四", "乙科技有限公司")]:
            registration, payload = ticketed(
                event, org_type=OrgType.SME.value, name=name, organisation=org, mobile="13812345678" if name == "张三" else "13912345678"
            )
            check_in(event, payload)
            names.append(registration.id)
        db.session.commit()
        surveys.invite_event(event, utcnow())
        db.session.commit()
        rows = list(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.event_id == event.id).order_by(SurveyInvitation.registration_id)))
        tokens = [surveys.link_token(event.id, db.session.get(Registration, r.registration_id)) for r in rows]
        host = make_user(Role.HOST, base=event.host_base)
        other_event = make_event("国网")
        other_host = make_user(Role.HOST, base=other_event.host_base)
        organiser, assessor = make_user(Role.ORGANISER), make_user(Role.ASSESSOR)
        db.session.commit()
        data = {
            "event_id": event.id,
            "campaign_id": event.campaign_id,
            "tokens": tokens,
            "invitation_ids": [r.id for r in rows],
            "questionnaire_id": rows[0].questionnaire_id,
            "host": host.email,
            "other_host": other_host.email,
            "organiser": organiser.email,
            "assessor": assessor.email,
        }
        db.session.commit()  # end the read transaction: the requests below must see later commits
    return data


def answer_form(app, questionnaire_id: int, **overrides: str) -> dict[str, str]:  # noqa: ANN001
    with app.app_context():
        questionnaire = db.session.get(Questionnaire, questionnaire_id)
        by_key = {q.key: surveys.field_name(q) for q in questionnaire.questions}
    data = {"overall": "4", "matchmaking": "5", "roadshow": "3", "nps": "9", "continue": "是", "improve": "希望增加一对一洽谈时间"}
    data.update(overrides)
    return {by_key[k]: v for k, v in data.items() if v is not None}


def test_survey_link_page_form_errors_thanks_edit(app, client, survey):  # noqa: ANN001
    assert client.get("/survey/" + "x" * 43).status_code == 404
    assert client.get("/survey/short").status_code == 404
    token = survey["tokens"][0]
    page = client.get(f"/survey/{token}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "您对本次主题日活动的总体满意度" in html and 'class="btn-check"' in html and "华润融通创新主题日" in html

    # Missing required answers: 400, Chinese messages, what was typed kept.
    data = answer_form(app, survey["questionnaire_id"], overall=None, improve="保留这段文字")
    refused = client.post(f"/survey/{token}", data=data)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "请选择一项。" in html and "保留这段文字" in html and 'value="5" autocomplete="off" checked' in html
    assert refused.headers["Cache-Control"] == "no-store"

    done = client.post(f"/survey/{token}", data=answer_form(app, survey["questionnaire_id"]))
    assert done.status_code == 302 and "saved=new" in done.headers["Location"]
    thanks = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "感谢您的反馈" in thanks and "修改我的回答" in thanks and "希望增加一对一洽谈时间" in thanks

    edit = client.get(f"/survey/{token}?edit=1").get_data(as_text=True)
    assert 'value="4" autocomplete="off" checked' in edit and "保存修改" in edit
    again = client.post(f"/survey/{token}", data=answer_form(app, survey["questionnaire_id"], overall="2"))
    assert again.status_code == 302 and "saved=edit" in again.headers["Location"]
    with app.app_context():
        rows = list(db.session.scalars(select(SurveyResponse)))
        assert len(rows) == 1 and 2 in rows[0].answers.values()


def test_survey_closed_refuses_changes(app, client, survey):  # noqa: ANN001
    token = survey["tokens"][0]
    with app.app_context():
        invitation = db.session.get(SurveyInvitation, survey["invitation_ids"][0])
        invitation.closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = client.get(f"/survey/{token}")
    assert page.status_code == 200 and "问卷已于" in page.get_data(as_text=True) and "survey-form" not in page.get_data(as_text=True)
    refused = client.post(f"/survey/{token}", data=answer_form(app, survey["questionnaire_id"]))
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(SurveyResponse)) is None


def test_results_organiser_assessor_host_other_host(app, client, survey):  # noqa: ANN001
    client.post(f"/survey/{survey['tokens'][0]}", data=answer_form(app, survey["questionnaire_id"]))
    url = f"/events/{survey['event_id']}/survey"

    login(client, survey["organiser"])
    html = client.get(url).get_data(as_text=True)
    assert "50.0%" in html and "希望增加一对一洽谈时间" in html
    assert "乙科技有限公司" in html and "139****5678" in html and "13912345678" not in html  # who has not answered, masked
    assert "甲科技有限公司" not in html  # respondents are not listed
    export = client.get(url + "/export.xlsx")
    assert export.status_code == 200
    assert len(load_workbook(BytesIO(export.data)).sheetnames) == 3
    client.post("/logout")

    login(client, survey["assessor"])
    assert "希望增加一对一洽谈时间" in client.get(url).get_data(as_text=True)
    client.post("/logout")

    login(client, survey["host"])
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "50.0%" in html and "承办方只能看到汇总结果" in html
    assert "希望增加一对一洽谈时间" not in html and "乙科技有限公司" not in html and "李四" not in html and "张三" not in html
    export = client.get(url + "/export.xlsx")
    workbook = load_workbook(BytesIO(export.data))
    cells = [str(c.value) for ws in workbook for row in ws.iter_rows() for c in row]
    assert len(workbook.sheetnames) == 2 and not any("洽谈" in v or "张三" in v or "甲科技" in v for v in cells)
    with app.app_context():
        host_id = db.session.scalar(select(User.id).where(User.email == survey["host"]))
        entries = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "survey.export")))
        assert [(e.after["full"], e.actor_id) for e in entries][-1] == (False, host_id)
    assert client.get(f"/campaigns/{survey['campaign_id']}/survey").status_code == 403  # the editor is the organiser's
    client.post("/logout")

    login(client, survey["other_host"])
    assert client.get(url).status_code == 404
    assert client.get(url + "/export.xlsx").status_code == 404


def test_editor_versions_questions_publish(app, client, survey):  # noqa: ANN001
    login(client, survey["organiser"])
    cid = survey["campaign_id"]
    page = client.get(f"/campaigns/{cid}/survey")
    assert page.status_code == 200 and "v1" in page.get_data(as_text=True) and "新建版本" in page.get_data(as_text=True)
    assert client.post(f"/campaigns/{cid}/survey/new-version").status_code == 302
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        draft = surveys.draft_of(campaign)
        draft_id, v1_question = draft.id, surveys.published(campaign).questions[0].id
    # The published version's questions cannot be edited through the pages either.
    assert client.get(f"/campaigns/{cid}/survey/questions/{v1_question}").status_code == 302

    refused = client.post(f"/campaigns/{cid}/survey/{draft_id}/questions/new", data={"label": "您最感兴趣的环节", "kind": "single", "choices": "路演"})
    assert refused.status_code == 400 and "至少需要 2 个不同的选项" in refused.get_data(as_text=True) and "您最感兴趣的环节" in refused.get_data(as_text=True)
    added = client.post(f"/campaigns/{cid}/survey/{draft_id}/questions/new", data={"label": "您最感兴趣的环节", "kind": "single", "choices": "路演\n对接会"})
    assert added.status_code == 302
    settings = client.post(
        f"/campaigns/{cid}/survey/{draft_id}/settings",
        data={"title": "2025 满意度调查", "intro": "", "invite_org_types": ["university"], "open_days": "20", "reminder_days": "5，12"},
    )
    assert settings.status_code == 302
    bad = client.post(f"/campaigns/{cid}/survey/{draft_id}/settings", data={"title": "x", "open_days": "10", "reminder_days": "3, 14"})
    assert bad.status_code == 400 and "提醒须在问卷关闭之前" in bad.get_data(as_text=True)

    confirm = client.get(f"/campaigns/{cid}/survey/{draft_id}/publish")
    assert confirm.status_code == 200 and "已发出的邀请仍使用原版本" in confirm.get_data(as_text=True)
    assert client.post(f"/campaigns/{cid}/survey/{draft_id}/publish", data={}).status_code == 400  # not confirmed
    assert client.post(f"/campaigns/{cid}/survey/{draft_id}/publish", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        published = surveys.published(campaign)
        assert published.id == draft_id and published.invite_org_types == ["university"] and published.reminder_days == [5, 12]
        assert published.questions[-1].choices == ["路演", "对接会"]
        # Invitations already sent still point at v1.
        assert {db.session.get(SurveyInvitation, i).questionnaire.version for i in survey["invitation_ids"]} == {1}
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "survey.publish")) is not None
    page = client.get(f"/campaigns/{cid}/survey?version=1").get_data(as_text=True)
    assert "已停用" in page

    # Results of the event are still read against v1.
    html = client.get(f"/events/{survey['event_id']}/survey").get_data(as_text=True)
    assert "您对本次主题日活动的总体满意度" in html and "您最感兴趣的环节" not in html


def test_event_before_invitations_says_when(app, client):  # noqa: ANN001
    with app.app_context():
        event = make_event("招商")
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        event_id, email = event.id, organiser.email
    login(client, email)
    html = client.get(f"/events/{event_id}/survey").get_data(as_text=True)
    assert "09:00" in html and "自动向已签到的参会者发送问卷链接" in html
    with app.app_context():
        assert db.session.get(Event, event_id) is not None
