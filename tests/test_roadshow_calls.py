"""项目征集 services: the call's settings, applications (every field), the closing time to the second,
private links, editing and withdrawing, screening with keyed mail, the pre-screen through the judging
engine, and the XLSX export. Real database (SQLite and PostgreSQL), real outbox, real files.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import shanghai, to_shanghai, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.judging import services as judging
from eventhub.roadshow import calls
from eventhub.roadshow.models import ProjectApplication, ProjectCall
from eventhub.roadshow.project_fields import clean_project_fields
from tests.event_helpers import VALID_USCC, approved_event
from tests.factories import make_user

SUMMARY = "本项目研发面向高温合金叶片的在线超声无损检测装备，" * 8  # well over 100 字


def tiny_pdf(text: str = "Pitch deck") -> bytes:
    """A small but well-formed one-page PDF (objects, xref table and trailer with real offsets)."""
    stream = f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def deck(data: bytes | None = None, name: str = "路演材料.pdf") -> dict[str, FileStorage]:
    return {"deck": FileStorage(stream=io.BytesIO(tiny_pdf() if data is None else data), filename=name, content_type="application/pdf")}


def call_event(*, opens_at: str | None = None, closes_at: str | None = None, fields: list[str] | None = None) -> dict[str, Any]:
    """An approved two-day theme day with an open call (need field 先进制造 plus 新能源)."""
    ids = approved_event(f"路{utcnow().microsecond}")
    event = db.session.get(Event, ids["event_id"])
    start = to_shanghai(utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    close_day = event.start_date - timedelta(days=5)
    call = calls.save_call(
        event,
        {
            "opens_at": opens_at or start,
            "closes_at": closes_at or f"{close_day.isoformat()}T17:00:00",
            "intro": "征集新能源、先进制造领域的创新项目。",
            "fields": fields if fields is not None else ["先进制造", "新能源"],
            "summary_min": "100",
            "summary_max": "800",
        },
        actor=None,
    )
    db.session.commit()
    return {**ids, "call_id": call.id, "days": [event.start_date, event.end_date]}


def the_call(ids: dict[str, Any]) -> ProjectCall:
    return db.session.get(ProjectCall, ids["call_id"])


def application_data(ids: dict[str, Any], n: int = 0, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "org_name": "福州精测科技有限公司",
        "org_type": "sme",
        "uscc": VALID_USCC,
        "contact_name": "张三",
        "contact_mobile": f"139{n:08d}",
        "contact_email": f"contact{n}@example.com",
        "presenters": [{"name": "李四", "mobile": f"137{n:08d}", "email": f"li{n}@example.com", "position": "CTO"}],
        "project_name": f"叶片在线检测装备{n}",
        "field": "先进制造",
        "stage": "prototype",
        "seeking": "拟融资 500 万元，寻求中试场地。",
        "summary": SUMMARY,
        "need_ids": [str(ids["need_id"])],
        "unavailable": [{"date": ids["days"][0].isoformat(), "start": "09:00", "end": "12:00"}],
    }
    data.update(overrides)
    return data


def submit(ids: dict[str, Any], n: int = 0, **overrides: Any) -> tuple[ProjectApplication, str]:
    return calls.submit_application(the_call(ids), application_data(ids, n, **overrides), deck())


def outbox(key_prefix: str) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(key_prefix)).order_by(MailMessage.id)))


# ---- the call's settings --------------------------------------------------------------------


def test_save_call_stores_beijing_times_as_utc_and_checks_every_setting(app):
    with app.app_context():
        ids = call_event(closes_at=None)
        call = the_call(ids)
        assert call.fields == ["先进制造", "新能源"] and call.summary_min == 100 and call.summary_max == 800
        event = db.session.get(Event, ids["event_id"])
        close_day = event.start_date - timedelta(days=5)
        assert call.closes_at == shanghai(close_day.year, close_day.month, close_day.day, 17)  # 17:00 Beijing = 09:00 UTC
        assert call.closes_at.utcoffset() == timedelta(0) and call.closes_at.hour == 9
        assert calls.need_fields(calls.publication(event)) == ["先进制造"]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "roadshow_call.save")) == 1

        with pytest.raises(calls.CallError) as exc:
            calls.save_call(
                event,
                {
                    "opens_at": "2020-01-02T00:00",
                    "closes_at": "2020-01-01T00:00",
                    "fields": [],
                    "summary_min": "900",
                    "summary_max": "800",
                    "intro": "x" * 3001,
                },
                actor=None,
            )
        assert set(exc.value.errors) == {"closes_at", "fields", "summary_max", "intro"}
        with pytest.raises(calls.CallError) as exc:
            calls.save_call(
                event,
                {"opens_at": "", "closes_at": f"{event.start_date.isoformat()}T08:00", "fields": "新能源", "summary_min": "a", "summary_max": "800"},
                None,
            )
        assert "opens_at" in exc.value.errors and "早于活动开始" in exc.value.errors["closes_at"] and "summary_min" in exc.value.errors


# ---- applying ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_application_is_stored_with_deck_audit_receipt_and_a_hashed_private_link(app, backend):
    with app.app_context():
        ids = call_event()
        application, token = submit(ids)
        assert len(token) == 43
        assert application.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in application.token_hash
        assert application.status == "submitted" and application.need_ids == [ids["need_id"]]
        assert application.contact_mobile == "13900000000" and application.presenters[0]["mobile"] == "13700000000"
        assert application.deck_file.kind == "pdf" and application.deck_file.original_name == "路演材料.pdf"
        day = ids["days"][0]
        assert application.unavailable == [[shanghai(day.year, day.month, day.day, 9).isoformat(), shanghai(day.year, day.month, day.day, 12).isoformat()]]
        assert calls.find_by_token(token).id == application.id
        assert calls.find_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert calls.find_by_token("") is None and calls.find_by_token("../etc") is None
        [mail] = outbox(f"roadshow-application:{application.id}:")
        assert mail.key == f"roadshow-application:{application.id}:received" and mail.template == "roadshow_received"
        assert f"/projects/{token}" in mail.body and mail.recipient == "contact0@example.com"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "roadshow_application.submit")).object_id == str(application.id)


VALIDATION_CASES = [
    ("org_name", {"org_name": ""}, "请填写单位名称"),
    ("org_type", {"org_type": "martian"}, "请选择单位类型"),
    ("uscc", {"uscc": ""}, "企业请填写统一社会信用代码"),
    ("uscc", {"uscc": VALID_USCC[:-1] + ("0" if VALID_USCC[-1] != "0" else "1")}, "校验位错误"),
    ("uscc", {"uscc": "91350100M000100Y4"}, "应为 18 位"),
    ("contact_name", {"contact_name": "张"}, "至少 2 个字符"),
    ("contact_mobile", {"contact_mobile": "12345678901"}, "手机号码格式不正确"),
    ("contact_email", {"contact_email": "not-an-address"}, "电子邮箱格式不正确"),
    ("presenters", {"presenters": []}, "至少填写 1 位路演人"),
    ("presenters", {"presenters": [{"name": f"路演人{i}", "mobile": f"1360000000{i}", "email": f"p{i}@example.com"} for i in range(6)]}, "最多 5 位"),
    ("presenters-0-mobile", {"presenters": [{"name": "李四", "mobile": "10086", "email": "li@example.com"}]}, "手机号码格式不正确"),
    ("presenters-0-email", {"presenters": [{"name": "李四", "mobile": "13700000000", "email": ""}]}, "请填写路演人电子邮箱"),
    ("presenters-0-name", {"presenters": [{"name": "", "mobile": "13700000000", "email": "li@example.com"}]}, "请填写路演人姓名"),
    ("project_name", {"project_name": ""}, "请填写项目名称"),
    ("field", {"field": "生物医药"}, "不在本次征集的范围内"),
    ("field", {"field": ""}, "请选择技术领域"),
    ("need_ids", {"need_ids": ["999999"]}, "不在本活动已发布的需求中"),
    ("stage", {"stage": "ipo"}, "请选择项目阶段"),
    ("seeking", {"seeking": ""}, "请填写融资或合作需求"),
    ("summary", {"summary": "太短的简介"}, "至少 100 字"),
    ("summary", {"summary": "很" * 801}, "最多 800 字"),
    ("unavailable-0", {"unavailable": [{"date": "2001-01-01", "start": "09:00", "end": "10:00"}]}, "应在活动日期内"),
    ("unavailable-0", {"unavailable": [{"date": "", "start": "09:00", "end": "10:00"}]}, "请填写日期"),
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("key", "overrides", "message"), VALIDATION_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(VALIDATION_CASES)])
def test_each_field_is_checked_with_a_chinese_message_and_nothing_is_stored(app, backend, key, overrides, message):
    with app.app_context():
        ids = call_event()
        with pytest.raises(calls.CallError) as exc:
            submit(ids, **overrides)
        assert key in exc.value.errors, exc.value.errors
        assert message in exc.value.errors[key]
        assert db.session.scalar(select(func.count()).select_from(ProjectApplication)) == 0
        assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_unavailable_end_before_start_and_times_merge(app, backend):
    with app.app_context():
        ids = call_event()
        day = ids["days"][1].isoformat()
        with pytest.raises(calls.CallError) as exc:
            submit(ids, unavailable=[{"date": day, "start": "10:00", "end": "09:00"}])
        assert "结束时间应晚于开始时间" in exc.value.errors["unavailable-0"]
        application, _token = submit(
            ids,
            unavailable=[
                {"date": day, "start": "09:00", "end": "10:00"},
                {"date": day, "start": "09:30", "end": "11:00"},
                {"date": "", "start": "", "end": ""},
            ],
        )
        assert len(application.unavailable) == 1 and application.unavailable[0][1].startswith(f"{day}T03:00")  # 11:00 Beijing


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_uscc_is_optional_for_universities_and_the_deck_is_checked_by_content(make_app, backend):
    app = make_app(UPLOAD_MAX_BYTES=4096)
    with app.app_context():
        ids = call_event()
        application, _token = calls.submit_application(the_call(ids), application_data(ids, 1, org_type="university", uscc=""), deck())
        assert application.uscc == ""
        cases = [
            ({}, "请上传路演材料"),
            (deck(b"MZ\x90\x00 this is an exe", "deck.pdf"), "不是允许的文件类型"),
            (deck(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "deck.pdf"), "不是允许的文件类型"),
            (deck(b"%PDF-1.4\n" + b"0" * 5000), "超过"),
        ]
        for files, message in cases:
            with pytest.raises(calls.CallError) as exc:
                calls.submit_application(the_call(ids), application_data(ids, 2), files)
            assert message in exc.value.errors["deck"]


def test_clean_project_fields_is_usable_on_its_own(app):
    """The helper competitions reuse: every key back, normalised, with errors by key."""
    with app.test_request_context():
        values, errors = clean_project_fields(
            {"org_name": " 某 大学 ", "org_type": "university", "contact_name": "王五", "contact_mobile": "+86 138-1234-5678", "contact_email": "W@Example.COM",
             "presenters": [{"name": "王五", "mobile": "１３８１２３４５６７８", "email": "w@example.com"}, {"name": "", "mobile": "", "email": ""}],
             "project_name": "新材料", "field": "任意领域", "stage": "idea", "seeking": "寻求合作", "summary": "abc def"},
            fields=[], summary_min=1, summary_max=10,
        )  # fmt: skip
        assert errors == {}
        assert values["org_name"] == "某 大学" and values["contact_mobile"] == "13812345678" and values["contact_email"] == "w@example.com"
        assert len(values["presenters"]) == 1 and values["presenters"][0]["mobile"] == "13812345678" and values["uscc"] == ""
        _values, errors = clean_project_fields(
            {"presenters": [{"name": "甲乙", "mobile": "13812345678", "email": "a@b.cn"}] * 2}, fields=["A"], summary_min=1, summary_max=10
        )
        assert "同一手机号码只能对应一位路演人" in errors["presenters-1-mobile"]
        assert {"org_name", "org_type", "contact_name", "contact_mobile", "contact_email", "project_name", "field", "stage", "seeking", "summary"} <= set(
            errors
        )


# ---- the window, to the second ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_call_closes_to_the_second_in_beijing_time(app, backend):
    with app.app_context():
        ids = call_event()
        call = the_call(ids)
        event = db.session.get(Event, ids["event_id"])
        close_day = event.start_date - timedelta(days=5)
        deadline = shanghai(close_day.year, close_day.month, close_day.day, 17, 0, 0)
        assert calls.call_state(call, deadline) == "open"
        assert calls.call_state(call, deadline + timedelta(milliseconds=999)) == "open"
        assert calls.call_state(call, deadline + timedelta(seconds=1)) == "closed"
        assert calls.call_state(call, call.opens_at - timedelta(seconds=1)) == "not_open"
        application, _token = calls.submit_application(call, application_data(ids, 1), deck(), now=deadline)
        with pytest.raises(calls.CallError) as exc:
            calls.submit_application(call, application_data(ids, 2), deck(), now=deadline + timedelta(seconds=1))
        assert exc.value.closed and f"{close_day.isoformat()} 17:00:00" in str(exc.value)
        with pytest.raises(calls.CallError) as exc:
            calls.submit_application(call, application_data(ids, 3), deck(), now=call.opens_at - timedelta(seconds=1))
        assert exc.value.closed and "开始" in str(exc.value)
        # editing follows the same clock
        assert calls.can_edit(application, deadline) and not calls.can_edit(application, deadline + timedelta(seconds=1))
        with pytest.raises(calls.CallError):
            calls.update_application(application, application_data(ids, 1, project_name="改名"), None, now=deadline + timedelta(seconds=1))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_same_mobile_and_project_name_is_refused_with_a_pointer(app, backend):
    with app.app_context():
        ids = call_event()
        submit(ids, 1)
        with pytest.raises(calls.CallError) as exc:
            submit(ids, 1, contact_email="other@example.com")
        assert exc.value.duplicate and "c***@example.com" in exc.value.errors["project_name"] and "专属链接" in exc.value.errors["project_name"]
        submit(ids, 1, project_name="另一个项目")  # the same person may apply with another project
        assert db.session.scalar(select(func.count()).select_from(ProjectApplication)) == 2


# ---- the applicant's edits and withdrawal -----------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_update_until_close_and_after_a_change_request(app, backend):
    with app.app_context():
        ids = call_event()
        application, _token = submit(ids)
        old_deck = application.deck_file_id
        assert calls.update_application(application, application_data(ids, 0, stage="revenue"), None) is True
        assert application.stage == "revenue" and application.deck_file_id == old_deck
        assert calls.update_application(application, application_data(ids, 0, stage="revenue"), None) is False  # nothing changed
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "roadshow_application.update"))
        assert entry.before == {"stage": "prototype"} and entry.after == {"stage": "revenue"}
        assert calls.update_application(application, application_data(ids, 0, stage="revenue"), deck(tiny_pdf("v2"), "v2.pdf")) is True
        assert application.deck_file.original_name == "v2.pdf" and application.deck_file_id != old_deck

        host = db.session.scalar(select(User).where(User.email == ids["host_email"]))
        calls.screen(application, "request_changes", "请补充团队介绍。", host)
        db.session.commit()
        later = the_call(ids).closes_at + timedelta(days=1)
        assert calls.can_edit(application, later)  # the host asked: editable after the close
        calls.update_application(application, application_data(ids, 0, stage="revenue", seeking="拟融资 800 万元。"), None, now=later)
        assert application.status == "submitted" and application.seeking == "拟融资 800 万元。"
        assert not calls.can_edit(application, later)
        calls.screen(application, "shortlist", "", host)
        db.session.commit()
        with pytest.raises(calls.CallError) as exc:
            calls.update_application(application, application_data(ids, 0), None)
        assert "不能再修改" in str(exc.value)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_withdraw_is_audited_and_confirmed_once(app, backend):
    with app.app_context():
        ids = call_event()
        application, _token = submit(ids)
        assert calls.withdraw(application) is True
        assert calls.withdraw(application) is False
        assert application.status == "withdrawn"
        assert [m.key for m in outbox(f"roadshow-application:{application.id}:")] == [
            f"roadshow-application:{application.id}:received",
            f"roadshow-application:{application.id}:withdrawn",
        ]
        with pytest.raises(calls.CallError):
            calls.screen(application, "shortlist", "", None)


# ---- screening and notification ------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_screening_is_audited_and_mailed_once_per_change(app, backend):
    with app.app_context():
        ids = call_event()
        host = make_user(Role.HOST, base=db.session.get(Event, ids["event_id"]).host_base)
        application, _token = submit(ids)
        prefix = f"roadshow-application:{application.id}:status:"

        with pytest.raises(calls.CallError) as exc:
            calls.screen(application, "decline", "  ", host)
        assert "请填写原因" in exc.value.errors["note"]
        with pytest.raises(calls.CallError) as exc:
            calls.screen(application, "request_changes", "", host)
        assert "修改的内容" in exc.value.errors["note"]
        with pytest.raises(calls.CallError):
            calls.screen(application, "delete", "", host)

        assert calls.screen(application, "request_changes", "请补充财务数据。", host) is True
        db.session.commit()
        assert calls.screen(application, "request_changes", "请补充财务数据。", host) is False  # same status and note: no second mail
        assert calls.screen(application, "shortlist", "", host) is True
        db.session.commit()
        assert calls.screen(application, "decline", "与本次产业链方向不符。", host) is True
        db.session.commit()
        mails = outbox(prefix)
        assert [m.template for m in mails] == ["roadshow_changes_requested", "roadshow_shortlisted", "roadshow_declined"]
        entries = list(db.session.scalars(select(AuditLog).where(AuditLog.action.startswith("roadshow_application.")).order_by(AuditLog.id)))
        screening = [e for e in entries if e.action != "roadshow_application.submit"]
        assert [e.action for e in screening] == ["roadshow_application.request_changes", "roadshow_application.shortlist", "roadshow_application.decline"]
        assert [m.key for m in mails] == [f"{prefix}{e.id}" for e in screening]
        assert screening[-1].before == {"status": "shortlisted", "decision_note": ""} and screening[-1].actor_id == host.id
        assert "与本次产业链方向不符。" in mails[-1].body and "请补充财务数据。" in mails[0].body
        assert application.status == "declined" and application.decision_note == "与本次产业链方向不符。"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bulk_shortlist_changes_only_what_can_change(app, backend):
    with app.app_context():
        ids = call_event()
        a, _ = submit(ids, 1)
        b, _ = submit(ids, 2)
        c, _ = submit(ids, 3)
        calls.withdraw(c)
        assert calls.bulk_shortlist(the_call(ids), [a.id, b.id, c.id, 999999], None) == 2
        db.session.commit()
        assert (a.status, b.status, c.status) == ("shortlisted", "shortlisted", "withdrawn")
        assert calls.bulk_shortlist(the_call(ids), [a.id, b.id], None) == 0
        assert len(outbox(f"roadshow-application:{a.id}:status:")) == 1


# ---- pre-screen through the judging engine ----------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_prescreen_round_is_created_through_the_engine_with_items_pointing_at_applications(app, backend):
    with app.app_context():
        ids = call_event()
        call = the_call(ids)
        apps = [submit(ids, n)[0] for n in range(3)]
        rnd = calls.send_to_prescreen(call, apps[:2], None)
        db.session.commit()
        assert rnd.key == f"roadshow-prescreen:{call.id}" and call.prescreen_round_id == rnd.id
        assert [c.name for c in rnd.criteria] == ["技术创新性", "市场前景", "团队能力", "与产业链契合度"]
        assert sorted((i.ref_type, i.ref_id) for i in rnd.items if i.active) == [("roadshow_application", a.id) for a in apps[:2]]
        assert all(i.url.endswith(f"/roadshow/prescreen/{i.ref_id}") for i in rnd.items)
        # sending the third adds it; the first two stay; a withdrawn one is left out
        calls.withdraw(apps[1])
        again = calls.send_to_prescreen(call, [apps[2], apps[1]], None)
        db.session.commit()
        assert again.id == rnd.id
        assert sorted(i.ref_id for i in again.items if i.active) == [apps[0].id, apps[2].id]
        with pytest.raises(calls.CallError):
            calls.send_to_prescreen(call, [apps[1]], None)

        judges = [make_user(Role.REVIEWER) for _ in range(2)]
        outsider = make_user(Role.REVIEWER)
        other_host = make_user(Role.HOST)
        for item in [i for i in again.items if i.active]:
            for judge in judges:
                judging.assign(item, judge, None)
        judging.start_scoring(again, None)
        db.session.flush()
        scores = {apps[0].id: 9, apps[2].id: 6}
        for item in [i for i in again.items if i.active]:
            for assignment in item.assignments:
                values = {c.id: scores[item.ref_id] for c in again.criteria}
                judging.save_sheet(assignment, values, {}, None, True, db.session.get(User, assignment.judge_id))
        db.session.commit()
        ranking = calls.prescreen_ranking(call)
        assert ranking[apps[0].id].rank == 1 and ranking[apps[2].id].rank == 2 and ranking[apps[0].id].submitted == 2
        assert [a.id for a, _r in calls.prescreen_order(call)] == [apps[0].id, apps[2].id]
        # the deck: assigned judges yes, other reviewers and other hosts no, the host yes
        host = make_user(Role.HOST, base=db.session.get(Event, ids["event_id"]).host_base)
        assert calls.can_download_deck(judges[0], apps[0]) and calls.can_download_deck(host, apps[0])
        assert not calls.can_download_deck(outsider, apps[0]) and not calls.can_download_deck(other_host, apps[0])
        assert not calls.can_download_deck(judges[0], apps[1])


# ---- export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_export_xlsx_has_every_column_escapes_formulas_and_is_audited(app, backend):
    with app.app_context():
        ids = call_event()
        submit(ids, 1, org_name='=HYPERLINK("http://x")公司')
        submit(ids, 2)
        call = the_call(ids)
        rows = list(db.session.scalars(calls.applications_query(call)))
        content = calls.export_xlsx(call, rows, None)
        db.session.commit()
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        data = list(sheet.iter_rows(values_only=True))
        assert list(data[0]) == calls.EXPORT_HEADER
        assert len(data) == 3
        by_name = {r[10]: r for r in data[1:]}
        first = by_name["叶片在线检测装备1"]
        assert first[3].startswith("'=HYPERLINK") and first[7] == "13900000001" and first[11] == "先进制造"
        assert "高温合金叶片无损检测技术" in first[12] and first[13] == "原型 / 样机" and first[18] == "路演材料.pdf"
        assert "09:00–12:00" in first[17]
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "roadshow_call.export")).after == {"rows": 2}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_host_list_searches_and_filters(app, backend):
    with app.app_context():
        ids = call_event()
        a, _ = submit(ids, 1, org_name="甲科技有限公司", stage="idea", field="新能源")
        b, _ = submit(ids, 2, org_name="乙科技有限公司")
        calls.screen(b, "shortlist", "", None)
        db.session.commit()
        call = the_call(ids)

        def found(**kw: str) -> list[int]:
            return [r.id for r in db.session.scalars(calls.applications_query(call, **kw))]

        assert found(q="甲科技") == [a.id] and found(q="13900000002") == [b.id]
        assert found(status="shortlisted") == [b.id] and found(field="新能源") == [a.id] and found(stage="idea") == [a.id]
        assert found(q="100%_") == []
        assert calls.status_counts(call)["shortlisted"] == 1 and calls.status_counts(call)["submitted"] == 1
