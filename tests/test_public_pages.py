"""Public theme-day pages: approved content only (drafts never leak), withdrawn events, QR codes, the calendar link."""

from __future__ import annotations

import io
import re

import icalendar
import zxingcpp
from PIL import Image

from eventhub.core.urls import external_url
from eventhub.events.models import DetailPlan, Event, EventSession, EventStatus, TechNeed
from eventhub.extensions import db
from tests.event_helpers import add_need, add_session, approve, approved_event, make_event, make_plan

DRAFT = "草稿秘密XYZ"  # text typed in a working copy that nobody approved


def _public_texts(client, event_id: int) -> list[str]:  # noqa: ANN001
    """Everything the public can fetch about an event (page, event .ics, the year feed)."""
    texts = [client.get(f"/theme-days/{event_id}").get_data(as_text=True)]
    for url in (f"/theme-days/{event_id}.ics", "/calendar.ics"):
        response = client.get(url)
        assert response.status_code == 200
        cal = icalendar.Calendar.from_ical(response.data)
        texts.append(response.get_data(as_text=True))
        texts.append(" ".join(str(c.get(k, "")) for c in cal.walk("VEVENT") for k in ("SUMMARY", "DESCRIPTION", "LOCATION")))
    return texts


def _assert_not_public(client, event_id: int, *needles: str) -> None:  # noqa: ANN001
    for text in _public_texts(client, event_id):
        for needle in needles:
            assert needle not in text


