"""The host's registration management pages (报名管理): permissions, list, bulk decisions, cancel,
counts, export and the question editor.

Real database (SQLite and PostgreSQL through the ``app`` fixture), real services, real outbox rows,
the XLSX opened with openpyxl.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import unquote, urlencode

import openpyxl
from flask.testing import FlaskClient
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.registration import questions as q
from eventhub.registration import services as rs
from eventhub.registration.models import Registration, RegistrationQuestion
from tests.factories import login, make_user
from tests.test_registration_services import event_of, reg_event, register


def login_host(app: Any, client: FlaskClient, ids: dict[str, Any]) -> None:
    with app.app_context():
        email = db.session.get(User, ids["host_id"]).email
    login(client, email)


def login_role(app: Any, client: FlaskClient, role: Role) -> None:
    with app.app_context():
        user = make_user(role)
        db.session.commit()
        email = user.email
    login(client, email)


def reg(rid: int) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, rid)


def list_url(ids: dict[str, Any], **args: Any) -> str:
    return f"/events/{ids['event_id']}/registrations" + (f"?{urlencode(args)}" if args else "")


def row_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-registration="(\d+)"', html)]


# ---- permissions -------------------------------------------------------------------------------


def test_only_the_events_hosts_and_organisers_get_in(app, client):
    with app.app_context():
        ids = reg_event()
        registration, _token = register(ids)
        question = q.define_question(event_of(ids), "是否需要午餐", "yesno")
        db.session.commit()
        rid, qid = registration.id, question.id
    base = f"/events/{ids['event_id']}"
    gets = [
        f"{base}/registrations",
        f"{base}/registrations.xlsx",
        f"{base}/registrations/{rid}",
        f"{base}/registrations/{rid}/cancel",
        f"{base}/registrations/waitlist",
        f"{base}/registration/questions",
        f"{base}/registration/questions/{qid}",
        f"{base}/registration/questions/{qid}/remove",
    ]
    for path in gets:  # anonymous: to the log-in page
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    with app.app_context():
        other = reg_event()  # another base's host
    login_host(app, client, other)
    for path in gets:
        assert client.get(path).status_code == 404, path
    assert client.post(f"{base}/registrations/bulk", data={"action": "approve", "ids": [rid]}).status_code == 404
    assert client.post(f"{base}/registrations/{rid}/cancel", data={"confirm": "y"}).status_code == 404
    assert client.post(f"{base}/registration/questions", data={"label": "偷偷加题", "kind": "text"}).status_code == 404
    with app.app_context():
        assert reg(rid).status == "confirmed"
        assert db.session.scalar(select(RegistrationQuestion).where(RegistrationQuestion.label == "偷偷加题")) is None
    # a registration of the other event is not reachable through this host's own event either
    client.post("/logout")
    login_host(app, client, ids)
    assert client.get(f"/events/{other['event_id']}/registrations").status_code == 404
    assert client.get(f"/events/{ids['event_id']}/registrations/{rid}").status_code == 200
    with app.app_context():
        foreign, _token = register(other, 7)
        db.session.commit()
        foreign_id = foreign.id
    assert client.get(f"/events/{ids['event_id']}/registrations/{foreign_id}").status_code == 404
    client.post("/logout")
    login_role(app, client, Role.ORGANISER)
    for path in gets:
        assert client.get(path).status_code == 200, path
    client.post("/logout")
    login_role(app, client, Role.ASSESSOR)
    assert client.get(f"{base}/registrations").status_code == 403


# ---- the list -----------------------------------------------------------------------------------


def test_search_filters_sort_and_pagination(app, client):
    with app.app_context():
        ids = reg_event(capacity=None, sessions=(("开幕式", None, "open"), ("对接会", None, "open")))
        opening, matching = ids["session_ids"]
        made = []
        for n in range(55):
            org_type = "university" if n % 5 == 0 else "sme"
            extra = {"organisation": f"测试大学{n}", "uscc": ""} if org_type == "university" else {"organisation": f"福州精测{n}科技有限公司"}
            registration, _t = register(
                ids, n, name=f"报名人{n:02d}", org_type=org_type, session_ids=[matching] if n % 2 else [opening], mobile=f"1390000{n:04d}", **extra
            )
            made.append(registration.id)
        special, _t = register(ids, 99, name="王五", organisation="北京大学", org_type="university", uscc="", email="wangwu@pku.example.com")
        code = special.ticket.code
        rs.cancel(db.session.get(Registration, made[3]), actor=None)
        special_id = special.id
    login_host(app, client, ids)
    page1 = client.get(list_url(ids)).get_data(as_text=True)
    assert len(row_ids(page1)) == 50 and "共 56 条，第 1 / 2 页" in page1
    assert row_ids(page1)[0] == special_id  # newest first
    assert "139****0054" in page1 and "13900000054" not in page1  # masked in the list
    page2 = client.get(list_url(ids, page=2)).get_data(as_text=True)
    assert len(row_ids(page2)) == 6 and not set(row_ids(page1)) & set(row_ids(page2))
    # search by name, organisation, mobile digits, e-mail, ticket number
    assert row_ids(client.get(list_url(ids, q="王五")).get_data(as_text=True)) == [special_id]
    assert row_ids(client.get(list_url(ids, q="北京大学")).get_data(as_text=True)) == [special_id]
    assert row_ids(client.get(list_url(ids, q="wangwu@PKU")).get_data(as_text=True)) == [special_id]
    assert row_ids(client.get(list_url(ids, q=code.lower())).get_data(as_text=True)) == [special_id]
    assert row_ids(client.get(list_url(ids, q="0000 0007")).get_data(as_text=True)) == [made[7]]
    assert row_ids(client.get(list_url(ids, q="%")).get_data(as_text=True)) == []  # LIKE wildcards are escaped
    # filters: status, organisation type, session; combined; kept in the pager and the export link
    cancelled = client.get(list_url(ids, status="cancelled")).get_data(as_text=True)
    assert row_ids(cancelled) == [made[3]]
    universities = client.get(list_url(ids, org_type="university", sort="oldest")).get_data(as_text=True)
    assert row_ids(universities) == [made[n] for n in range(0, 55, 5)] + [special_id]
    in_matching = row_ids(client.get(list_url(ids, session=matching, sort="oldest")).get_data(as_text=True))
    assert in_matching == [made[n] for n in range(1, 55, 2)]
    combined = row_ids(client.get(list_url(ids, session=matching, org_type="university", sort="oldest")).get_data(as_text=True))
    assert combined == [made[n] for n in range(5, 55, 10)]
    oldest = client.get(list_url(ids, sort="oldest", q="报名人")).get_data(as_text=True)
    assert row_ids(oldest)[0] == made[0] and "共 55 条，第 1 / 2 页" in oldest
    pager_link = re.search(r'<a class="page-link" href="([^"]*)">2</a>', oldest).group(1).replace("&amp;", "&")
    assert "sort=oldest" in pager_link and "q=%E6%8A%A5%E5%90%8D%E4%BA%BA" in pager_link and "page=2" in pager_link
    assert len(row_ids(client.get(pager_link).get_data(as_text=True))) == 5
    html = client.get(list_url(ids, org_type="sme")).get_data(as_text=True)
    assert f"/events/{ids['event_id']}/registrations.xlsx?org_type=sme" in html and 'value="sme" selected' in html
    empty = client.get(list_url(ids, q="不存在的人")).get_data(as_text=True)
    assert "没有符合条件的报名" in empty


def test_counts_by_status_and_organisation_type(app, client):
    with app.app_context():
        ids = reg_event(capacity=3)
        register(ids, 1, org_type="sme")
        register(ids, 2, org_type="startup")
        register(ids, 3, org_type="university", uscc="", organisation="清华大学")
        register(ids, 4, org_type="university", uscc="", organisation="北京大学")  # wait-listed
        register(ids, 5, org_type="investor", uscc="", organisation="红杉资本")  # wait-listed
        first = db.session.scalar(select(Registration).where(Registration.mobile == "13800000001"))
        rs.cancel(first)  # the first university person is promoted
    login_host(app, client, ids)
    html = client.get(list_url(ids)).get_data(as_text=True)
    statuses = dict(re.findall(r'data-status-count="(\w+)">\s*<div[^>]*>[^<]*</div><div[^>]*>(\d+)</div>', html))
    assert statuses == {"confirmed": "3", "pending": "0", "waitlisted": "1", "declined": "0", "cancelled": "1"}
    table = html.split('id="org-counts"')[1].split("</table>")[0]
    rows = dict(re.findall(r'<tr data-org="(\w+)">.*?data-active>(\d+)</td>', table, flags=re.S))
    assert rows == {"sme": "0", "startup": "1", "university": "2", "investor": "1"}
    university = re.search(r'<tr data-org="university">(.*?)</tr>', table, flags=re.S).group(1)
    assert re.search(r'data-status="confirmed">2<', university) and re.search(r'data-status="waitlisted">0<', university)
    assert "中小企业" in table and "高校" in table and "投资机构" in table
    assert "已用 3 / 3" in html and "剩余 0" in html
    waitlist = client.get(f"/events/{ids['event_id']}/registrations/waitlist").get_data(as_text=True)
    assert "红杉资本" in waitlist and "清华大学" not in waitlist


# ---- decisions ------------------------------------------------------------------------------------


def bulk(client: FlaskClient, ids: dict[str, Any], action: str, rids: list[int], **extra: Any) -> Any:
    return client.post(f"/events/{ids['event_id']}/registrations/bulk", data={"action": action, "ids": [str(r) for r in rids], **extra})


def test_bulk_approve_takes_places_in_order_and_keeps_the_rest_pending(app, client):
    with app.app_context():
        ids = reg_event(capacity=2, mode="moderated")
        rids = [register(ids, n)[0].id for n in range(3)]
        done = register(ids, 9)[0]
        rs.decline([done], "名额已满", actor=None)
        declined_id = done.id
    login_host(app, client, ids)
    listing = client.get(list_url(ids)).get_data(as_text=True)
    assert 'id="bulk-approve"' in listing and f'name="ids" value="{rids[0]}"' in listing
    step1 = bulk(client, ids, "approve", [*rids, declined_id])
    assert step1.status_code == 200
    text = step1.get_data(as_text=True)
    assert "活动剩余名额 2 个，本次需要 3 个" in text and "其余报名仍为待审核" in text
    assert 'id="skipped"' in text and "未通过" in text
    with app.app_context():
        assert [reg(r).status for r in rids] == ["pending"] * 3  # nothing happens before the confirmation
    step2 = bulk(client, ids, "approve", [*rids, declined_id], confirmed="1", back="status=pending")
    assert step2.status_code == 302 and step2.headers["Location"].endswith(list_url(ids, status="pending"))
    page = client.get(step2.headers["Location"]).get_data(as_text=True)
    assert "已通过 2 份报名" in page and "1 份报名因名额已满仍为待审核" in page and "名额已满，仍为待审核" in page
    assert "1 份报名不是待审核状态" in page
    with app.app_context():
        assert [reg(r).status for r in rids] == ["confirmed", "confirmed", "pending"]
        assert reg(rids[0]).ticket is not None
        keys = set(db.session.scalars(select(MailMessage.key).where(MailMessage.key.like("registration:%:confirmed"))))
        assert keys == {f"registration:{rids[0]}:confirmed", f"registration:{rids[1]}:confirmed"}
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action == "registration.approve")))
        assert len(actions) == 2


def test_bulk_decline_needs_a_note_and_mails_it(app, client):
    with app.app_context():
        ids = reg_event(mode="moderated")
        rids = [register(ids, n)[0].id for n in range(2)]
    login_host(app, client, ids)
    step1 = bulk(client, ids, "decline", rids)
    assert step1.status_code == 200 and 'name="note"' in step1.get_data(as_text=True)
    refused = bulk(client, ids, "decline", rids, confirmed="1", note="   ")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "请填写未通过的原因，报名人会看到这段说明。" in html and "is-invalid" in html
    too_long = bulk(client, ids, "decline", rids, confirmed="1", note="因" * 501)
    assert too_long.status_code == 400 and "说明最多 500 个字符" in too_long.get_data(as_text=True)
    assert "因" * 501 in too_long.get_data(as_text=True)  # what was typed is kept
    with app.app_context():
        assert [reg(r).status for r in rids] == ["pending", "pending"]
    done = bulk(client, ids, "decline", rids, confirmed="1", note="本场面向企业技术负责人，名额有限。")
    assert done.status_code == 302
    assert "已将 2 份报名标记为“未通过”" in client.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert [reg(r).status for r in rids] == ["declined", "declined"]
        for rid in rids:
            mail = db.session.scalar(select(MailMessage).where(MailMessage.key == f"registration:{rid}:declined"))
            assert mail is not None and "本场面向企业技术负责人，名额有限。" in mail.body
        assert reg(rids[0]).host_note == "本场面向企业技术负责人，名额有限。"
    detail = client.get(f"/events/{ids['event_id']}/registrations/{rids[0]}").get_data(as_text=True)
    assert "审核未通过" in detail and "本场面向企业技术负责人" in detail


def test_nothing_chosen_is_said_so(app, client):
    with app.app_context():
        ids = reg_event(mode="moderated")
    login_host(app, client, ids)
    response = bulk(client, ids, "approve", [])
    assert response.status_code == 302
    assert "请先勾选要处理的报名" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_reapproval_after_an_edit_is_shown_and_decided(app, client):
    with app.app_context():
        ids = reg_event(mode="moderated")
        first, _t = register(ids, 1)
        other, _t = register(ids, 2)
        rs.approve([first, other], actor=None)
        rs.update_answers(db.session.get(Registration, first.id), {"position": "总经理"})
        fid, oid = first.id, other.id
    login_host(app, client, ids)
    html = client.get(list_url(ids)).get_data(as_text=True)
    assert 'id="reapproval-alert"' in html and "1 份已确认的报名修改了信息" in html
    only = client.get(list_url(ids, reapproval=1)).get_data(as_text=True)
    assert row_ids(only) == [fid] and "需重新审核" in only
    detail = client.get(f"/events/{ids['event_id']}/registrations/{fid}").get_data(as_text=True)
    assert 'id="needs-reapproval"' in detail and "报名人修改了信息" in detail
    response = bulk(client, ids, "approve", [fid, oid], confirmed="1")
    assert response.status_code == 302
    with app.app_context():
        assert reg(fid).needs_reapproval is False and reg(fid).status == "confirmed"


def test_cancel_needs_a_confirmation_and_promotes_the_waiting_list(app, client):
    with app.app_context():
        ids = reg_event(capacity=1)
        first, _t = register(ids, 1)
        second, _t = register(ids, 2, name="李四")
        third, _t = register(ids, 3, name="王五")
        assert (first.status, second.status, third.status) == ("confirmed", "waitlisted", "waitlisted")
        fid, sid, tid = first.id, second.id, third.id
    login_host(app, client, ids)
    waitlist = client.get(f"/events/{ids['event_id']}/registrations/waitlist").get_data(as_text=True)
    assert waitlist.index("李四") < waitlist.index("王五")
    detail = client.get(f"/events/{ids['event_id']}/registrations/{tid}").get_data(as_text=True)
    assert "候补第 2 位" in detail
    url = f"/events/{ids['event_id']}/registrations/{fid}/cancel"
    page = client.get(url)
    assert page.status_code == 200 and "名额将按顺序递补" in page.get_data(as_text=True)
    unticked = client.post(url, data={})
    assert unticked.status_code == 400 and "请先勾选确认框" in unticked.get_data(as_text=True)
    with app.app_context():
        assert reg(fid).status == "confirmed"
    done = client.post(url, data={"confirm": "y"})
    assert done.status_code == 302
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已取消" in shown and "候补递补：李四" in shown
    with app.app_context():
        assert (reg(fid).status, reg(sid).status, reg(tid).status) == ("cancelled", "confirmed", "waitlisted")
        keys = set(db.session.scalars(select(MailMessage.key)))
        assert f"registration:{fid}:cancelled" in keys and f"registration:{sid}:promoted" in keys
        cancel = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.cancel"))
        assert cancel.after["by"] == "host" and cancel.actor_id is not None
    again = client.get(url)
    assert again.status_code == 302  # no longer active: back to the detail page with the reason


# ---- export -------------------------------------------------------------------------------------------


def test_export_is_the_filtered_list_with_contacts_and_answers_and_is_audited(app, client):
    with app.app_context():
        ids = reg_event()
        event = event_of(ids)
        lunch = q.define_question(event, "是否需要午餐", "yesno", required=True)
        topics = q.define_question(event, "关注方向", "multiple", choices=["新材料", "人工智能", "生物医药"])
        db.session.commit()
        answers = {str(lunch.id): "yes", str(topics.id): ["人工智能", "新材料"]}
        one, _t = register(ids, 1, name="=HYPERLINK(1)", answers=answers, session_ids=[ids["session_ids"][0]], need_ids=[ids["need_id"]])
        register(ids, 2, org_type="university", uscc="", organisation="清华大学", answers={str(lunch.id): "no"})
        q.remove_question(topics)
        db.session.commit()
        code = one.ticket.code
    login_host(app, client, ids)
    response = client.get(f"/events/{ids['event_id']}/registrations.xlsx?org_type=sme")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and ".xlsx" in disposition
    with app.app_context():
        event = event_of(ids)
        assert unquote(disposition.split("''")[1]) == f"报名名单-{event.host_base.display_short_name}-{event.start_date:%Y%m%d}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header[:4] == ["编号", "状态", "需重新审核", "姓名"] and header[-2:] == ["是否需要午餐", "关注方向（已删除）"]
    assert len(rows) == 2  # only the SME
    row = dict(zip(header, rows[1], strict=True))
    assert row["姓名"] == "'=HYPERLINK(1)"  # never a formula
    assert row["手机号码"] == "13800000001" and row["电子邮箱"] == "p1@example.com"
    assert row["单位类型"] == "中小企业" and row["状态"] == "已确认" and row["票号"] == code
    assert row["参加场次"] == "开幕式" and row["感兴趣的技术需求"] == "高温合金叶片无损检测技术"
    assert row["是否需要午餐"] == "是" and row["关注方向（已删除）"] == "新材料、人工智能"
    everyone = openpyxl.load_workbook(io.BytesIO(client.get(f"/events/{ids['event_id']}/registrations.xlsx").data)).active
    assert everyone.max_row == 3
    with app.app_context():
        entries = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "registration.export").order_by(AuditLog.id)))
        assert [e.after["rows"] for e in entries] == [1, 2] and entries[0].after["filters"] == {"org_type": "sme"}
        assert entries[0].actor_id == ids["host_id"] and entries[0].object_id == str(ids["event_id"])


# ---- the question editor ---------------------------------------------------------------------------------


def qurl(ids: dict[str, Any], suffix: str = "") -> str:
    return f"/events/{ids['event_id']}/registration/questions{suffix}"


def test_question_editor_validates_adds_and_the_public_form_shows_it(app, client):
    with app.app_context():
        ids = reg_event()
    login_host(app, client, ids)
    page = client.get(qurl(ids))
    assert page.status_code == 200 and "还没有自定义问题" in page.get_data(as_text=True)
    refused = client.post(qurl(ids), data={"label": "午餐选择", "kind": "single", "choices": "素食\n素食\n", "help_text": "请选择一项"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "单选题和多选题至少需要 2 个不同的选项。" in html and 'value="午餐选择"' in html and "请选择一项" in html
    assert "is-invalid" in html
    blank = client.post(qurl(ids), data={"label": "  ", "kind": "text"})
    assert blank.status_code == 400 and "请填写问题。" in blank.get_data(as_text=True)
    bad_kind = client.post(qurl(ids), data={"label": "题", "kind": "essay"})
    assert bad_kind.status_code == 400 and "请选择题型" in bad_kind.get_data(as_text=True)
    with app.app_context():
        assert q.active_questions(event_of(ids)) == []
    added = client.post(qurl(ids), data={"label": "午餐选择", "kind": "single", "choices": "素食\n清真\n普通", "required": "y", "help_text": "请选择一项"})
    assert added.status_code == 302
    client.post(qurl(ids), data={"label": "参会人数", "kind": "number"})
    with app.app_context():
        lunch, people = q.active_questions(event_of(ids))
        assert (lunch.label, lunch.kind, lunch.required, lunch.choices) == ("午餐选择", "single", True, ["素食", "清真", "普通"])
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "registration_question.add", AuditLog.object_id == str(lunch.id))) is not None
        lunch_id, people_id = lunch.id, people.id
    public = client.get(f"/theme-days/{ids['event_id']}/register").get_data(as_text=True)
    assert "午餐选择" in public and "清真" in public and f'name="q_{lunch_id}"' in public
    assert public.index("午餐选择") < public.index("参会人数")
    # reorder: number question up
    assert client.post(qurl(ids, f"/{people_id}/move"), data={"direction": "up"}).status_code == 302
    public = client.get(f"/theme-days/{ids['event_id']}/register").get_data(as_text=True)
    assert public.index("参会人数") < public.index("午餐选择")
    listing = client.get(qurl(ids)).get_data(as_text=True)
    assert listing.index("参会人数") < listing.index("午餐选择")


def test_question_changes_that_would_break_answers_are_refused_and_removal_keeps_answers(app, client):
    with app.app_context():
        ids = reg_event()
        lunch = q.define_question(event_of(ids), "午餐选择", "single", choices=["素食", "清真", "普通"])
        db.session.commit()
        lunch_id = lunch.id
        one, _t = register(ids, 1, answers={str(lunch_id): "清真"})
        rid = one.id
    login_host(app, client, ids)
    edit = client.get(qurl(ids, f"/{lunch_id}"))
    assert edit.status_code == 200 and "“清真”（1）" in edit.get_data(as_text=True)
    refused = client.post(qurl(ids, f"/{lunch_id}"), data={"label": "午餐", "choices": "素食\n清 真\n普通"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "以下选项已有报名选择，不能删除或改名：“清真”（1 份）" in html and 'value="午餐"' in html
    ok = client.post(qurl(ids, f"/{lunch_id}"), data={"label": "午餐", "choices": "素食\n清真\n自带", "required": "y"})
    assert ok.status_code == 302
    with app.app_context():
        question = db.session.get(RegistrationQuestion, lunch_id)
        assert (question.label, question.choices, question.required, question.kind) == ("午餐", ["素食", "清真", "自带"], True, "single")
    confirm = client.get(qurl(ids, f"/{lunch_id}/remove"))
    assert confirm.status_code == 200 and "已有的 1 份回答不会删除" in confirm.get_data(as_text=True)
    assert client.post(qurl(ids, f"/{lunch_id}/remove")).status_code == 302
    public = client.get(f"/theme-days/{ids['event_id']}/register").get_data(as_text=True)
    assert f'name="q_{lunch_id}"' not in public and 'id="questions"' not in public
    detail = client.get(f"/events/{ids['event_id']}/registrations/{rid}").get_data(as_text=True)
    assert "午餐" in detail and "清真" in detail and "已从报名表移除" in detail
    assert client.get(qurl(ids, f"/{lunch_id}")).status_code == 404  # a removed question is not edited any more
    assert "已移除的问题（1）" in client.get(qurl(ids)).get_data(as_text=True)


def test_the_detail_page_shows_everything_the_registrant_gave(app, client):
    with app.app_context():
        ids = reg_event()
        topics = q.define_question(event_of(ids), "关注方向", "multiple", choices=["新材料", "人工智能"])
        db.session.commit()
        one, _t = register(
            ids, 1, session_ids=[ids["session_ids"][0]], need_ids=[ids["need_id"]], resource_ids=[ids["resource_id"]], answers={str(topics.id): ["人工智能"]}
        )
        rid, code = one.id, one.ticket.code
    login_host(app, client, ids)
    html = client.get(f"/events/{ids['event_id']}/registrations/{rid}").get_data(as_text=True)
    for text in (
        "张三",
        "福州精测科技有限公司",
        "中小企业",
        "13800000001",
        "p1@example.com",
        "开幕式",
        "高温合金叶片无损检测技术",
        "国家重点实验室（材料检测）",
    ):
        assert text in html, text
    assert code in html and "关注方向" in html and "人工智能" in html and "提交报名" in html


def test_overview_lists_the_events_one_manages(app, client):
    with app.app_context():
        mine = reg_event()
        other = reg_event()
        register(mine, 1)
        register(mine, 2)
        register(other, 3)
    login_host(app, client, mine)
    html = client.get("/events/registrations").get_data(as_text=True)
    assert f'data-event="{mine["event_id"]}"' in html and f'data-event="{other["event_id"]}"' not in html
    assert re.search(rf'<tr data-event="{mine["event_id"]}">.*?data-status="confirmed">2<', html, flags=re.S)
    client.post("/logout")
    login_role(app, client, Role.ORGANISER)
    html = client.get("/events/registrations").get_data(as_text=True)
    assert f'data-event="{mine["event_id"]}"' in html and f'data-event="{other["event_id"]}"' in html
    client.post("/logout")
    login_role(app, client, Role.ASSESSOR)
    assert client.get("/events/registrations").status_code == 403
