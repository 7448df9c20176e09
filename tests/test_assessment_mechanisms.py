"""Lasting mechanisms (合作机制) and their 3- / 6-month follow-ups, on SQLite and PostgreSQL.

* the follow-up job asks once: nothing before the date, one check and one keyed mail per member
  after it, nothing on a rerun, the second wave at 6 months; also through the scheduler's own
  ``execute_job`` wrapper, and with two threads running it at the same moment on PostgreSQL;
* late records, members added after the first check, windows that closed, withdrawn events;
* answers counted in ``mechanism_figures`` (a hand-computed example);
* the answer link: wrong token 404, opening never answers, one click plus a note, changeable while
  open, frozen after, CSRF, rate limit, private headers;
* the host pages: validation in Chinese, edit / delete rules, other hosts 404, reviewers read.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from eventhub.assessment import mechanisms as svc
from eventhub.assessment.models import Mechanism, MechanismCheck, MechanismMember
from eventhub.core import scheduler
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import shanghai, to_shanghai, utcnow
from eventhub.events.models import Event, EventStatus
from eventhub.extensions import db
from tests.concurrency import run_concurrently
from tests.event_helpers import host_of, make_event
from tests.factories import login, make_user

END = date(2027, 5, 20)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RECORDED = shanghai(2027, 5, 21, 10)
POOL = {"pool_size": 20, "max_overflow": 10, "pool_timeout": 60, "pool_pre_ping": True}
LINK_RE = re.compile(r"/mechanisms/check/([A-Za-z0-9_-]{43})")


def members(n: int, prefix: str = "m") -> str:
    return "\n".join(f"成员单位{prefix}{i}有限公司，联系人{i}，{prefix}{i}@example.com" for i in range(1, n + 1))


def record(event, name: str = "新能源产业链创新联盟", n: int = 3, *, formed: date = END, now=RECORDED, prefix: str | None = None, actor=None) -> Mechanism:  # noqa: ANN001
    values = {"name": name, "kind": "alliance", "formed_on": formed.isoformat(), "description": "每季度召开对接会", "members": members(n, prefix or name[:2])}
    mechanism = svc.save_mechanism(event, values, actor, now=now)
    db.session.commit()
    return mechanism


def check_count(wave: int | None = None) -> int:
    query = select(func.count(MechanismCheck.id))
    if wave is not None:
        query = query.where(MechanismCheck.wave == wave)
    return db.session.scalar(query) or 0


def mail_keys() -> list[str]:
    return sorted(db.session.scalars(select(MailMessage.key).where(MailMessage.key.startswith("mechanism-check:"))))


def token_of(member: MechanismMember, wave: int) -> str:
    mail = db.session.scalar(select(MailMessage).where(MailMessage.key == svc.check_key(member.id, wave)))
    assert mail is not None
    match = LINK_RE.search(mail.body)
    assert match, mail.body
    return match.group(1)


def check_of(member: MechanismMember, wave: int) -> MechanismCheck:
    return db.session.scalar(select(MechanismCheck).where(MechanismCheck.member_id == member.id, MechanismCheck.wave == wave))


@pytest.fixture
def scene(app):
    with app.app_context():
        event = make_event("华润", start=END)
        db.session.commit()
        yield {"event": event}


# ==== dates ==============================================================================================


def test_wave_dates_on_the_beijing_calendar_clamped_at_month_end(scene):
    event = scene["event"]
    assert svc.wave_day(event, 3) == date(2027, 8, 20)
    assert svc.wave_day(event, 6) == date(2027, 11, 20)
    assert svc.wave_due(event, 3) == shanghai(2027, 8, 21, 9)  # the day after, in office hours
    assert svc.wave_closes(event, 3) == svc.wave_due(event, 6)  # the 3-month wave ends when the 6-month one starts
    assert svc.wave_closes(event, 6) == svc.wave_due(event, 6) + timedelta(days=svc.WAVE_WINDOW_DAYS)
    assert svc.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)  # leap year
    assert svc.add_months(date(2027, 5, 31), 3) == date(2027, 8, 31)
    assert svc.add_months(date(2028, 2, 29), -3) == date(2027, 11, 29)


# ==== the follow-up job ==================================================================================


def test_three_and_six_month_checks_are_sent_once(scene):
    event = scene["event"]
    mechanism = record(event, n=3)
    w3, w6 = svc.wave_due(event, 3), svc.wave_due(event, 6)

    assert svc.send_due_checks(now=w3 - timedelta(seconds=1)).startswith("0 member(s)")
    assert check_count() == 0 and mail_keys() == []

    summary = svc.send_due_checks(now=w3 + HOUR)
    assert summary == "3 member(s) of 1 mechanism(s) asked"
    assert check_count(3) == 3 and check_count(6) == 0
    assert mail_keys() == sorted(svc.check_key(m.id, 3) for m in mechanism.members)
    mail = db.session.scalar(select(MailMessage).where(MailMessage.key == svc.check_key(mechanism.members[0].id, 3)))
    assert mail.recipient == mechanism.members[0].email
    assert "新能源产业链创新联盟" in mail.subject and "3 个月" in mail.subject
    assert "/mechanisms/check/" in mail.body and "2027-11-21 09:00" in mail.body  # answerable until the 6-month wave
    assert mail.html_body and "/mechanisms/check/" in mail.html_body
    hashes = set(db.session.scalars(select(MechanismCheck.token_hash)))
    assert len(hashes) == 3 and all(len(h) == 64 for h in hashes)
    assert token_of(mechanism.members[0], 3) not in mail.body.replace(f"/mechanisms/check/{token_of(mechanism.members[0], 3)}", "")  # token only in the link
    assert svc.hash_token(token_of(mechanism.members[0], 3)) in hashes  # only the sha256 is stored

    for now in (w3 + 2 * HOUR, w3 + 30 * DAY, w6 - HOUR):  # reruns: nothing new
        assert svc.send_due_checks(now=now).startswith("0 member(s)")
    assert check_count() == 3 and len(mail_keys()) == 3

    assert svc.send_due_checks(now=w6 + HOUR) == "3 member(s) of 1 mechanism(s) asked"
    assert check_count(6) == 3 and len(mail_keys()) == 6
    assert svc.send_due_checks(now=w6 + 2 * HOUR).startswith("0 member(s)")
    assert svc.send_due_checks(now=w6 + 200 * DAY).startswith("0 member(s)")  # long after: nothing
    assert check_count() == 6


def test_job_through_the_scheduler_wrapper_records_runs_and_asks_once(scene):
    event = scene["event"]
    record(event, n=2)
    now = svc.wave_due(event, 3) + HOUR
    first = scheduler.execute_job("mechanism-followups", None, {"now": now})
    second = scheduler.execute_job("mechanism-followups", None, {"now": now + HOUR})
    assert first.status == "ok" and first.summary == "2 member(s) of 1 mechanism(s) asked"
    assert second.status == "ok" and second.summary.startswith("0 member(s)")
    assert scheduler.registered("mechanism-followups").func_ref == "eventhub.assessment.jobs:mechanism_followups"
    assert check_count(3) == 2 and len(mail_keys()) == 2


def test_late_records_added_members_closed_windows_and_withdrawn_events(scene):
    event = scene["event"]
    w3, w6 = svc.wave_due(event, 3), svc.wave_due(event, 6)
    early = record(event, "联合实验室甲", n=2)
    svc.send_due_checks(now=w3 + HOUR)
    assert check_count(3) == 2

    # recorded a month after the 3-month date: gets the 3-month wave at the next run
    late = record(event, "供应链协议乙", n=2, now=w3 + 30 * DAY)
    assert svc.send_due_checks(now=w3 + 30 * DAY + HOUR) == "2 member(s) of 1 mechanism(s) asked"
    assert {c.mechanism_id for c in db.session.scalars(select(MechanismCheck).where(MechanismCheck.wave == 3))} == {early.id, late.id}

    # a member added after the first check: asked for the still-open wave too
    svc.save_mechanism(event, {"name": early.name, "description": "", "members": "新增成员有限公司，王五，wangwu@example.com"}, None, early, now=w3 + 40 * DAY)
    db.session.commit()
    assert len(early.members) == 3
    assert svc.send_due_checks(now=w3 + 40 * DAY + HOUR) == "1 member(s) of 1 mechanism(s) asked"

    # formed after the 3-month date: only the 6-month wave
    formed_late = record(event, "常态化路演丙", n=2, formed=date(2027, 9, 1), now=shanghai(2027, 9, 2, 9))
    svc.send_due_checks(now=shanghai(2027, 9, 2, 10))
    assert check_count(3) == 5  # unchanged: not asked for a date before it existed

    # recorded after the 6-month date: the 3-month wave is closed, only the 6-month one is sent
    very_late = record(event, "合作协议丁", n=2, now=w6 + 10 * DAY)
    svc.send_due_checks(now=w6 + 10 * DAY + HOUR)
    by_mechanism = dict(
        db.session.execute(select(MechanismCheck.mechanism_id, func.count()).where(MechanismCheck.wave == 6).group_by(MechanismCheck.mechanism_id)).all()
    )
    assert by_mechanism == {early.id: 3, late.id: 2, formed_late.id: 2, very_late.id: 2}
    assert db.session.scalar(select(func.count()).where(MechanismCheck.mechanism_id == very_late.id, MechanismCheck.wave == 3)) == 0

    # a withdrawn event's members are not asked, and nothing new can be recorded on it
    other = make_event("中石油", start=END)
    record(other, "油气装备联盟", n=2)
    other.status = EventStatus.WITHDRAWN.value
    db.session.commit()
    assert svc.send_due_checks(now=w6 + 20 * DAY).startswith("0 member(s)")
    with pytest.raises(svc.MechanismError, match="已撤销"):
        record(other, "再登记", n=2)

    # recorded after the last window closed: never asked
    closed = record(event, "联盟戊", n=2, now=svc.wave_closes(event, 6) + DAY)
    assert svc.send_due_checks(now=svc.wave_closes(event, 6) + DAY + HOUR).startswith("0 member(s)")
    assert db.session.scalar(select(func.count()).where(MechanismCheck.mechanism_id == closed.id)) == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_schedulers_at_once_ask_each_member_once_per_wave(make_app):  # noqa: ANN001
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)
    with app.app_context():
        event = make_event("华润", start=END)
        for i in range(4):
            record(event, f"机制{i}", n=5, prefix=f"x{i}-")
        due3, due6 = svc.wave_due(event, 3) + HOUR, svc.wave_due(event, 6) + HOUR

    for now in (due3, due6):
        results, errors = run_concurrently(app, [lambda now=now: svc.send_due_checks(now=now)] * 2)
        assert not errors, errors
        assert len(results) == 2
        with app.app_context():
            wave = 3 if now == due3 else 6
            assert check_count(wave) == 20
            assert len([k for k in mail_keys() if k.endswith(f":{wave}")]) == 20
            assert db.session.scalar(select(func.count(MailMessage.id)).where(MailMessage.key.like("mechanism-check:%"))) == (20 if wave == 3 else 40)
            rows = db.session.execute(
                select(MechanismCheck.member_id, MechanismCheck.wave, func.count()).group_by(MechanismCheck.member_id, MechanismCheck.wave)
            ).all()
            assert all(n == 1 for _m, _w, n in rows)


# ==== answers and figures ================================================================================


def test_answers_counted_in_mechanism_figures_hand_computed(scene):
    event = scene["event"]
    w3, w6 = svc.wave_due(event, 3), svc.wave_due(event, 6)
    a = record(event, "甲联盟", n=3)
    b = record(event, "乙实验室", n=2)
    c = record(event, "丙协议", n=2)
    empty = svc.mechanism_figures(event)
    assert empty["mechanisms"] == 3 and empty["share_active_3"] is None and empty["waves"]["3"]["mechanisms_asked"] == 0

    svc.send_due_checks(now=w3 + HOUR)
    d = record(event, "丁活动", n=2, formed=date(2027, 9, 1), now=shanghai(2027, 9, 2, 9))  # formed after the 3-month date
    svc.send_due_checks(now=shanghai(2027, 9, 2, 10))
    at3 = shanghai(2027, 9, 5, 10)
    for member, active in zip(a.members, (True, True, False), strict=True):  # 2 of 3 → active
        svc.answer_check(check_of(member, 3), active, now=at3)
    svc.answer_check(check_of(b.members[0], 3), True, now=at3)  # 1 : 1 → a tie is not a majority
    svc.answer_check(check_of(b.members[1], 3), False, "合作已暂停", now=at3)
    db.session.commit()  # c: nobody answered → unknown

    svc.send_due_checks(now=w6 + HOUR)
    at6 = w6 + 5 * DAY
    svc.answer_check(check_of(a.members[0], 6), True, now=at6)  # 1 of 1 answered → active
    for member in b.members:
        svc.answer_check(check_of(member, 6), False, now=at6)  # stopped
    for member in d.members:
        svc.answer_check(check_of(member, 6), True, now=at6)  # active
    db.session.commit()  # c: unknown again

    figures = svc.mechanism_figures(event)
    assert figures["mechanisms"] == 4
    assert figures["waves"]["3"] == {
        "mechanisms_asked": 3,  # a, b, c (d did not exist yet)
        "members_asked": 7,
        "answered": 5,
        "active_answers": 3,
        "active": 1,
        "inactive": 1,
        "unknown": 1,
        "share_active": pytest.approx(1 / 3),
    }
    assert figures["waves"]["6"] == {
        "mechanisms_asked": 4,
        "members_asked": 9,
        "answered": 5,
        "active_answers": 3,
        "active": 2,
        "inactive": 1,
        "unknown": 1,
        "share_active": pytest.approx(0.5),
    }
    assert figures["share_active_3"] == pytest.approx(1 / 3) and figures["share_active_6"] == pytest.approx(0.5)
    checks = svc.checks_by_member([a, b, c, d])
    assert svc.mechanism_statuses(d, checks) == {3: None, 6: "active"}
    assert svc.mechanism_statuses(c, checks) == {3: "unknown", 6: "unknown"}


def test_answer_changeable_while_open_then_frozen(scene):
    event = scene["event"]
    mechanism = record(event, n=2)
    w3, w6 = svc.wave_due(event, 3), svc.wave_due(event, 6)
    svc.send_due_checks(now=w3 + HOUR)
    check = check_of(mechanism.members[0], 3)
    assert svc.find_check(token_of(mechanism.members[0], 3)).id == check.id
    assert svc.find_check("x" * 43) is None and svc.find_check("short") is None and svc.find_check("") is None
    svc.answer_check(check, True, "每月例会", now=w3 + DAY)
    svc.answer_check(check, False, "  已解散  ", now=w6 - HOUR)
    db.session.commit()
    assert check.active is False and check.note == "已解散"
    with pytest.raises(svc.MechanismError, match="已于 2027-11-21 09:00"):
        svc.answer_check(check, True, now=w6 + HOUR)
    with pytest.raises(svc.MechanismError) as exc:
        svc.answer_check(check, True, "长" * (svc.NOTE_MAX + 1), now=w3 + DAY)
    assert "note" in exc.value.errors


# ==== recording rules ====================================================================================


def test_validation_messages_in_chinese(scene):
    event = scene["event"]

    def errors(**values: Any) -> dict[str, str]:
        base = {"name": "联盟", "kind": "alliance", "formed_on": "2027-05-20", "members": members(2)}
        with pytest.raises(svc.MechanismError) as exc:
            svc.save_mechanism(event, {**base, **values}, None, now=RECORDED)
        db.session.rollback()
        return exc.value.errors

    assert errors(name="  ")["name"] == "请填写机制名称。"
    assert errors(kind="club")["kind"] == "请选择机制类型。"
    assert errors(formed_on="2027-13-01")["formed_on"].startswith("请填写成立日期")
    assert errors(formed_on="2027-05-22")["formed_on"] == "成立日期不能晚于今天。"
    assert errors(formed_on="2026-05-01")["formed_on"] == "成立日期不能早于活动开始前一年。"
    assert errors(members=members(1))["members"] == "合作机制至少需要 2 家成员单位。"
    assert errors(members=members(51))["members"].startswith("合作机制最多 50 家成员单位")
    bad = "甲公司，张三，a@example.com\n乙公司，李四\n丙公司，王五，not-an-email\n丁公司，赵六，A@example.com"
    message = errors(members=bad)["members"]
    assert "第 2 行：请按“单位名称，联系人，电子邮箱”填写三项。" in message
    assert "第 3 行：电子邮箱格式不正确" in message
    assert "第 4 行：电子邮箱与第 1 行重复。" in message
    assert errors(members="甲公司，，a@example.com\n乙公司，李四，b@example.com")["members"].startswith("第 1 行：联系人不能为空")
    # separators: Chinese comma, comma, tab, semicolon (pasted from Excel)
    mechanism = svc.save_mechanism(
        event,
        {
            "name": "联盟",
            "kind": "alliance",
            "formed_on": "2027-05-20",
            "members": "甲公司,张三,a@example.com\n\n乙公司\t李四\tB@Example.com\n丙公司；王五；c@example.com",
        },
        None,
        now=RECORDED,
    )
    assert [(m.org_name, m.contact_name, m.email) for m in mechanism.members] == [
        ("甲公司", "张三", "a@example.com"),
        ("乙公司", "李四", "b@example.com"),
        ("丙公司", "王五", "c@example.com"),
    ]


def test_members_editable_until_the_first_check_then_only_added(scene):
    event = scene["event"]
    mechanism = record(event, n=3, prefix="e")
    first_id = mechanism.members[0].id
    text = "成员单位e1有限公司，新联系人，e1@example.com\n新单位，钱七，new@example.com"  # e2, e3 removed, e1 changed
    svc.save_mechanism(event, {"name": "改名联盟", "kind": "joint_lab", "formed_on": "2027-05-19", "members": text}, None, mechanism, now=RECORDED)
    db.session.commit()
    assert [(m.id == first_id, m.contact_name, m.email) for m in mechanism.members] == [
        (True, "新联系人", "e1@example.com"),
        (False, "钱七", "new@example.com"),
    ]
    assert mechanism.kind == "joint_lab" and mechanism.formed_on == date(2027, 5, 19)
    assert not svc.is_locked(mechanism)

    svc.send_due_checks(now=svc.wave_due(event, 3) + HOUR)
    assert svc.is_locked(mechanism)
    later = svc.wave_due(event, 3) + DAY
    with pytest.raises(svc.MechanismError) as exc:
        svc.save_mechanism(event, {"name": "x", "members": "成员单位e1有限公司，某人，e1@example.com"}, None, mechanism, now=later)
    assert "已是成员" in exc.value.errors["members"]
    db.session.rollback()
    # kind / formed_on are fixed once asked; name and description may change; members only added
    svc.save_mechanism(event, {"name": "新名称", "kind": "other", "formed_on": "2027-05-01", "description": "说明", "members": ""}, None, mechanism, now=later)
    db.session.commit()
    assert (mechanism.name, mechanism.kind, mechanism.formed_on, len(mechanism.members)) == ("新名称", "joint_lab", date(2027, 5, 19), 2)
    with pytest.raises(svc.MechanismError, match="不能删除"):
        svc.delete_mechanism(mechanism, None)


# ==== pages ==============================================================================================


def past_event(months_ago: int = 4):
    """An event that ended ``months_ago`` months ago (Beijing), so a wave is open at the real now."""
    end = svc.add_months(to_shanghai(utcnow()).date(), -months_ago) - DAY
    return make_event("华润", start=end)


@pytest.fixture
def site(app, client):
    with app.app_context():
        event = past_event()
        host = host_of(event)
        other_event = make_event("中石油", start=event.start_date + DAY)
        other_host = host_of(other_event)
        assessor = make_user(Role.ASSESSOR)
        organiser = make_user(Role.ORGANISER)
        participant = make_user(Role.PARTICIPANT)
        db.session.commit()
        ids = {
            "event_id": event.id,
            "other_event_id": other_event.id,
            "host": host.email,
            "other_host": other_host.email,
            "assessor": assessor.email,
            "organiser": organiser.email,
            "participant": participant.email,
            "formed": event.end_date.isoformat(),
        }
    return ids  # outside the app context: each request gets its own session, as in production


def test_host_records_edits_and_deletes_with_confirmation(app, client, site):
    event_id = site["event_id"]
    login(client, site["host"])
    page = client.get(f"/events/{event_id}/mechanisms")
    assert page.status_code == 200 and "尚未登记合作机制" in page.get_data(as_text=True)

    bad = client.post(
        f"/events/{event_id}/mechanisms/new", data={"name": "长期供货协议", "kind": "supply", "formed_on": site["formed"], "members": "甲公司，张三，bad"}
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "第 1 行：电子邮箱格式不正确" in text and "长期供货协议" in text and "甲公司，张三，bad" in text

    ok = client.post(
        f"/events/{event_id}/mechanisms/new",
        data={"name": "长期供货协议", "kind": "supply", "formed_on": site["formed"], "description": "三年框架协议", "members": members(3)},
    )
    assert ok.status_code == 302
    with app.app_context():
        mechanism = db.session.scalar(select(Mechanism))
        mechanism_id = mechanism.id
        assert len(mechanism.members) == 3
    listing = client.get(f"/events/{event_id}/mechanisms").get_data(as_text=True)
    assert "长期供货协议" in listing and "成员单位m1有限公司" in listing and "未发送" in listing

    edit = client.get(f"/events/{event_id}/mechanisms/{mechanism_id}/edit").get_data(as_text=True)
    assert "m3@example.com" in edit
    assert (
        client.post(
            f"/events/{event_id}/mechanisms/{mechanism_id}/edit", data={"name": "改名", "kind": "supply", "formed_on": site["formed"], "members": members(2)}
        ).status_code
        == 302
    )
    with app.app_context():
        assert len(db.session.get(Mechanism, mechanism_id).members) == 2

    assert client.get(f"/events/{event_id}/mechanisms/{mechanism_id}/delete").status_code == 200
    assert client.post(f"/events/{event_id}/mechanisms/{mechanism_id}/delete", data={}).status_code == 400  # no tick
    assert client.post(f"/events/{event_id}/mechanisms/{mechanism_id}/delete", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.get(Mechanism, mechanism_id) is None


def test_locked_mechanism_pages_show_answers_and_refuse_delete(app, client, site):
    with app.app_context():
        event = db.session.get(Event, site["event_id"])
        mechanism = svc.save_mechanism(event, {"name": "联合实验室", "kind": "joint_lab", "formed_on": site["formed"], "members": members(2)}, None)
        db.session.commit()
        svc.send_due_checks()
        svc.answer_check(check_of(mechanism.members[0], 3), True, "每月例会")
        db.session.commit()
        mechanism_id = mechanism.id
    login(client, site["host"])
    listing = client.get(f"/events/{site['event_id']}/mechanisms").get_data(as_text=True)
    assert "仍在运行" in listing and "每月例会" in listing and "未答复" in listing
    assert 'id="cannot-delete"' in client.get(f"/events/{site['event_id']}/mechanisms/{mechanism_id}/delete").get_data(as_text=True)
    refused = client.post(f"/events/{site['event_id']}/mechanisms/{mechanism_id}/delete", data={"confirm": "y"})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Mechanism, mechanism_id) is not None
    edit = client.get(f"/events/{site['event_id']}/mechanisms/{mechanism_id}/edit").get_data(as_text=True)
    assert 'id="locked-note"' in edit
    added = client.post(
        f"/events/{site['event_id']}/mechanisms/{mechanism_id}/edit", data={"name": "联合实验室", "members": "新成员公司，孙八，sun@example.com"}
    )
    assert added.status_code == 302
    with app.app_context():
        assert len(db.session.get(Mechanism, mechanism_id).members) == 3


def test_permissions(app, client, site):
    event_id, other_id = site["event_id"], site["other_event_id"]
    with app.app_context():
        mechanism = svc.save_mechanism(
            db.session.get(Event, event_id), {"name": "联盟", "kind": "alliance", "formed_on": site["formed"], "members": members(2)}, None
        )
        db.session.commit()
        mechanism_id = mechanism.id
    assert client.get(f"/events/{event_id}/mechanisms").status_code == 302  # anonymous → log-in

    login(client, site["other_host"])
    assert client.get(f"/events/{event_id}/mechanisms").status_code == 404
    assert client.get(f"/events/{event_id}/mechanisms/{mechanism_id}/edit").status_code == 404
    assert client.post(f"/events/{event_id}/mechanisms/{mechanism_id}/delete", data={"confirm": "y"}).status_code == 404
    assert client.get(f"/events/{other_id}/mechanisms/{mechanism_id}/edit").status_code == 404  # its own event, not its mechanism
    assert client.get(f"/events/{other_id}/mechanisms").status_code == 200
    assert client.get("/assessment/mechanisms").status_code == 403
    client.post("/logout")

    for role in ("assessor", "organiser"):
        login(client, site[role])
        review = client.get("/assessment/mechanisms")
        assert review.status_code == 200 and "华润融通创新主题日" in review.get_data(as_text=True)
        one = client.get(f"/assessment/events/{event_id}/mechanisms")
        assert one.status_code == 200 and "m1@example.com" in one.get_data(as_text=True) and "登记合作机制" not in one.get_data(as_text=True)
        client.post("/logout")
    login(client, site["assessor"])
    assert client.get(f"/events/{event_id}/mechanisms").status_code == 403  # reads, never records
    client.post("/logout")
    login(client, site["organiser"])
    assert client.get(f"/events/{event_id}/mechanisms/{mechanism_id}/edit").status_code == 200
    client.post("/logout")
    login(client, site["participant"])
    assert client.get(f"/events/{event_id}/mechanisms").status_code == 403
    assert client.get("/assessment/mechanisms").status_code == 403


def _asked(app, site) -> tuple[str, int]:  # noqa: ANN001
    with app.app_context():
        mechanism = svc.save_mechanism(
            db.session.get(Event, site["event_id"]), {"name": "产业联盟", "kind": "alliance", "formed_on": site["formed"], "members": members(2)}, None
        )
        db.session.commit()
        assert svc.send_due_checks().startswith("2 member(s)")
        member = mechanism.members[0]
        return token_of(member, 3), check_of(member, 3).id


def test_answer_link_one_click_with_note(app, client, site):
    token, check_id = _asked(app, site)
    assert client.get("/mechanisms/check/" + "A" * 43).status_code == 404
    assert client.get("/mechanisms/check/nonsense").status_code == 404
    assert client.post("/mechanisms/check/" + "A" * 43, data={"active": "仍在运行"}).status_code == 404

    page = client.get(f"/mechanisms/check/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "产业联盟" in text and "成员单位m1有限公司" in text and "m2@example.com" not in text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer" and "noindex" in page.headers["X-Robots-Tag"]
    with app.app_context():
        assert db.session.get(MechanismCheck, check_id).active is None  # opening the link never answers

    answered = client.post(f"/mechanisms/check/{token}", data={"active": "仍在运行", "note": "每季度例会"})
    assert answered.status_code == 302 and answered.headers["Cache-Control"] == "no-store"
    with app.app_context():
        check = db.session.get(MechanismCheck, check_id)
        assert check.active is True and check.note == "每季度例会" and check.answered_at is not None
    after = client.get(f"/mechanisms/check/{token}").get_data(as_text=True)
    assert 'id="current-answer"' in after and "每季度例会" in after

    assert client.post(f"/mechanisms/check/{token}", data={"stopped": "已停止"}).status_code == 302  # changed, note cleared
    with app.app_context():
        check = db.session.get(MechanismCheck, check_id)
        assert check.active is False and check.note == ""
    assert client.post(f"/mechanisms/check/{token}", data={"note": "只有说明"}).status_code == 400  # no button: nothing recorded
    assert client.post(f"/mechanisms/check/{token}", data={"active": "1", "note": "长" * (svc.NOTE_MAX + 1)}).status_code == 400
    with app.app_context():
        assert db.session.get(MechanismCheck, check_id).active is False

    with app.app_context():  # the wave closed: the page says so and refuses
        check = db.session.get(MechanismCheck, check_id)
        mechanism = db.session.get(Mechanism, check.mechanism_id)
        event = mechanism.event
        event.end_date = svc.add_months(to_shanghai(utcnow()).date(), -12)
        event.start_date = event.end_date
        db.session.commit()
    closed_page = client.get(f"/mechanisms/check/{token}")
    closed = closed_page.get_data(as_text=True)
    assert closed_page.status_code == 200
    assert 'id="closed"' in closed and 'id="answer-form"' not in closed
    assert client.post(f"/mechanisms/check/{token}", data={"active": "1"}).status_code == 400


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_answer_link_needs_csrf_and_is_rate_limited(make_app):  # noqa: ANN001
    app = make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, MECHANISM_CHECK_RATE_LIMIT="3 per minute")
    client = app.test_client()
    with app.app_context():
        event = past_event()
        db.session.commit()
        site = {"event_id": event.id, "formed": event.end_date.isoformat()}
    token, check_id = _asked(app, site)
    assert client.post(f"/mechanisms/check/{token}", data={"active": "1"}).status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.get(MechanismCheck, check_id).active is None
    page = client.get(f"/mechanisms/check/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"/mechanisms/check/{token}", data={"csrf_token": csrf, "active": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(MechanismCheck, check_id).active is True
    assert client.post(f"/mechanisms/check/{token}", data={"csrf_token": csrf, "stopped": "1"}).status_code == 302
    assert client.post(f"/mechanisms/check/{token}", data={"csrf_token": csrf, "active": "1"}).status_code == 429
