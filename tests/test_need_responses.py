"""Answers to technology needs (揭榜): the public form, the private status link, the host's side.

Real database, real files under instance/uploads, real outbox rows; a competing writer is a
second real connection, not a mock.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select

from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.core.uploads import StoredFile
from eventhub.core.validators import uscc_check_char
from eventhub.events import responses
from eventhub.events.models import Event, ResponseStatus, TechNeed, TechNeedResponse
from eventhub.extensions import db
from tests.event_helpers import VALID_USCC, add_need, approve, approved_event, make_event, make_plan
from tests.factories import login, make_user, user_and_login

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PROPOSAL = "我们团队拥有十年超声相控阵检测经验，已为三家航空发动机企业提供叶片在线检测方案，可在六个月内交付样机并完成产线验证。" * 2


def uscc(n: int) -> str:
    """A distinct valid 统一社会信用代码 for each ``n``."""
    first = f"9135010{n:06d}M00"[:17].ljust(17, "0")
    return first + uscc_check_char(first)


def form(**overrides: object) -> dict:
    data = {
        "org_name": "福州精测科技有限公司",
        "uscc": VALID_USCC,
        "contact_name": "林工",
        "contact_mobile": "13812345678",
        "contact_email": "lin@jingce.example.com",
        "proposal": PROPOSAL,
        "consent": "y",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def ids(app):
    with app.app_context():
        return approved_event("华润")


def url(ids: dict) -> str:
    return f"/theme-days/{ids['event_id']}/needs/{ids['need_id']}/respond"


def post(client, ids: dict, data: dict, file: tuple[bytes, str] | None = None):  # noqa: ANN001, ANN201
    if file is not None:
        data = {**data, "attachment": (io.BytesIO(file[0]), file[1])}
    return client.post(url(ids), data=data, content_type="multipart/form-data")


def token_of(response) -> str:  # noqa: ANN001
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r"/responses/([A-Za-z0-9_-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def count_rows(app, model=TechNeedResponse) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def uploaded_files(app) -> list[Path]:  # noqa: ANN001
    root = Path(app.instance_path) / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# ---- submitting ----------------------------------------------------------------------------


def test_answer_is_stored_with_private_link_mail_and_attachment(app, client, ids):
    page = client.get(url(ids)).get_data(as_text=True)
    assert "高温合金叶片无损检测技术" in page and 'name="website"' in page and "js/zishu.js" in page
    token = token_of(post(client, ids, form(uscc="91350100m000100y43 "), (PDF, "方案.pdf")))
    assert len(token) >= 43  # 32 random bytes

    status = client.get(f"/responses/{token}")
    assert status.status_code == 200
    html = status.get_data(as_text=True)
    assert "福州精测科技有限公司" in html and "已提交，待承办方处理" in html and "高温合金叶片无损检测技术" in html
    assert "138****5678" in html and "13812345678" not in html
    assert status.headers["Cache-Control"] == "no-store" and status.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in status.headers["X-Robots-Tag"] and '<meta name="robots" content="noindex' in html
    own = client.get(f"/responses/{token}/attachment")
    assert own.status_code == 200 and own.data == PDF and own.mimetype == "application/pdf"

    with app.app_context():
        row = db.session.scalar(select(TechNeedResponse))
        assert row.uscc == VALID_USCC and row.status == ResponseStatus.SUBMITTED.value and row.event_id == ids["event_id"]
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr([getattr(row, c.key) for c in TechNeedResponse.__table__.columns])
        assert row.attachment.original_name == "方案.pdf" and row.attachment.kind == "pdf"
        mail = db.session.scalar(select(MailMessage).where(MailMessage.key == f"need-response:{row.id}:received"))
        assert mail.recipient == "lin@jingce.example.com" and mail.locale == "zh_Hans_CN"
        assert f"http://localhost/responses/{token}" in mail.body and "高温合金叶片无损检测技术" in mail.subject
        assert f'href="http://localhost/responses/{token}"' in mail.html_body
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.object_type == "TechNeedResponse")) == "need_response.submit"


def test_english_ui_answer_gets_english_mail_locale(app, client, ids):
    client.post("/lang", data={"lang": "en", "next": "/"})
    token_of(post(client, ids, form()))
    with app.app_context():
        row = db.session.scalar(select(TechNeedResponse))
        assert row.locale == "en"
        assert db.session.scalar(select(MailMessage.locale).where(MailMessage.key == f"need-response:{row.id}:received")) == "en"


def test_wrong_checksum_is_named_and_input_kept(app, client, ids):
    response = post(client, ids, form(uscc="91350100M000100Y44"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "统一社会信用代码校验位错误：最后一位应为 3" in html
    assert 'value="福州精测科技有限公司"' in html and 'value="91350100M000100Y44"' in html and PROPOSAL[:20] in html
    assert count_rows(app) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("org_name", "", "请填写单位名称"),
        ("org_name", "福", "单位名称至少 2 个字符"),
        ("org_name", "福" * (responses.ORG_NAME_MAX + 1), f"单位名称最多 {responses.ORG_NAME_MAX} 个字符"),
        ("uscc", "", "请填写统一社会信用代码"),
        ("uscc", "9135010", "统一社会信用代码应为 18 位"),
        ("uscc", "91350100M000100IO3", "不允许的字符"),
        ("contact_name", "", "请填写联系人姓名"),
        ("contact_name", "林", "联系人姓名至少 2 个字符"),
        ("contact_name", "林" * (responses.CONTACT_NAME_MAX + 1), f"联系人姓名最多 {responses.CONTACT_NAME_MAX} 个字符"),
        ("contact_mobile", "", "请填写手机号码"),
        ("contact_mobile", "12812345678", "手机号码格式不正确"),
        ("contact_mobile", "1381234567", "手机号码格式不正确"),
        ("contact_email", "", "请填写电子邮箱"),
        ("contact_email", "lin@", "电子邮箱格式不正确"),
        ("proposal", "", "请填写方案概述"),
        ("consent", None, "请阅读并勾选同意后再提交"),
    ],
)
def test_each_field_limit_is_refused_at_the_field(app, client, ids, field, value, message):
    response = post(client, ids, form(**{field: value}))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert re.search(rf'name="{field}"[^>]*is-invalid|is-invalid[^>]*name="{field}"', html) or field == "consent" and "form-check-input is-invalid" in html
    assert count_rows(app) == 0


def test_zishu_limits_of_the_proposal(app, client, ids):
    low, high = responses.PROPOSAL_MIN_ZISHU, responses.PROPOSAL_MAX_ZISHU
    too_short = post(client, ids, form(proposal="测" * (low - 1), uscc=uscc(1)))
    assert too_short.status_code == 400 and f"方案概述至少 {low} 字，当前 {low - 1} 字" in too_short.get_data(as_text=True)
    too_long = post(client, ids, form(proposal="测" * (high + 1), uscc=uscc(2)))
    assert too_long.status_code == 400 and f"方案概述最多 {high} 字，当前 {high + 1} 字" in too_long.get_data(as_text=True)
    # Latin words count one each, spaces nothing: 50 words is 50 字
    token_of(post(client, ids, form(proposal=" ".join(["word"] * low), uscc=uscc(3))))
    token_of(post(client, ids, form(proposal="测" * high, uscc=uscc(4))))
    padded = post(client, ids, form(proposal="测" * low + " " * responses.PROPOSAL_MAX_CHARS + "测", uscc=uscc(5)))
    assert padded.status_code == 400 and "方案概述过长" in padded.get_data(as_text=True)
    assert count_rows(app) == 2


def test_attachment_refused_by_content_and_size(make_app):
    app = make_app(UPLOAD_MAX_BYTES=4096)
    with app.app_context():
        ids = approved_event("华润")
    client = app.test_client()
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
    response = post(client, ids, form(), (exe, "方案.pdf"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "内容不是允许的文件类型" in html and "请重新选择文件" in html and 'value="福州精测科技有限公司"' in html
    big = post(client, ids, form(), (PDF + b"0" * 5000, "big.pdf"))
    assert big.status_code == 400 and "的上限" in big.get_data(as_text=True)
    assert count_rows(app) == 0 and count_rows(app, StoredFile) == 0 and uploaded_files(app) == []


def test_deadline_passed_is_refused_on_the_server(app, client):
    with app.app_context():
        event = make_event("中石油")
        plan = make_plan(event)
        need = add_need(plan, "即将截止的需求", deadline=utcnow().replace(microsecond=0) + timedelta(hours=1))
        approve(plan)
        db.session.commit()
        ids = {"event_id": event.id, "need_id": need.id}
        deadline = need.response_deadline
        pub_need = responses.publication(event).need(need.id)
        assert responses.need_is_open(event, pub_need, deadline) is True  # to the second
        assert responses.need_is_open(event, pub_need, deadline + timedelta(seconds=1)) is False
        need.response_deadline = utcnow() - timedelta(seconds=1)  # the working copy changes nothing public
        db.session.commit()
    assert client.get(url(ids)).status_code == 200
    with app.app_context():  # what counts is the approved deadline: approve a past one
        plan = db.session.get(TechNeed, ids["need_id"]).plan
        approve(plan)
        db.session.commit()
    page = client.get(url(ids))
    assert page.status_code == 200 and "截止" in page.get_data(as_text=True) and 'id="respond-form"' not in page.get_data(as_text=True)
    response = post(client, ids, form())
    assert response.status_code == 400 and "已于" in response.get_data(as_text=True)
    assert count_rows(app) == 0


def test_one_answer_per_organisation_per_need(app, client, ids):
    token_of(post(client, ids, form()))
    again = post(client, ids, form(uscc=VALID_USCC.lower(), org_name="另一个名字", contact_email="other@example.com"))
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert "已响应过此需求" in html and "l***@jingce.example.com" in html
    assert count_rows(app) == 1
    with app.app_context():  # the same organisation may answer another need
        event = db.session.get(Event, ids["event_id"])
        other = add_need(event.detail_plan, "第二个需求")
        approve(event.detail_plan)
        db.session.commit()
        other_ids = {**ids, "need_id": other.id}
    token_of(post(client, other_ids, form()))


def test_a_competing_writer_wins_and_the_file_is_removed(app, ids):
    """Two submissions of one organisation at the same moment: the unique constraint decides; no orphan file."""
    with app.app_context():
        event = db.session.get(Event, ids["event_id"])

        def competitor(session, flush_context, instances) -> None:  # noqa: ANN001
            if not any(isinstance(o, TechNeedResponse) for o in session.new):
                return
            with db.engine.begin() as other:  # a second real connection commits first
                other.execute(
                    insert(TechNeedResponse).values(
                        need_id=ids["need_id"],
                        event_id=ids["event_id"],
                        org_name="并发提交",
                        uscc=VALID_USCC,
                        contact_name="林工",
                        contact_mobile="13812345678",
                        contact_email="lin@jingce.example.com",
                        proposal=PROPOSAL,
                        status="submitted",
                        token_hash="0" * 64,
                        locale="zh_Hans_CN",
                        host_note="",
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                )

        sa_event.listen(db.session, "before_flush", competitor)
        try:
            from werkzeug.datastructures import FileStorage

            upload = FileStorage(io.BytesIO(PDF), filename="方案.pdf")
            data = responses.ResponseInput("福州精测科技有限公司", VALID_USCC, "林工", "13812345678", "lin@jingce.example.com", PROPOSAL, True)
            with pytest.raises(responses.ResponseError) as caught:
                responses.submit_response(event, ids["need_id"], data, upload)
        finally:
            sa_event.remove(db.session, "before_flush", competitor)
        assert caught.value.duplicate
        assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
        assert [r.org_name for r in db.session.scalars(select(TechNeedResponse))] == ["并发提交"]
    assert uploaded_files(app) == []


def test_honeypot_gets_a_generic_error(app, client, ids):
    response = post(client, ids, form(website="http://spam.example"))
    assert response.status_code == 400
    assert "提交未成功，请稍后重试" in response.get_data(as_text=True)
    assert count_rows(app) == 0 and count_rows(app, MailMessage) == 0


def test_rate_limit_answers_429_in_chinese(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        ids = approved_event("华润")
    client = app.test_client()
    for _ in range(5):
        assert post(client, ids, form(uscc="bad")).status_code == 400
    limited = post(client, ids, form())
    assert limited.status_code == 429
    html = limited.get_data(as_text=True)
    assert "提交过于频繁，请稍后再试" in html and "操作过于频繁" in html
    assert client.get(url(ids)).status_code == 200  # reading the form is not limited
    assert count_rows(app) == 0


# ---- the private link ---------------------------------------------------------------------


def test_private_link_is_unguessable_and_shows_only_its_answer(app, client, ids):
    a = token_of(post(client, ids, form(org_name="甲公司", uscc=uscc(11))))
    b = token_of(post(client, ids, form(org_name="乙公司", uscc=uscc(12), contact_email="b@example.com"), (PDF, "乙.pdf")))
    assert a != b and re.fullmatch(r"[A-Za-z0-9_-]{43,}", a)
    page_a = client.get(f"/responses/{a}").get_data(as_text=True)
    assert "甲公司" in page_a and "乙公司" not in page_a and "乙.pdf" not in page_a
    assert client.get(f"/responses/{a}/attachment").status_code == 404  # A has none; B's is not reachable from A
    assert client.get(f"/responses/{b}/attachment").status_code == 200
    with app.app_context():
        hashes = set(db.session.scalars(select(TechNeedResponse.token_hash)))
    for wrong in (a[:-1] + ("A" if a[-1] != "A" else "B"), a[:20], a + "x", "x" * 43, hashlib.sha256(a.encode()).hexdigest(), *hashes, "1"):
        assert client.get(f"/responses/{wrong}").status_code == 404, wrong
        assert client.get(f"/responses/{wrong}/attachment").status_code == 404


# ---- the host's side ----------------------------------------------------------------------


def _answered(app, client, ids, n: int = 1) -> list[int]:  # noqa: ANN001
    for i in range(n):
        token_of(post(client, ids, form(org_name=f"应答单位{i:02d}", uscc=uscc(100 + i), contact_mobile=f"139{i:08d}"), (PDF, f"方案{i}.pdf")))
    with app.app_context():
        return list(db.session.scalars(select(TechNeedResponse.id).order_by(TechNeedResponse.id)))


def _host_urls(ids: dict, response_id: int) -> list[str]:
    base = f"/events/{ids['event_id']}/needs"
    return [
        base,
        f"{base}/{ids['need_id']}/responses",
        f"{base}/{ids['need_id']}/responses/{response_id}",
        f"{base}/{ids['need_id']}/responses/{response_id}/attachment",
        f"{base}/{ids['need_id']}/responses.xlsx",
    ]


def test_only_the_host_organisers_and_assessors_see_answers(app, client, ids):
    (rid,) = _answered(app, client, ids)
    urls = _host_urls(ids, rid)
    for u in urls:  # anonymous → log in
        response = client.get(u)
        assert response.status_code == 302 and "/login" in response.headers["Location"], u

    other = app.test_client()
    user_and_login(app, other, Role.HOST)  # a host of another base
    for u in urls:
        assert other.get(u).status_code == 404, u
    assert other.post(urls[2] + "/decision", data={"decision": "shortlist"}).status_code == 404

    reviewer = app.test_client()
    user_and_login(app, reviewer, Role.REVIEWER)
    assert reviewer.get(urls[1]).status_code == 403

    host = app.test_client()
    login(host, ids["host_email"])
    listing = host.get(urls[1]).get_data(as_text=True)
    assert "应答单位00" in listing and "139****0000" in listing and "13900000000" not in listing
    detail = host.get(urls[2]).get_data(as_text=True)
    assert "13900000000" in detail and 'id="decision-form"' in detail
    assert host.get(urls[3]).data == PDF

    organiser = app.test_client()
    user_and_login(app, organiser, Role.ORGANISER)
    assert all(organiser.get(u).status_code == 200 for u in urls)

    assessor = app.test_client()
    user_and_login(app, assessor, Role.ASSESSOR)
    assert all(assessor.get(u).status_code == 200 for u in urls)
    assert 'id="decision-form"' not in assessor.get(urls[2]).get_data(as_text=True)
    assert assessor.post(urls[2] + "/decision", data={"decision": "shortlist"}).status_code == 403


def test_shortlist_and_decline_change_the_private_page_and_mail_once(app, client, ids):
    token = token_of(post(client, ids, form()))
    with app.app_context():
        rid = db.session.scalar(select(TechNeedResponse.id))
    host = app.test_client()
    login(host, ids["host_email"])
    decision = f"/events/{ids['event_id']}/needs/{ids['need_id']}/responses/{rid}/decision"

    refused = host.post(decision, data={"decision": "decline", "note": "  "})
    assert refused.status_code == 400 and "选择“未入选”时请填写说明" in refused.get_data(as_text=True)
    too_long = host.post(decision, data={"decision": "shortlist", "note": "长" * (responses.NOTE_MAX + 1)})
    assert too_long.status_code == 400
    assert "已提交，待承办方处理" in client.get(f"/responses/{token}").get_data(as_text=True)

    def status_mails() -> list[MailMessage]:
        with app.app_context():
            return list(db.session.scalars(select(MailMessage).where(MailMessage.key.like(f"need-response:{rid}:status:%")).order_by(MailMessage.id)))

    assert status_mails() == []
    assert host.post(decision, data={"decision": "decline", "note": "技术路线与需求不符，欢迎关注下一批需求。"}).status_code == 302
    page = client.get(f"/responses/{token}").get_data(as_text=True)
    assert "未入选" in page and "技术路线与需求不符" in page
    mails = status_mails()
    assert len(mails) == 1 and mails[0].recipient == "lin@jingce.example.com" and "技术路线与需求不符" in mails[0].body

    assert host.post(decision, data={"decision": "decline", "note": "技术路线与需求不符，欢迎关注下一批需求。"}).status_code == 302
    assert len(status_mails()) == 1  # a repeated click changes and sends nothing

    assert host.post(decision, data={"decision": "shortlist", "note": "请于下周一前提交详细方案。"}).status_code == 302
    page = client.get(f"/responses/{token}").get_data(as_text=True)
    assert "入围" in page and "请于下周一前提交详细方案" in page and "技术路线与需求不符" not in page
    assert len(status_mails()) == 2
    with app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "TechNeedResponse").order_by(AuditLog.id)))
        assert actions == ["need_response.submit", "need_response.decline", "need_response.shortlist"]
        row = db.session.get(TechNeedResponse, rid)
        assert row.status == "shortlisted" and row.decided_by_id is not None


def test_list_search_filter_pages_counts_and_export(app, client, ids):
    rids = _answered(app, client, ids, 23)
    host = app.test_client()
    login(host, ids["host_email"])
    decision = f"/events/{ids['event_id']}/needs/{ids['need_id']}/responses/{rids[0]}/decision"
    host.post(decision, data={"decision": "shortlist", "note": ""})
    listing = f"/events/{ids['event_id']}/needs/{ids['need_id']}/responses"

    first = host.get(listing).get_data(as_text=True)
    assert first.count('data-response="') == 20 and "共 23 条" in first
    assert host.get(listing, query_string={"page": 2}).get_data(as_text=True).count('data-response="') == 3
    found = host.get(listing, query_string={"q": "应答单位07"}).get_data(as_text=True)
    assert found.count('data-response="') == 1 and "应答单位07" in found
    by_code = host.get(listing, query_string={"q": uscc(105)}).get_data(as_text=True)
    assert by_code.count('data-response="') == 1 and "应答单位05" in by_code
    assert host.get(listing, query_string={"q": "%"}).get_data(as_text=True).count('data-response="') == 0
    shortlisted = host.get(listing, query_string={"status": "shortlisted"}).get_data(as_text=True)
    assert shortlisted.count('data-response="') == 1 and "应答单位00" in shortlisted

    overview = host.get(f"/events/{ids['event_id']}/needs").get_data(as_text=True)
    row = overview[overview.index(f'data-need="{ids["need_id"]}"') :]
    assert re.search(r'class="count-submitted">22<', row) and re.search(r'class="count-shortlisted">1<', row) and re.search(r'class="fw-bold total">23<', row)

    export = host.get(f"/events/{ids['event_id']}/needs/{ids['need_id']}/responses.xlsx")
    assert export.status_code == 200 and export.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "提交时间（北京时间）", "单位名称", "统一社会信用代码") and len(rows) == 24
    exported = {r[2]: r for r in rows[1:]}
    assert exported["应答单位00"][10] == "入围" and exported["应答单位03"][5] == "13900000003" and exported["应答单位03"][9] == "方案3.pdf"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "need_response.export")) == 1


def test_export_cells_cannot_run_formulas(app, client, ids):
    token_of(post(client, ids, form(org_name="=HYPERLINK(1)")))
    organiser = app.test_client()
    user_and_login(app, organiser, Role.ORGANISER)
    sheet = load_workbook(io.BytesIO(organiser.get(f"/events/{ids['event_id']}/needs/{ids['need_id']}/responses.xlsx").data)).active
    assert sheet["C2"].value == "'=HYPERLINK(1)" and sheet["C2"].data_type == "s"


def test_other_event_need_ids_do_not_mix(app, client, ids):
    (rid,) = _answered(app, client, ids)
    with app.app_context():
        other = approved_event("国网")
        organiser = make_user(Role.ORGANISER)
        db.session.commit()
        email = organiser.email
    c = app.test_client()
    login(c, email)
    assert c.get(f"/events/{other['event_id']}/needs/{ids['need_id']}/responses").status_code == 404
    assert c.get(f"/events/{ids['event_id']}/needs/{ids['need_id']}/responses/{rid}").status_code == 200
    assert c.get(f"/events/{other['event_id']}/needs/{other['need_id']}/responses/{rid}").status_code == 404
    assert c.get(f"/theme-days/{other['event_id']}/needs/{ids['need_id']}/respond").status_code == 404


def test_expired_form_keeps_what_was_typed(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        ids = approved_event("华润")
    client = app.test_client()
    response = post(client, ids, form(csrf_token="stale"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "页面已过期，请刷新后重新提交" in html and 'value="福州精测科技有限公司"' in html and PROPOSAL[:20] in html
    assert count_rows(app) == 0


def test_public_page_links_managers_to_the_answers(app, client, ids):
    page = f"/theme-days/{ids['event_id']}"
    assert 'id="answers-link"' not in client.get(page).get_data(as_text=True)
    login(client, ids["host_email"])
    assert f'href="/events/{ids["event_id"]}/needs"' in client.get(page).get_data(as_text=True)
    other = app.test_client()
    user_and_login(app, other, Role.HOST)
    assert 'id="answers-link"' not in other.get(page).get_data(as_text=True)
