"""Judging pages: organiser round page, reviewer sheets, object-level access, CSRF."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as js
from eventhub.judging.defaults import PLAN_REVIEW_CRITERIA
from eventhub.judging.models import Assignment, JudgingRound
from tests.factories import PASSWORD, login, make_base, make_user, user_and_login


def _setup(app, n_judges: int = 2, start: bool = True):
    """A round with 2 items; every judge assigned to both. Returns ids."""
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        judges = [make_user(Role.REVIEWER) for _ in range(n_judges)]
        rnd = js.get_or_create_round("plan-review:9", "初步计划评审", PLAN_REVIEW_CRITERIA)
        js.sync_items(rnd, [js.ItemSpec("plan", 1, "中国华润计划", "/plans/1", []), js.ItemSpec("plan", 2, "国家电网计划", "/plans/2", [])])
        assignments = {}
        for item in rnd.items:
            for judge in judges:
                assignments[(item.ref_id, judge.id)] = js.assign(item, judge, organiser).id
        if start:
            js.start_scoring(rnd, organiser)
        db.session.commit()
        return {
            "round": rnd.id,
            "organiser": organiser.email,
            "judges": [(j.id, j.email) for j in judges],
            "assignments": assignments,
            "criteria": [c.id for c in rnd.criteria],
        }


def _scores(ids, values):
    return {f"score_{cid}": str(v) for cid, v in zip(ids["criteria"], values, strict=True)}


def test_organiser_pages_render_and_reviewer_is_refused(app, client):
    ids = _setup(app, start=False)
    login(client, ids["organiser"])
    page = client.get("/judging/")
    assert page.status_code == 200 and "初步计划评审" in page.get_data(as_text=True)
    body = client.get(f"/judging/rounds/{ids['round']}").get_data(as_text=True)
    assert "活动内容特色" in body and "rubric-form" in body and "中国华润计划" in body and 'id="matrix"' in body
    client.post("/logout")
    login(client, ids["judges"][0][1])
    assert client.get("/judging/").status_code == 403
    assert client.get(f"/judging/rounds/{ids['round']}").status_code == 403
    assert client.post(f"/judging/rounds/{ids['round']}/auto-assign", data={"k": 1}).status_code == 403


def test_rubric_editor_reorders_adds_removes_then_freezes(app, client):
    ids = _setup(app, start=False)
    login(client, ids["organiser"])
    c1, c2, c3 = ids["criteria"]
    data = {
        "crit_id": [str(c1), str(c2), str(c3), ""],
        "crit_position": ["3", "1", "2", "4"],
        "crit_name": ["活动内容特色", "示范带动作用", "项目对接周期", "安全保障"],
        "crit_weight": ["2", "1", "1", "0.5"],
        "crit_guidance": ["a", "b", "c", "防疫与应急"],
        "crit_remove": ["2"],
        "scale_min": "1",
        "scale_max": "5",
        "judges_per_item": "2",
        "disagreement_threshold": "1.5",
    }
    assert client.post(f"/judging/rounds/{ids['round']}/rubric", data=data).status_code == 302
    with app.app_context():
        rnd = db.session.get(JudgingRound, ids["round"])
        assert [(c.name, c.weight) for c in rnd.criteria] == [("示范带动作用", 1.0), ("活动内容特色", 2.0), ("安全保障", 0.5)]
        assert (rnd.scale_max, rnd.judges_per_item, rnd.disagreement_threshold) == (5, 2, 1.5)
    client.post(f"/judging/rounds/{ids['round']}/status", data={"action": "start"})
    response = client.post(f"/judging/rounds/{ids['round']}/rubric", data=data, follow_redirects=True)
    assert "评分标准已冻结" in response.get_data(as_text=True)


def test_reviewer_scores_draft_submit_then_read_only_with_spread(app, client):
    ids = _setup(app)
    (j1, e1), (j2, e2) = ids["judges"]
    a1, a2 = ids["assignments"][(1, j1)], ids["assignments"][(1, j2)]
    login(client, e1)
    mine = client.get("/judging/my").get_data(as_text=True)
    assert "中国华润计划" in mine and "国家电网计划" in mine
    page = client.get(f"/judging/sheets/{a1}").get_data(as_text=True)
    assert "中国华润计划" in page and 'href="/plans/1"' in page and "主题是否聚焦" in page and 'max="10"' in page
    # out of scale: refused, typed values kept, error next to the field
    bad = client.post(f"/judging/sheets/{a1}", data={**_scores(ids, [11, 5, 5]), "action": "draft"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "1 到 10 之间" in text and 'value="11"' in text
    assert client.post(f"/judging/sheets/{a1}", data={**_scores(ids, [8, "", ""]), "action": "draft"}).status_code == 302
    # before submitting: no spread
    assert "peer-spread" not in client.get(f"/judging/sheets/{a1}").get_data(as_text=True)
    client.post("/logout")
    login(client, e2)
    client.post(f"/judging/sheets/{a2}", data={**_scores(ids, [4, 6, 2]), "action": "submit"})
    client.post("/logout")
    login(client, e1)
    incomplete = client.post(f"/judging/sheets/{a1}", data={**_scores(ids, [8, "", 7]), "action": "submit"}).get_data(as_text=True)
    assert "提交前请为“示范带动作用”打分" in incomplete
    assert client.post(f"/judging/sheets/{a1}", data={**_scores(ids, [8, 9, 7]), "overall_comment": "很好", "action": "submit"}).status_code == 302
    done = client.get(f"/judging/sheets/{a1}").get_data(as_text=True)
    assert "peer-spread" in done and "sheet-form" in done and 'name="score_' not in done
    assert "其他专家（1 位）：最低 4，最高 4，平均 4.00" in done
    # read-only now
    client.post(f"/judging/sheets/{a1}", data={**_scores(ids, [1, 1, 1]), "action": "submit"})
    with app.app_context():
        sheet = db.session.get(Assignment, a1).sheet
        assert [s.value for s in sorted(sheet.scores, key=lambda s: s.criterion_id)] == [8, 9, 7]
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("judging.sheet%"))).all()
        assert actions.count("judging.sheet_submit") == 2 and actions.count("judging.sheet_save") == 1


def test_reviewer_cannot_open_other_or_unassigned_sheets(app, client):
    ids = _setup(app)
    (j1, e1), (j2, _e2) = ids["judges"]
    with app.app_context():
        outsider = make_user(Role.REVIEWER)
        db.session.commit()
        outsider_email = outsider.email
    other = ids["assignments"][(1, j2)]
    login(client, e1)
    assert client.get(f"/judging/sheets/{other}").status_code == 404
    assert client.post(f"/judging/sheets/{other}", data={**_scores(ids, [5, 5, 5]), "action": "submit"}).status_code == 404
    assert client.post(f"/judging/sheets/{other}/conflict", data={"reason": "x"}).status_code == 404
    assert client.get("/judging/sheets/999999").status_code == 404
    client.post("/logout")
    login(client, outsider_email)
    assert "目前没有分配给您的评审项目" in client.get("/judging/my").get_data(as_text=True)
    for a in ids["assignments"].values():
        assert client.get(f"/judging/sheets/{a}").status_code == 404
    client.post("/logout")
    user_and_login(app, client, Role.HOST)
    assert client.get(f"/judging/sheets/{other}").status_code == 404
    assert client.get("/judging/my").status_code == 403


def test_organiser_sees_every_sheet_read_only_and_results_and_export(app, client):
    ids = _setup(app)
    (j1, e1), (j2, e2) = ids["judges"]
    for email, judge, vals in ((e1, j1, [8, 8, 8]), (e2, j2, [2, 2, 2])):
        login(client, email)
        client.post(f"/judging/sheets/{ids['assignments'][(1, judge)]}", data={**_scores(ids, vals), "action": "submit"})
        client.post("/logout")
    login(client, ids["organiser"])
    sheet = client.get(f"/judging/sheets/{ids['assignments'][(1, j2)]}")
    text = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and 'name="score_' not in text and "sheet-judge" in text
    assert client.post(f"/judging/sheets/{ids['assignments'][(1, j2)]}", data={**_scores(ids, [9, 9, 9]), "action": "draft"}).status_code == 403
    body = client.get(f"/judging/rounds/{ids['round']}").get_data(as_text=True)
    assert "results-table" in body and "分歧较大" in body and "并列处理规则" in body  # std 3 > 2.0
    response = client.get(f"/judging/rounds/{ids['round']}/results.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[1][2] == "中国华润计划" and 5.0 in rows[1]


def test_manual_assign_unassign_and_auto_assign_views(app, client):
    with app.app_context():
        base = make_base()
        organiser = make_user(Role.ORGANISER)
        judges = [make_user(Role.REVIEWER) for _ in range(3)]
        js.set_affiliations(judges[0], [base.id], judges[0])
        rnd = js.get_or_create_round("rr:1", "路演评审", [("A", 1.0, "")], judges_per_item=2)
        js.sync_items(rnd, [js.ItemSpec("x", 1, "甲", None, [base.id]), js.ItemSpec("x", 2, "乙", None, [])])
        db.session.commit()
        rid, (i1, i2), jids, email = rnd.id, [i.id for i in rnd.items], [j.id for j in judges], organiser.email
    login(client, email)
    refused = client.post(f"/judging/rounds/{rid}/assign", data={"item_id": i1, "judge_id": jids[0]}, follow_redirects=True)
    assert "利益冲突" in refused.get_data(as_text=True)
    client.post(f"/judging/rounds/{rid}/assign", data={"item_id": i2, "judge_id": jids[0]})
    auto = client.post(f"/judging/rounds/{rid}/auto-assign", data={"k": "2"}, follow_redirects=True)
    assert "新增 3 项分配" in auto.get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(select(Assignment.item_id, Assignment.judge_id, Assignment.source)).all()
        assert (i1, jids[0], "auto") not in rows and len(rows) == 4
        manual = db.session.scalar(select(Assignment.id).where(Assignment.source == "manual"))
    assert client.post(f"/judging/assignments/{manual}/unassign").status_code == 302
    with app.app_context():
        assert db.session.query(Assignment).count() == 3


def test_declare_conflict_from_sheet_page_reassigns(app, client):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        j1, j2 = make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        rnd = js.get_or_create_round("c:1", "评审", [("A", 1.0, "")], judges_per_item=1)
        js.sync_items(rnd, [js.ItemSpec("x", 1, "甲", None, [])])
        a = js.assign(rnd.items[0], j1, organiser)
        db.session.commit()
        aid, j1_email, j2_id = a.id, j1.email, j2.id
    login(client, j1_email)
    assert "conflict-box" in client.get(f"/judging/sheets/{aid}").get_data(as_text=True)
    response = client.post(f"/judging/sheets/{aid}/conflict", data={"reason": "本人曾在该基地任职"}, follow_redirects=True)
    assert "已改派" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Assignment, aid).status == "conflict"
        assert js.is_assigned(db.session.get(User, j2_id), "x", 1)


def test_affiliations_page_saves_and_organiser_sees_them(app, client):
    with app.app_context():
        b1, b2 = make_base("中国华润有限公司"), make_base("国家电网有限公司")
        db.session.commit()
        b1_id, b2_id = b1.id, b2.id
    uid = user_and_login(app, client, Role.REVIEWER)
    page = client.get("/judging/affiliations").get_data(as_text=True)
    assert "中国华润有限公司" in page and "base-filter" in page
    client.post("/judging/affiliations", data={"base_ids": [str(b2_id)], f"note_{b2_id}": "兼任顾问"})
    with app.app_context():
        user = db.session.get(User, uid)
        assert [(a.base_id, a.note) for a in js.affiliations(user)] == [(b2_id, "兼任顾问")]
        js.get_or_create_round("k:1", "评审", [("A", 1.0, "")])
        db.session.commit()
        rid = db.session.scalar(select(JudgingRound.id))
    client.post("/logout")
    user_and_login(app, client, Role.ORGANISER)
    body = client.get(f"/judging/rounds/{rid}").get_data(as_text=True)
    assert re.search(r"兼任顾问", body) and b1_id != b2_id


def test_csrf_required_on_judging_posts(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        user = make_user(Role.REVIEWER)
        db.session.commit()
        email = user.email
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/judging/affiliations", data={"base_ids": []}).status_code == 400
    form = client.get("/judging/affiliations").get_data(as_text=True)
    assert 'name="csrf_token"' in form
