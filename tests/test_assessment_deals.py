"""Deals (合作项目) service, on SQLite and PostgreSQL (the ``app`` fixture runs both): recording with
per-field checks, the counterparty's link (confirm / dispute, locked once answered, re-asked after an
essential edit), figures counted only from confirmed deals, duplicates, evidence judged by content,
starting from a technology-need answer or a road-show lead, export and the recommendations hook.
Real database, real outbox, real files; no mocks.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from eventhub.assessment import deals
from eventhub.assessment.models import Deal, DealStatus
from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.permissions import Role
from eventhub.core.timeutil import utcnow
from eventhub.events.models import Event, TechNeedResponse
from eventhub.extensions import db
from eventhub.roadshow.models import MatchmakingLead, ProjectApplication, ProjectCall
from tests.event_helpers import VALID_USCC, add_need, host_of, make_event, make_plan
from tests.factories import make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def _uscc(body17: str) -> str:
    from eventhub.core.validators import uscc_check_char

    return body17 + uscc_check_char(body17)


USCC_B = _uscc("91440300MA5F00001")
USCC_C = _uscc("91310000MA1K00002")


def past_event(short_name: str = "华润", days_ago: int = 5) -> Event:
    """A theme day that took place ``days_ago`` days ago (deals are recorded after the event)."""
    event = make_event(short_name, start=deals.today_local() - timedelta(days=days_ago))
    db.session.commit()
    return event


def data(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "lead_party": "中国华润有限公司",
        "counterparty_name": "福州精测科技有限公司",
        "counterparty_type": "sme",
        "counterparty_uscc": VALID_USCC,
        "counterparty_contact": "张三",
        "counterparty_email": "zhang@jingce.example.com",
        "kind": "technology",
        "stage": "signed",
        "amount_wan": "120.5",
        "deal_date": (deals.today_local() - timedelta(days=2)).isoformat(),
        "description": "联合开发叶片在线检测装备。",
    }
    values.update(overrides)
    return values


def confirm_mails(deal: Deal) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"deal-confirm:{deal.id}:")).order_by(MailMessage.id)))


def token_in(mail: MailMessage) -> str:
    marker = "/deals/confirm/"
    start = mail.body.index(marker) + len(marker)
    return mail.body[start : start + 43]


# ---- recording and the counterparty's link ---------------------------------------------------------


def test_record_mails_a_signed_link_whose_token_is_stored_only_as_its_hash(app):
    with app.app_context():
        event = past_event()
        host = host_of(event)
        deal, token = deals.record_deal(event, data(), actor=host)
        assert deal.status == DealStatus.UNCONFIRMED.value and deal.amount_wan == 120.5
        assert len(token) == 43 and token not in deal.confirm_token_hash
        assert deal.confirm_token_hash == deals.hash_token(token)
        mails = confirm_mails(deal)
        assert len(mails) == 1 and mails[0].recipient == "zhang@jingce.example.com"
        assert token_in(mails[0]) == token
        assert "请确认合作项目" in mails[0].subject
        assert deals.find_by_token(token).id == deal.id
        assert deals.find_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert deals.find_by_token("short") is None
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "deal.create"))
        assert entry.actor_id == host.id and entry.after["counterparty_uscc"] == VALID_USCC


def test_confirmation_counts_and_unconfirmed_does_not(app):
    with app.app_context():
        event = past_event()
        a, _t = deals.record_deal(event, data(amount_wan="100"))
        b, _t = deals.record_deal(event, data(counterparty_name="厦门新材料有限公司", counterparty_uscc=USCC_B, amount_wan="50", stage="intent"))
        c, _t = deals.record_deal(event, data(counterparty_name="上海智造有限公司", counterparty_uscc=USCC_C, amount_wan="7"))
        figures = deals.deal_figures(event)
        assert figures["confirmed"] == 0 and figures["unconfirmed"] == 3 and figures["confirmed_amount_wan"] == 0

        deals.respond(a, "confirm", "属实")
        deals.respond(b, "confirm")
        figures = deals.deal_figures(event)
        assert figures == {
            "recorded": 3,
            "confirmed": 2,
            "unconfirmed": 1,
            "disputed": 0,
            "confirmed_signed": 1,
            "confirmed_intent": 1,
            "confirmed_amount_wan": 150.0,
            "confirmed_duplicates": 0,
        }
        assert a.responded_at is not None and a.response_note == "属实"
        deals.withdraw_deal(c)
        assert deals.deal_figures(event)["recorded"] == 2 and deals.deal_figures(event)["unconfirmed"] == 0


def test_dispute_needs_a_reason_is_flagged_to_organisers_once_and_listed(app):
    with app.app_context():
        organisers = [make_user(Role.ORGANISER) for _ in range(2)]
        event = past_event()
        host = host_of(event)
        db.session.commit()
        deal, _token = deals.record_deal(event, data(), actor=host)
        with pytest.raises(deals.DealError) as exc:
            deals.respond(deal, "dispute", "  ")
        assert "理由" in exc.value.errors["note"]
        assert deal.status == DealStatus.UNCONFIRMED.value

        deals.respond(deal, "dispute", "金额不符，实际为 80 万元。")
        assert deal.status == DealStatus.DISPUTED.value
        mails = list(db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"deal-disputed:{deal.id}:"))))
        assert sorted(m.recipient for m in mails) == sorted([*(o.email for o in organisers), host.email])
        assert all("金额不符" in m.body for m in mails)
        assert [d.id for d in db.session.scalars(deals.disputed_query())] == [deal.id]
        assert deals.deal_figures(event)["disputed"] == 1 and deals.deal_figures(event)["confirmed"] == 0
        assert db.session.scalar(select(AuditLog.actor_label).where(AuditLog.action == "deal.dispute")) == "合作方 zhang@jingce.example.com"

        with pytest.raises(deals.DealError):  # locked: a second answer is refused
            deals.respond(deal, "confirm")
        assert len(list(db.session.scalars(select(MailMessage).where(MailMessage.key.startswith(f"deal-disputed:{deal.id}:"))))) == 3


def test_an_essential_edit_reasks_with_a_new_link_and_a_minor_edit_keeps_the_confirmation(app):
    with app.app_context():
        event = past_event()
        deal, first = deals.record_deal(event, data())
        deals.respond(deal, "confirm")

        deal, token = deals.update_deal(deal, data(description="补充：样机已交付。", counterparty_contact="李四"))
        assert token is None and deal.status == DealStatus.CONFIRMED.value and deals.find_by_token(first) is not None

        deal, token = deals.update_deal(deal, data(amount_wan="200"))
        assert token is not None and deal.status == DealStatus.UNCONFIRMED.value and deal.responded_at is None
        assert deals.find_by_token(first) is None and deals.find_by_token(token).id == deal.id
        mails = confirm_mails(deal)
        assert len(mails) == 2 and token_in(mails[1]) == token and "再次确认" in mails[1].subject
        assert deals.deal_figures(event)["confirmed"] == 0

        deal, token2 = deals.update_deal(deal, data(amount_wan="200", counterparty_email="new@jingce.example.com"))
        assert token2 is not None and confirm_mails(deal)[-1].recipient == "new@jingce.example.com"

        deals.respond(deal, "dispute", "不是我们")
        token3 = deals.reask(deal)
        assert deal.status == DealStatus.UNCONFIRMED.value and deal.response_note == "" and deals.find_by_token(token3) is not None
        deals.withdraw_deal(deal)
        with pytest.raises(deals.DealError):
            deals.update_deal(deal, data())
        with pytest.raises(deals.DealError) as exc:
            deals.respond(deal, "confirm")
        assert "撤回" in str(exc.value)


# ---- field checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lead_party": ""}, "lead_party", "请填写牵头方"),
        ({"counterparty_name": "甲"}, "counterparty_name", "2–200"),
        ({"counterparty_type": "robot"}, "counterparty_type", "合作方类型"),
        ({"counterparty_uscc": VALID_USCC[:-1] + "0"}, "counterparty_uscc", "校验位错误"),
        ({"counterparty_uscc": ""}, "counterparty_uscc", "企业类合作方"),
        ({"counterparty_email": "not-an-address"}, "counterparty_email", "电子邮箱格式不正确"),
        ({"kind": ""}, "kind", "合作类型"),
        ({"stage": "maybe"}, "stage", "阶段"),
        ({"amount_wan": "-1"}, "amount_wan", "负数"),
        ({"amount_wan": "十万"}, "amount_wan", "数字"),
        ({"amount_wan": "", "kind": "investment", "stage": "signed"}, "amount_wan", "须填写金额"),
        ({"deal_date": "2020-13-01"}, "deal_date", "格式"),
        ({"description": "字" * 501}, "description", "500"),
    ],
)
def test_each_field_is_checked_with_a_chinese_message(app, overrides, field, message):
    with app.app_context():
        event = past_event()
        with pytest.raises(deals.DealError) as exc:
            deals.record_deal(event, data(**overrides))
        assert message in exc.value.errors[field], exc.value.errors
        assert db.session.scalar(select(func.count()).select_from(Deal)) == 0


def test_date_window_amount_optional_and_university_without_code(app):
    with app.app_context():
        event = past_event(days_ago=5)
        tomorrow = deals.today_local() + timedelta(days=1)
        too_early = event.start_date - timedelta(days=deals.DATE_LEAD_DAYS + 1)
        for day, text in ((tomorrow, "晚于今天"), (too_early, "活动首日前 30 天")):
            with pytest.raises(deals.DealError) as exc:
                deals.record_deal(event, data(deal_date=day.isoformat()))
            assert text in exc.value.errors["deal_date"]
        earliest = event.start_date - timedelta(days=deals.DATE_LEAD_DAYS)
        deal, _t = deals.record_deal(
            event,
            data(
                counterparty_type="university",
                counterparty_uscc="",
                counterparty_name="福州大学",
                amount_wan="",
                stage="intent",
                deal_date=earliest.isoformat(),
            ),
        )
        assert deal.amount_wan is None and deal.counterparty_uscc == "" and deal.deal_date == earliest


# ---- duplicates ------------------------------------------------------------------------------------------


def test_likely_duplicates_are_flagged_not_refused(app):
    with app.app_context():
        event = past_event()
        first, _t = deals.record_deal(event, data())
        same_code, _t = deals.record_deal(event, data(counterparty_name="福州精测科技股份有限公司"))  # renamed, same code
        assert same_code.duplicate_of_id == first.id
        other_kind, _t = deals.record_deal(event, data(kind="procurement"))
        assert other_kind.duplicate_of_id is None
        other_code, _t = deals.record_deal(event, data(counterparty_uscc=USCC_B))  # same name, both have different codes
        assert other_code.duplicate_of_id is None
        by_name, _t = deals.record_deal(
            event, data(counterparty_type="university", counterparty_uscc="", counterparty_name=" 福州精测科技 有限公司", kind="procurement")
        )
        assert by_name.duplicate_of_id == other_kind.id  # one side has no code: the normalised name decides

        elsewhere = past_event("中石油")
        there, _t = deals.record_deal(elsewhere, data())
        assert there.duplicate_of_id is None

        deals.respond(first, "confirm")
        deals.respond(same_code, "confirm")
        assert deals.deal_figures(event)["confirmed"] == 2 and deals.deal_figures(event)["confirmed_duplicates"] == 1

        deals.withdraw_deal(first)
        db.session.refresh(same_code)
        assert same_code.duplicate_of_id is None  # the flag follows the live deals

        edited, _token = deals.update_deal(other_code, data(counterparty_uscc=USCC_C, kind="procurement", counterparty_name="上海智造"))
        assert edited.duplicate_of_id is None


# ---- evidence -------------------------------------------------------------------------------------------


def test_evidence_is_judged_by_content_size_and_count(make_app):
    app = make_app(UPLOAD_MAX_BYTES=1024)
    with app.app_context():
        event = past_event()
        with pytest.raises(deals.DealError) as exc:
            deals.record_deal(event, data(), [(EXE, "签约页.pdf")])
        assert "内容不是允许的文件类型" in exc.value.errors["evidence"]
        with pytest.raises(deals.DealError) as exc:
            deals.record_deal(event, data(), [(PDF + b"x" * 2048, "big.pdf")])
        assert "超过" in exc.value.errors["evidence"]
        with pytest.raises(deals.DealError) as exc:  # DOCX is a document, not evidence
            deals.record_deal(event, data(), [(b"PK\x03\x04" + b"\x00" * 10, "x.docx")])
        assert "evidence" in exc.value.errors
        with pytest.raises(deals.DealError) as exc:
            deals.record_deal(event, data(), [(PNG, f"p{n}.png") for n in range(deals.EVIDENCE_MAX + 1)])
        assert "最多 10" in exc.value.errors["evidence"]
        assert db.session.scalar(select(func.count()).select_from(Deal)) == 0

        deal, _t = deals.record_deal(event, data(), [(PDF, "签约页.pdf"), (PNG, "现场照片")])
        assert [(e.file.kind, e.title) for e in deal.evidence] == [("pdf", "签约页.pdf"), ("png", "现场照片.png")]
        stored_pdf = deal.evidence[0]
        deal, _token = deals.update_deal(deal, data(), [(PNG, "合影.png")], remove_evidence=[str(stored_pdf.id)])
        assert [e.title for e in deal.evidence] == ["现场照片.png", "合影.png"] and deal.status == DealStatus.UNCONFIRMED.value
        assert deals.evidence_of(deal, stored_pdf.id) is None and deals.evidence_of(deal, deal.evidence[0].id).kind == "png"


# ---- starting from an answer or a lead ---------------------------------------------------------------------


def make_response(event: Event, org: str = "厦门新材料有限公司", uscc: str = USCC_B) -> TechNeedResponse:
    plan = make_plan(event)
    need = add_need(plan)
    row = TechNeedResponse(
        need_id=need.id,
        event_id=event.id,
        org_name=org,
        uscc=uscc,
        contact_name="王五",
        contact_mobile="13900000001",
        contact_email="wang@xm.example.com",
        proposal="方案",
        token_hash=deals.hash_token(deals.new_token()),
    )
    db.session.add(row)
    db.session.commit()
    return row


def make_lead(event: Event, *, org: str = "深圳光电有限公司") -> MatchmakingLead:
    call = ProjectCall(event_id=event.id, opens_at=utcnow() - timedelta(days=30), closes_at=utcnow() - timedelta(days=10))
    db.session.add(call)
    db.session.flush()
    application = ProjectApplication(
        call_id=call.id,
        event_id=event.id,
        org_name=org,
        org_type="startup",
        uscc=USCC_C,
        contact_name="赵六",
        contact_mobile="13700000002",
        contact_email="zhao@sz.example.com",
        project_name="微型光谱仪",
        stage="prototype",
        token_hash=deals.hash_token(deals.new_token()),
    )
    db.session.add(application)
    db.session.flush()
    lead = MatchmakingLead(
        event_id=event.id, application_id=application.id, interested_name="钱七", interested_org="华润创业投资有限公司", interested_email="qian@vc.example.com"
    )
    db.session.add(lead)
    db.session.commit()
    return lead


def test_start_from_a_technology_need_answer(app):
    with app.app_context():
        event = past_event()
        answer = make_response(event)
        prefill = deals.prefill_from_response(event, answer.id)
        assert prefill["counterparty_name"] == "厦门新材料有限公司" and prefill["counterparty_uscc"] == USCC_B
        assert prefill["counterparty_email"] == "wang@xm.example.com" and prefill["kind"] == "technology"
        assert prefill["lead_party"] == event.host_base.name and prefill["source_type"] == "need_response"
        assert "高温合金叶片无损检测技术" in prefill["description"]

        other = past_event("中石油")
        assert deals.prefill_from_response(other, answer.id) is None  # another event's answer is not offered

        deal, _t = deals.record_deal(event, {**prefill, "counterparty_type": "sme", "stage": "intent", "deal_date": data()["deal_date"]})
        assert (deal.source_type, deal.source_id) == ("need_response", answer.id)
        assert deals.used_sources(event, "need_response") == {answer.id: deal.id}
        assert "揭榜响应" in deals.source_label(deal)

        forged, _t = deals.record_deal(other, {**data(), "source_type": "need_response", "source_id": str(answer.id)})
        assert forged.source_type == "" and forged.source_id is None  # a source of another event is dropped


def test_start_from_a_road_show_lead(app):
    with app.app_context():
        event = past_event()
        lead = make_lead(event)
        prefill = deals.prefill_from_lead(event, lead.id)
        assert prefill["counterparty_name"] == "深圳光电有限公司" and prefill["counterparty_type"] == "startup"
        assert prefill["counterparty_uscc"] == USCC_C and prefill["counterparty_email"] == "zhao@sz.example.com"
        assert prefill["lead_party"] == "华润创业投资有限公司" and prefill["source_type"] == "lead"
        assert "微型光谱仪" in prefill["description"]
        assert deals.prefill_from_lead(past_event("中石油"), lead.id) is None

        deal, _t = deals.record_deal(event, {**prefill, "kind": "investment", "stage": "signed", "amount_wan": "500", "deal_date": data()["deal_date"]})
        assert (deal.source_type, deal.source_id) == ("lead", lead.id)

        from eventhub.competitions.recommendations import deal_evidence

        assert deal_evidence(application_id=lead.application_id) == []  # not confirmed yet
        assert deal_evidence(deal_id=deal.id) == []
        deals.respond(deal, "confirm")
        lines = deal_evidence(application_id=lead.application_id)
        assert len(lines) == 1 and "华润创业投资有限公司 × 深圳光电有限公司" in lines[0] and "500 万元" in lines[0] and "对方已确认" in lines[0]
        assert deal_evidence(deal_id=deal.id) == lines


# ---- export ---------------------------------------------------------------------------------------------


def test_export_neutralises_formulas_and_is_audited(app):
    with app.app_context():
        event = past_event()
        host = host_of(event)
        deals.record_deal(event, data(description='=HYPERLINK("http://x")'))
        rows = list(db.session.scalars(deals.deal_query(event, deals.Filters())))
        content = deals.export_xlsx(event, rows, actor=host)
        db.session.commit()
        sheet = load_workbook(io.BytesIO(content)).active
        header = [c.value for c in sheet[1]]
        assert header[:5] == ["编号", "状态", "疑似重复（同编号）", "牵头方", "合作方"]
        assert sheet.cell(row=2, column=header.index("简要说明") + 1).value.startswith("'=")
        assert sheet.cell(row=2, column=2).value == "待对方确认"
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "deal.export"))
        assert entry.actor_id == host.id and entry.after == {"rows": 1}


def test_filters_and_counts(app):
    with app.app_context():
        event = past_event()
        a, _t = deals.record_deal(event, data())
        deals.record_deal(event, data(counterparty_name="厦门新材料有限公司", counterparty_uscc=USCC_B, kind="investment", amount_wan="10"))
        deals.respond(a, "confirm")
        assert deals.status_counts(event)["confirmed"] == 1 and deals.status_counts(event)["unconfirmed"] == 1
        pick = lambda **kw: [d.id for d in db.session.scalars(deals.deal_query(event, deals.filters_from_args(kw)))]  # noqa: E731
        assert pick(status="confirmed") == [a.id]
        assert len(pick(kind="investment")) == 1 and pick(q="精测") == [a.id] and pick(q=VALID_USCC.lower()) == [a.id]
        assert deals.filters_from_args({"status": "bogus"}).status == ""
