"""Competition pages through the real app: the organiser's setup, rounds and publication, the public
entry form (honeypot, errors kept), the results page (nothing before publication), the entrant's
private page, the judge's read page (only while assigned) and the entries export."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.competitions import services as comp
from eventhub.competitions.models import AdvanceMode, Competition, CompetitionEntry, EntryStatus
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.extensions import db
from tests.factories import login, make_user, user_and_login
from tests.test_competitions import add_entry, entry_data, make_competition, run_round


def _form(competition: Competition, n: int = 1, **overrides: object) -> dict:
    data = entry_data(n, track_id=str(competition.tracks[0].id), consent="y", website="")
    presenters = data.pop("presenters")
    data.update({f"presenter_{k}": v for k, v in presenters[0].items()})
    data.update(overrides)
    return data


def test_organiser_creates_a_competition_with_tracks_and_rounds(app, client):
    user_and_login(app, client, Role.ORGANISER)
    assert "还没有大赛" in client.get("/competitions/manage").get_data(as_text=True)
    opens = to_shanghai(utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    closes = to_shanghai(utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/competitions/manage/new",
        data={
            "name": "华润创新大赛",
            "organiser_name": "中国华润",
            "entry_opens_at": opens,
            "entry_closes_at": closes,
            "org_types": ["sme", "startup"],
            "regions": ["广东省"],
        },
    )
    assert response.status_code == 302
    cid = int(re.search(r"/competitions/manage/(\d+)", response.headers["Location"]).group(1))
    structure = f"/competitions/manage/{cid}/structure"
    assert "初赛" in client.get(structure).get_data(as_text=True)  # presets offered
    assert client.post(structure, data={"what": "tracks", "tracks": "先进制造\n数字经济\n"}).status_code == 302
    bad = client.post(
        structure, data={"what": "rounds", "r_id": ["", ""], "r_name": ["初赛", "决赛"], "r_mode": ["top_n", "top_n"], "r_n": ["", ""], "r_threshold": ["", ""]}
    )
    assert bad.status_code == 400 and "晋级的名额" in bad.get_data(as_text=True)
    ok = client.post(
        structure,
        data={"what": "rounds", "r_id": ["", ""], "r_name": ["初赛", "决赛"], "r_mode": ["top_n", "top_n"], "r_n": ["3", ""], "r_threshold": ["", ""]},
    )
    assert ok.status_code == 302
    assert client.post(f"/competitions/manage/{cid}/open").status_code == 302
    with app.app_context():
        c = db.session.get(Competition, cid)
        assert [t.name for t in c.tracks] == ["先进制造", "数字经济"] and [r.name for r in c.rounds] == ["初赛", "决赛"]
        assert c.status == "open" and c.eligibility["regions"] == ["广东省"]
    page = client.get(f"/competitions/{cid}").get_data(as_text=True)
    assert "报名参赛" in page and "广东省" in page


def test_public_entry_form_private_page_and_withdraw(app, client):
    with app.app_context():
        c = make_competition(regions=["江苏省"])
        db.session.commit()
        cid = c.id
        form = _form(c)
        ineligible = _form(c, 2, region="广东省")
        errors = _form(c, 3, uscc="123", presenter_mobile="12")
    # honeypot: refused, nothing stored
    assert client.post(f"/competitions/{cid}", data={**form, "website": "http://spam"}).status_code == 400
    # field errors: kept at the field, typed values kept
    response = client.post(f"/competitions/{cid}", data=errors)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="form-errors"' in body and body.count("is-invalid") >= 2
    assert errors["project_name"] in body
    response = client.post(f"/competitions/{cid}", data=form)
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    private = response.headers["Location"]
    page = client.get(private)
    assert page.status_code == 200 and "已报名" in page.get_data(as_text=True) and page.headers["X-Robots-Tag"].startswith("noindex")
    # duplicate
    assert client.post(f"/competitions/{cid}", data=form).status_code == 400
    # ineligible: stored, reason on the private page
    response = client.post(f"/competitions/{cid}", data=ineligible)
    assert "广东省" in client.get(response.headers["Location"]).get_data(as_text=True)
    # withdraw needs the box
    client.post(private, data={})
    with app.app_context():
        assert db.session.scalar(select(CompetitionEntry).where(CompetitionEntry.project_name == form["project_name"])).status == EntryStatus.SUBMITTED.value
    client.post(private, data={"confirm": "y"})
    with app.app_context():
        assert db.session.scalar(select(CompetitionEntry).where(CompetitionEntry.project_name == form["project_name"])).status == EntryStatus.WITHDRAWN.value
        assert db.session.scalar(select(db.func.count()).select_from(CompetitionEntry)) == 2
    assert client.get("/competition-entries/" + "x" * 43).status_code == 404


def test_draft_competition_is_not_public_and_closed_form_says_so(app, client):
    with app.app_context():
        draft = make_competition(open_it=False)
        closed = make_competition()
        closed.entry_closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        draft_id, closed_id, form = draft.id, closed.id, _form(closed)
    assert client.get(f"/competitions/{draft_id}").status_code == 404
    assert "不接受报名" in client.get(f"/competitions/{closed_id}").get_data(as_text=True)
    assert client.post(f"/competitions/{closed_id}", data=form).status_code == 400


def test_results_page_before_and_after_publication(app, client):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c = make_competition(tracks=("先进制造",), rounds=[comp.RoundSpec("决赛")])
        e = [add_entry(c, i) for i in range(1, 4)]
        run_round(c.rounds[0], {e[0].id: 9, e[1].id: 8, e[2].id: 6}, organiser)
        db.session.commit()
        cid, rid, names = c.id, c.rounds[0].id, [x.project_name for x in e]
        email = organiser.email
    assert client.get(f"/competitions/{cid}/results").status_code == 404
    login(client, email)
    round_page = client.get(f"/competitions/manage/rounds/{rid}").get_data(as_text=True)
    assert "排名预览" in round_page and names[0] in round_page
    client.post(f"/competitions/manage/rounds/{rid}/decide", data={"tie_policy": "advance_all"})  # no confirmation: nothing happens
    with app.app_context():
        assert db.session.get(Competition, cid).status != "finished"
    client.post(f"/competitions/manage/rounds/{rid}/decide", data={"tie_policy": "advance_all", "confirm": "y"})
    awards = client.get(f"/competitions/manage/{cid}/awards").get_data(as_text=True)
    assert "一等奖" in awards  # pre-filled from the ranking
    with app.app_context():
        ids = [x.id for x in db.session.scalars(select(CompetitionEntry).order_by(CompetitionEntry.id))]
    client.post(f"/competitions/manage/{cid}/awards", data={f"award-{ids[0]}": "一等奖", f"award-{ids[1]}": "二等奖", f"award-{ids[2]}": ""})
    response = client.get(f"/competitions/{cid}/results")
    assert response.status_code == 404 and "尚未公布" in response.get_data(as_text=True) and names[0] not in response.get_data(as_text=True)
    client.post(f"/competitions/manage/{cid}/publish", data={"confirm": "y"})
    client.post("/logout")
    page = client.get(f"/competitions/{cid}/results")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and names[0] in body and names[1] in body and names[2] not in body and "一等奖" in body


def test_round_page_ties_and_judge_read_access(app, client):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        c = make_competition(tracks=("先进制造",), rounds=[comp.RoundSpec("初赛", AdvanceMode.TOP_N.value, advance_n=1), comp.RoundSpec("决赛")])
        e = [add_entry(c, i) for i in range(1, 4)]
        judge = run_round(c.rounds[0], {e[0].id: 8, e[1].id: 8, e[2].id: 5}, organiser)
        other_judge = make_user(Role.REVIEWER)
        db.session.commit()
        rid, entry_id, judge_email, other_email, org_email = c.rounds[0].id, e[0].id, judge.email, other_judge.email, organiser.email
    login(client, judge_email)
    assert client.get(f"/competitions/entries/{entry_id}/review").status_code == 200
    assert client.get(f"/competitions/manage/rounds/{rid}").status_code == 403
    client.post("/logout")
    login(client, other_email)
    assert client.get(f"/competitions/entries/{entry_id}/review").status_code == 404
    client.post("/logout")
    login(client, org_email)
    page = client.get(f"/competitions/manage/rounds/{rid}").get_data(as_text=True)
    assert "晋级线处同分" in page
    page = client.get(f"/competitions/manage/rounds/{rid}?tie_policy=tie_break").get_data(as_text=True)
    assert "评审引擎的并列规则" in page
    client.post(f"/competitions/manage/rounds/{rid}/decide", data={"tie_policy": "advance_all", "confirm": "y"})
    with app.app_context():
        results = comp.results_of(db.session.get(type(c.rounds[0]), rid))
        assert sum(r.advanced for r in results) == 2 and all(r.tie_note for r in results if r.advanced)


def test_entries_list_filters_and_xlsx(app, client):
    with app.app_context():
        c = make_competition(regions=["江苏省"])
        add_entry(c, 1)
        add_entry(c, 2, region="广东省")
        db.session.commit()
        cid = c.id
    user_and_login(app, client, Role.ORGANISER)
    body = client.get(f"/competitions/manage/{cid}/entries?status=ineligible").get_data(as_text=True)
    assert "工业视觉质检平台2" in body and "工业视觉质检平台1" not in body
    response = client.get(f"/competitions/manage/{cid}/entries.xlsx?status=ineligible")
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][2] == "工业视觉质检平台2" and "广东省" in rows[1][15]


def test_pages_need_the_organiser(app, client):
    with app.app_context():
        c = make_competition()
        db.session.commit()
        cid = c.id
    assert client.get("/competitions/manage").status_code == 302  # log in first
    user_and_login(app, client, Role.HOST)
    for url in ("/competitions/manage", f"/competitions/manage/{cid}", "/recommendations", "/recommendations.xlsx"):
        assert client.get(url).status_code == 403, url


def test_organiser_pages_render_with_data(app, client):
    """Every organiser page renders (overview, edit, carry-over, entry with override, round in set-up)."""
    from datetime import date

    from tests.test_competitions import make_application

    with app.app_context():
        c = make_competition(regions=["江苏省"])
        application = make_application()
        make_user(Role.REVIEWER)
        bad = add_entry(c, 1, region="广东省")
        db.session.commit()
        cid, rid, bad_id, app_id, track_id = c.id, c.rounds[0].id, bad.id, application.id, c.tracks[0].id
    user_and_login(app, client, Role.ORGANISER)
    for url in (
        f"/competitions/manage/{cid}",
        f"/competitions/manage/{cid}/edit",
        f"/competitions/manage/{cid}/awards",
        "/competitions",
        f"/competitions/manage/rounds/{rid}",
    ):
        assert client.get(url).status_code == 200, url
    assert "广东省" in client.get(f"/competitions/manage/entries/{bad_id}").get_data(as_text=True)
    client.post(f"/competitions/manage/entries/{bad_id}/override", data={"note": "已核实注册地在江苏"})
    assert "人工认定" in client.get(f"/competitions/manage/{cid}/entries").get_data(as_text=True)
    page = client.get(f"/competitions/manage/{cid}/carry-over?event_id=").get_data(as_text=True)
    assert "转入" in page
    client.post(f"/competitions/manage/{cid}/carry-over", data={"application_id": app_id, "track_id": track_id, "founded_on": "2020-01-01", "region": "江苏省"})
    assert "已转入" in client.get(f"/competitions/manage/{cid}/carry-over").get_data(as_text=True)
    client.post(f"/competitions/manage/rounds/{rid}/prepare")
    page = client.get(f"/competitions/manage/rounds/{rid}").get_data(as_text=True)
    assert "自动分配评审专家" in page and "工业视觉质检平台1" in page
    with app.app_context():
        entry = db.session.scalar(select(CompetitionEntry).where(CompetitionEntry.application_id == app_id))
        assert entry.founded_on == date(2020, 1, 1) and entry.status == EntryStatus.ACTIVE.value