def test_unapproved_plan_shows_header_only(app, client):
    with app.app_context():
        event = make_event("华润")
        plan = make_plan(event, goals=f"目标{DRAFT}", venue=f"会场{DRAFT}")
        session = add_session(plan, f"场次{DRAFT}")
        need = add_need(plan, f"需求{DRAFT}")
        db.session.commit()
        ids = event.id, session.id, need.id, event.title, event.host_base.name, event.start_date.isoformat()
    event_id, session_id, need_id, title, host, start = ids
    page = client.get(f"/theme-days/{event_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert title in html and host in html and start in html
    assert "活动方案审核通过后公布详细议程" in html
    assert 'id="agenda"' not in html and "我要揭榜" not in html
    _assert_not_public(client, event_id, DRAFT)
    cal = icalendar.Calendar.from_ical(client.get(f"/theme-days/{event_id}.ics").data)
    assert len(cal.walk("VEVENT")) == 1  # only the all-day theme day
    assert client.get(f"/theme-days/{event_id}/sessions/{session_id}.ics").status_code == 404
    assert client.get(f"/theme-days/{event_id}/needs/{need_id}/respond").status_code == 404


def test_edit_after_approval_never_leaks(app, client):
    with app.app_context():
        ids = approved_event("华润")
        plan = db.session.get(DetailPlan, ids["plan_id"])
        opening = db.session.get(EventSession, ids["session_ids"][0])
        opening.title = f"改名{DRAFT}"
        opening.start_time = opening.start_time.replace(hour=8)
        plan.goals = f"新目标{DRAFT}"
        plan.venue = f"新会场{DRAFT}"
        new_session = add_session(plan, f"新场次{DRAFT}", start="16:00", end="17:00")
        new_need = add_need(plan, f"新需求{DRAFT}")
        db.session.get(TechNeed, ids["need_id"]).description = f"改过的描述{DRAFT}"
        db.session.commit()
        new_ids = new_session.id, new_need.id
    event_id = ids["event_id"]
    html = client.get(f"/theme-days/{event_id}").get_data(as_text=True)
    assert "开幕式暨技术需求发布" in html and "09:00" in html  # the approved v1
    assert "推动大中小企业融通创新" in html
    _assert_not_public(client, event_id, DRAFT)
    assert client.get(f"/theme-days/{event_id}/sessions/{new_ids[0]}.ics").status_code == 404
    assert client.get(f"/theme-days/{event_id}/needs/{new_ids[1]}/respond").status_code == 404
    form = client.get(f"/theme-days/{event_id}/needs/{ids['need_id']}/respond").get_data(as_text=True)
    assert DRAFT not in form
    session_ics = client.get(f"/theme-days/{event_id}/sessions/{ids['session_ids'][0]}.ics").get_data(as_text=True)
    assert DRAFT not in session_ics and "开幕式暨技术需求发布" in session_ics


def test_withdrawn_event_says_so_and_shows_no_agenda(app, client):
    with app.app_context():
        ids = approved_event("国网")
        event = db.session.get(Event, ids["event_id"])
        event.status = EventStatus.WITHDRAWN.value
        event.sequence += 1
        db.session.get(EventSession, ids["session_ids"][0]).title = f"撤销后草稿{DRAFT}"
        db.session.commit()
    event_id = ids["event_id"]
    page = client.get(f"/theme-days/{event_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "已撤销" in html and "本次主题日已撤销" in html
    assert "我要揭榜" not in html and 'id="agenda"' not in html
    _assert_not_public(client, event_id, DRAFT)
    assert client.get(f"/theme-days/{event_id}/sessions/{ids['session_ids'][0]}.ics").status_code == 404
    assert client.get(f"/theme-days/{event_id}/needs/{ids['need_id']}/respond").status_code == 404
    calendar = client.get("/calendar").get_data(as_text=True)
    assert f'href="/theme-days/{event_id}"' in calendar and "已撤销" in calendar


def test_approved_page_shows_agenda_needs_resources_bases_and_meta(app, client):
    with app.app_context():
        ids = approved_event("华润", days=2)
        event = db.session.get(Event, ids["event_id"])
        start, end, title = event.start_date.isoformat(), event.end_date.isoformat(), event.title
    html = client.get(f"/theme-days/{ids['event_id']}").get_data(as_text=True)
    assert start in html and end in html and "北京市朝阳区示范大厦一层" in html
    agenda = html[html.index('id="agenda"') : html.index('id="needs"')]
    assert agenda.index(start) < agenda.index("开幕式暨技术需求发布") < agenda.index(end) < agenda.index("创新团队路演")
    assert "09:00" in agenda and "10:30" in agenda and "14:00" in agenda and "17:30" in agenda
    assert "开幕式" in agenda and "路演" in agenda and "公开" in agenda and "仅限受邀" in agenda
    assert "创新资源开放共享" in agenda and "创新团队对接路演" in agenda
    assert "https://live.example.com/roadshow/" in agenda
    assert f"/theme-days/{ids['event_id']}/sessions/{ids['session_ids'][1]}.ics" in agenda
    needs = html[html.index('id="needs"') :]
    assert "高温合金叶片无损检测技术" in needs and "先进制造" in needs and "50–200 万元" in needs
    assert f"/theme-days/{ids['event_id']}/needs/{ids['need_id']}/respond" in needs and "我要揭榜" in needs
    assert "国家重点实验室（材料检测）" in html and "实验室" in html and "提前一周预约" in html
    assert "深圳市南山区" in html and "组织区内中小企业参会" in html
    assert f'<meta property="og:title" content="{title}">' in html
    assert re.search(r'<meta property="og:description" content="[^"]*推动大中小企业融通创新', html)
    assert f'<meta property="og:url" content="http://localhost/theme-days/{ids["event_id"]}">' in html
    assert f'src="/theme-days/{ids["event_id"]}/qr.png"' in html


def test_closed_need_has_no_answer_button(app, client):
    from datetime import timedelta

    from eventhub.core.timeutil import utcnow

    with app.app_context():
        event = make_event("中石油")
        plan = make_plan(event)
        add_need(plan, "已截止的需求", deadline=utcnow() - timedelta(minutes=1))
        approve(plan)
        db.session.commit()
        event_id = event.id
    html = client.get(f"/theme-days/{event_id}").get_data(as_text=True)
    assert "已截止的需求" in html and "揭榜已截止" in html and "/respond" not in html


def test_unknown_event_is_404(client):
    assert client.get("/theme-days/999").status_code == 404
    assert client.get("/theme-days/999.ics").status_code == 404
    assert client.get("/theme-days/999/qr.png").status_code == 404


def test_qr_png_decodes_to_the_page_url_and_svg_is_served(app, client):
    with app.app_context():
        ids = approved_event("华润")
    event_id = ids["event_id"]
    response = client.get(f"/theme-days/{event_id}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    with app.test_request_context("/"):
        expected = external_url("events.public_page", event_id=event_id)
    assert expected == f"http://localhost/theme-days/{event_id}"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert [d.text for d in decoded] == [expected]
    assert decoded[0].format == zxingcpp.BarcodeFormat.QRCode

    svg = client.get(f"/theme-days/{event_id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data and b"<path" in svg.data


def test_qr_uses_public_base_url_when_configured(make_app):
    app = make_app(PUBLIC_BASE_URL="https://eventhub.example.cn")
    with app.app_context():
        ids = approved_event("华润")
    client = app.test_client()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(client.get(f"/theme-days/{ids['event_id']}/qr.png").data)))
    assert decoded[0].text == f"https://eventhub.example.cn/theme-days/{ids['event_id']}"
    html = client.get(f"/theme-days/{ids['event_id']}").get_data(as_text=True)
    assert f'value="https://eventhub.example.cn/theme-days/{ids["event_id"]}"' in html


def test_calendar_links_each_event_to_its_page(app, client):
    with app.app_context():
        a = approved_event("华润")
        b = make_event("国网").id
        db.session.commit()
    html = client.get("/calendar", query_string={"year": db_year(app, a["event_id"])}).get_data(as_text=True)
    assert f'href="/theme-days/{a["event_id"]}"' in html and f'href="/theme-days/{b}"' in html


def db_year(app, event_id: int) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.get(Event, event_id).start_date.year
