"""Road-show schedule pages: sessions (add with errors kept, edit, delete with confirmation), panel
editor, the schedule page (auto-schedule, grid, unplaced with reasons, hand edit with the JSON
check, refusal without JavaScript), publish with the notification list and confirmation, version
history, the run sheet (full mobiles, print CSS), the public agenda (published version only, no
contacts) and permissions (another host 404, other roles 403). A Chromium test runs the host's
whole path and reads the public agenda.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.roadshow import schedule as svc
from eventhub.roadshow.models import RoadshowSession, ScheduleStatus
from tests.browser_helpers import login as browser_login
from tests.factories import login, make_user, user_and_login
from tests.test_roadshow_schedule import add_session, outbox, project, roadshow_event, session_data, the_event

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def base_url(ids: dict[str, Any]) -> str:
    return f"/events/{ids['event_id']}/roadshow"


def host_login(app, client, ids: dict[str, Any]) -> None:  # noqa: ANN001
    login(client, ids["host_email"])


def test_sessions_pages_add_edit_delete_and_panel(app, client, backend):
    with app.app_context():
        ids = roadshow_event()
        reviewer = make_user(Role.REVIEWER)
        participant = make_user(Role.PARTICIPANT)
        db.session.commit()
        reviewer_email, participant_email = reviewer.email, participant.email
    host_login(app, client, ids)
    url = base_url(ids)
    page = client.get(f"{url}/schedule")
    assert page.status_code == 200 and "还没有路演场次" in page.get_data(as_text=True)
    form = client.get(f"{url}/sessions/new").get_data(as_text=True)
    assert "先进制造" in form and "创新团队路演" in form  # track choices and the agenda link
    bad = client.post(f"{url}/sessions/new", data=session_data(ids, title="", end_time="13:00", room="我的会场"))
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "请填写场次名称" in html and "结束时间应晚于开始时间" in html and 'value="我的会场"' in html
    ok = client.post(f"{url}/sessions/new", data=session_data(ids, breaks="14:30-14:40"))
    assert ok.status_code == 302
    clash = client.post(f"{url}/sessions/new", data=session_data(ids, title="重叠"))
    assert clash.status_code == 400 and "不能重叠" in clash.get_data(as_text=True)
    with app.app_context():
        session_id = db.session.scalar(select(RoadshowSession.id))
    edit = client.get(f"{url}/sessions/{session_id}/edit").get_data(as_text=True)
    assert "14:30-14:40" in edit and 'value="新能源专场"' in edit
    assert client.post(f"{url}/sessions/{session_id}/edit", data=session_data(ids, title="改名专场")).status_code == 302
    # panel: a participant cannot be a judge; a reviewer can; remove
    panel_url = f"{url}/sessions/{session_id}/panel"
    refused = client.post(panel_url, data={"email": participant_email, "role": "judge"})
    assert refused.status_code == 400 and "评审专家" in refused.get_data(as_text=True)
    assert client.post(panel_url, data={"email": reviewer_email, "role": "judge"}).status_code == 302
    assert client.post(panel_url, data={"email": participant_email, "role": "investor"}).status_code == 302
    text = client.get(panel_url).get_data(as_text=True)
    assert reviewer_email in text and participant_email in text
    with app.app_context():
        member_id = db.session.get(RoadshowSession, session_id).panel[1].id
    assert client.post(f"{panel_url}/{member_id}/remove").status_code == 302
    assert participant_email not in client.get(panel_url).get_data(as_text=True)
    # delete asks for confirmation first
    confirm = client.get(f"{url}/sessions/{session_id}/delete")
    assert confirm.status_code == 200 and "我已确认" in confirm.get_data(as_text=True)
    assert client.post(f"{url}/sessions/{session_id}/delete", data={}).status_code == 200  # not ticked: nothing deleted
    with app.app_context():
        assert db.session.get(RoadshowSession, session_id) is not None
    assert client.post(f"{url}/sessions/{session_id}/delete", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.get(RoadshowSession, session_id) is None


def test_schedule_page_auto_edit_check_publish_and_agenda(app, client, backend):
    with app.app_context():
        ids = roadshow_event()
        a = add_session(ids, title="A厅专场", room="A厅", track="先进制造", end_time="14:30")  # 2 slots
        p1 = project(ids, 1, project_name="叶片检测")
        p2 = project(ids, 2, project_name="储能电池", field="新能源")
        p3 = project(ids, 3, project_name="第三个项目")
        db.session.commit()
        ids.update(a=a.id, p1=p1.id, p2=p2.id, p3=p3.id)
    host_login(app, client, ids)
    url = base_url(ids)
    # the public agenda is empty before publication
    empty = client.get(f"/theme-days/{ids['event_id']}/roadshow")
    assert empty.status_code == 200 and "路演日程尚未发布" in empty.get_data(as_text=True)
    assert client.post(f"{url}/schedule/auto").status_code == 302
    html = client.get(f"{url}/schedule").get_data(as_text=True)
    assert "叶片检测" in html and "第三个项目" in html and 'id="unplaced-' in html
    assert "能安排的时段都已排满（时段不足）。" in html  # the reason of the one left out
    assert "草稿" in html and 'name="csrf-token"' in html
    with app.app_context():
        draft = svc.get_draft(the_event(ids))
        placed = {p.application_id: p for p in draft.placements}
        left_out = next(x for x in (ids["p1"], ids["p2"], ids["p3"]) if x not in placed)
        taken_slot = f"{ids['a']}:1"
        occupant = next(k for k, p in placed.items() if svc.placement_slot_ids(draft, svc.slots_for(the_event(ids)))[k] == taken_slot)
    # the JSON check: putting the left-out project into slot 1 is a swap, nothing saved
    check = client.get(f"{url}/schedule/check", query_string={"application_id": left_out, "slot_id": taken_slot})
    assert check.status_code == 200 and check.json["action"] == "swap" and check.json["ok"] is True
    remove = client.get(f"{url}/schedule/check", query_string={"application_id": occupant, "slot_id": ""})
    assert remove.json["action"] == "remove" and remove.json["ok"]
    assert client.get(f"{url}/schedule/check", query_string={"application_id": occupant, "slot_id": "nope"}).status_code == 400
    # without JavaScript: the plain form swaps and pins
    assert client.post(f"{url}/schedule/edit", data={"application_id": left_out, "slot_id": taken_slot}).status_code == 302
    with app.app_context():
        draft = svc.get_draft(the_event(ids))
        now = {p.application_id: p for p in draft.placements}
        assert left_out in now and occupant not in now and now[left_out].pinned
    # publish: the confirmation lists who will be notified; unticked does nothing
    confirm = client.get(f"{url}/schedule/publish").get_data(as_text=True)
    assert "contact" in confirm and "发布并发送通知" in confirm
    assert client.post(f"{url}/schedule/publish", data={}).status_code == 200
    with app.app_context():
        assert svc.current_published(the_event(ids)) is None
    assert client.post(f"{url}/schedule/publish", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        published = svc.current_published(the_event(ids))
        assert published.status == ScheduleStatus.PUBLISHED.value and len(outbox()) == 4  # two projects × contact + presenter
    agenda = client.get(f"/theme-days/{ids['event_id']}/roadshow").get_data(as_text=True)
    assert "A厅" in agenda and "测试科技" in agenda
    assert "139000" not in agenda and "137000" not in agenda and "@example.com" not in agenda  # no contacts
    # a new draft does not reach the public agenda
    client.post(f"{url}/schedule/edit", data={"application_id": occupant, "slot_id": f"{ids['a']}:2"})  # swap back in
    with app.app_context():
        names_published = {p.application.project_name for p in svc.current_published(the_event(ids)).placements}
    agenda = client.get(f"/theme-days/{ids['event_id']}/roadshow").get_data(as_text=True)
    for name in names_published:
        assert name in agenda
    # the run sheet: published by default, draft on request, full mobiles, print CSS
    sheet = client.get(f"{url}/sessions/{ids['a']}/run-sheet").get_data(as_text=True)
    assert "@media print" in sheet and "已发布第 1 版" in sheet and "王主持" in sheet
    assert any(f"137{n:08d}" in sheet for n in (1, 2, 3))
    draft_sheet = client.get(f"{url}/sessions/{ids['a']}/run-sheet?version=draft").get_data(as_text=True)
    assert "草稿第 2 版" in draft_sheet
    versions = client.get(f"{url}/schedule/versions").get_data(as_text=True)
    assert "第 1 版" in versions and "已发布" in versions and "第 2 版" in versions


def test_hard_conflict_refused_by_the_plain_form(app, client, backend):
    with app.app_context():
        ids = roadshow_event()
        a = add_session(ids, title="A", room="A厅")
        b = add_session(ids, title="B", room="B厅")
        p1 = project(ids, 1, mobile="13711111111")
        p2 = project(ids, 2, mobile="13711111111")
        svc.move_placement(the_event(ids), p1, f"{a.id}:1", actor=None)
        db.session.commit()
        ids.update(a=a.id, b=b.id, p1=p1.id, p2=p2.id)
    host_login(app, client, ids)
    url = base_url(ids)
    check = client.get(f"{url}/schedule/check", query_string={"application_id": ids["p2"], "slot_id": f"{ids['b']}:1"}).json
    assert check["ok"] is False and check["conflicts"][0]["code"] == "presenter_overlap"
    response = client.post(f"{url}/schedule/edit", data={"application_id": ids["p2"], "slot_id": f"{ids['b']}:1"}, follow_redirects=True)
    assert "调整未保存" in response.get_data(as_text=True)
    with app.app_context():
        assert {p.application_id for p in svc.get_draft(the_event(ids)).placements} == {ids["p1"]}


def test_permissions_other_host_404_other_roles_403_public_agenda_404_without_plan(app, client, backend):
    with app.app_context():
        ids = roadshow_event()
        s = add_session(ids)
        db.session.commit()
        sid = s.id
        other = roadshow_event()
    url = base_url(ids)
    pages = [
        f"{url}/schedule",
        f"{url}/schedule/versions",
        f"{url}/schedule/publish",
        f"{url}/sessions/new",
        f"{url}/sessions/{sid}/edit",
        f"{url}/sessions/{sid}/delete",
        f"{url}/sessions/{sid}/panel",
        f"{url}/sessions/{sid}/run-sheet",
    ]
    assert client.get(pages[0]).status_code == 302  # log in first
    login(client, other["host_email"])
    for page in pages:
        assert client.get(page).status_code == 404, page
    assert client.post(f"{url}/schedule/auto").status_code == 404
    # a session of another event under this event's URL
    with app.app_context():
        theirs = add_session(other, title="别家的", room="别家厅")
        db.session.commit()
        their_id = theirs.id
    client.post("/logout")
    login(client, ids["host_email"])
    assert client.get(f"{url}/sessions/{their_id}/edit").status_code == 404
    assert client.get(f"{url}/sessions/{sid}/run-sheet").status_code == 200
    client.post("/logout")
    user_and_login(app, client, Role.REVIEWER)
    assert client.get(f"{url}/schedule").status_code == 403
    client.post("/logout")
    user_and_login(app, client, Role.ORGANISER)
    assert client.get(f"{url}/schedule").status_code == 200
    assert client.get("/theme-days/999999/roadshow").status_code == 404


def test_publish_mail_recipients_via_pages(app, client, backend):
    with app.app_context():
        ids = roadshow_event()
        add_session(ids)
        project(ids, 1)
        db.session.commit()
    host_login(app, client, ids)
    url = base_url(ids)
    client.post(f"{url}/schedule/auto")
    client.post(f"{url}/schedule/publish", data={"confirm": "y"})
    client.post(f"{url}/schedule/publish", data={"confirm": "y"})  # no draft any more: nothing happens twice
    with app.app_context():
        assert sorted(m.recipient for m in db.session.scalars(select(MailMessage))) == ["contact1@example.com", "p1@example.com"]


# ---- Chromium -------------------------------------------------------------------------------------


def test_host_auto_schedules_and_publishes_in_chromium(live_server, browser: Browser, backend: str, screenshot_dir):
    app, root = live_server
    with app.app_context():
        ids = roadshow_event()
        add_session(ids, title="新能源专场", room="一号路演厅", track="新能源")
        add_session(ids, title="先进制造专场", room="二号路演厅", track="先进制造")
        project(ids, 1, project_name="高温叶片在线检测", field="先进制造")
        project(ids, 2, project_name="固态储能电池", field="新能源")
        project(ids, 3, project_name="氢能压缩机", field="新能源", mobile="13700000002")  # shares a presenter with 2
        db.session.commit()
    context = browser.new_context()
    page = context.new_page()
    browser_login(page, root, ids["host_email"])
    page.goto(f"{root}/events/{ids['event_id']}/roadshow/schedule")
    expect(page.locator("#grid-empty")).to_be_visible()
    page.click("#auto-schedule")
    expect(page.locator(".grid-project")).to_have_count(3)
    expect(page.locator("#grid-session-1, .grid-session").first).to_contain_text("一号路演厅")
    # the check runs before saving: moving 氢能压缩机 next to its presenter's other pitch is refused
    page.locator(".grid-slot", has_text="氢能压缩机").locator(".adjust-link").click()
    with app.app_context():
        draft = svc.get_draft(the_event(ids))
        other = next(p for p in draft.placements if p.application.project_name == "固态储能电池")
        slots = svc.slots_for(the_event(ids))
        clash_slot = next(s for s in slots if s.start == other.starts_at and s.session_id != other.session_id)
    page.select_option("#slot_id", str(clash_slot.id))
    expect(page.locator("#check-result")).to_contain_text("主讲人")
    expect(page.locator("#edit-save")).to_be_disabled()
    page.screenshot(path=str(screenshot_dir / "roadshow-schedule-check.png"), full_page=True)
    page.click("#publish-link")
    expect(page.locator("#notify-list")).to_contain_text("contact1@example.com")
    page.check("#confirm")
    page.click("#confirm-publish")
    expect(page.locator(".alert-success")).to_contain_text("已发布")
    page.goto(f"{root}/theme-days/{ids['event_id']}/roadshow")
    expect(page.locator("#roadshow-agenda")).to_contain_text("高温叶片在线检测")
    expect(page.locator("#roadshow-agenda")).to_contain_text("二号路演厅")
    expect(page.locator(".agenda-slot")).to_have_count(3)
    page.screenshot(path=str(screenshot_dir / "roadshow-public-agenda.png"), full_page=True)
    context.close()
