"""Registration services: validation, the window, places, waiting list, moderation, edits, tokens.

Real database (SQLite and PostgreSQL through the ``app`` fixture), real outbox rows, real tickets.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from eventhub.core.audit import AuditLog
from eventhub.core.mail import MailMessage
from eventhub.core.timeutil import shanghai, utcnow
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import questions as q
from eventhub.registration import services as rs
from eventhub.registration.models import Registration, RegistrationQuota, Ticket, TicketRevocation
from tests.event_helpers import VALID_USCC, add_need, add_resource, add_session, approve, host_of, make_event, make_plan


def reg_event(
    *,
    capacity: int | None = 50,
    sessions: tuple[tuple[str, int | None, str], ...] = (("开幕式", None, "open"),),
    mode: str = "automatic",
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> dict[str, Any]:
    """An approved theme day with registration settings; returns ids (event, sessions, need, resource, host)."""
    event = make_event(f"测{utcnow().microsecond}")
    host = host_of(event)
    plan = make_plan(event)
    plan.registration_capacity = capacity
    plan.registration_opens_at = opens_at if opens_at is not None else utcnow() - timedelta(days=1)
    plan.registration_closes_at = closes_at if closes_at is not None else utcnow() + timedelta(days=10)
    plan.approval_mode = mode
    rows = [
        add_session(plan, title, start=f"{9 + i:02d}:00", end=f"{9 + i:02d}:45", capacity=cap, access=access) for i, (title, cap, access) in enumerate(sessions)
    ]
    need = add_need(plan)
    resource = add_resource(plan)
    approve(plan)
    db.session.commit()
    return {"event_id": event.id, "session_ids": [s.id for s in rows], "need_id": need.id, "resource_id": resource.id, "host_id": host.id}


def person(n: int = 0, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "张三",
        "organisation": "福州精测科技有限公司",
        "org_type": "sme",
        "uscc": VALID_USCC,
        "position": "技术总监",
        "mobile": f"138{n:08d}",
        "email": f"p{n}@example.com",
        "session_ids": [],
        "need_ids": [],
        "resource_ids": [],
        "answers": {},
    }
    data.update(overrides)
    return data


def event_of(ids: dict[str, Any]) -> Event:
    return db.session.get(Event, ids["event_id"])


def register(ids: dict[str, Any], n: int = 0, **kw: Any) -> tuple[Registration, str]:
    return rs.register(event_of(ids), person(n, **kw))


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return exc.value.errors


def mail_keys(rid: int) -> list[str]:
    return list(db.session.scalars(select(MailMessage.key).where(MailMessage.key.like(f"registration:{rid}:%")).order_by(MailMessage.id)))


# ---- validation ------------------------------------------------------------------------------


def test_every_field_is_checked_with_a_chinese_message(app):
    with app.app_context():
        ids = reg_event(sessions=(("开幕式", None, "open"), ("闭门会", None, "invitation")))
        bad = {
            "name": "",
            "organisation": "福",
            "org_type": "spaceship",
            "uscc": "",
            "position": "",
            "mobile": "12345",
            "email": "not-an-email",
            "session_ids": [ids["session_ids"][1]],
            "need_ids": [999999],
            "resource_ids": ["x"],
        }
        with pytest.raises(rs.RegistrationError) as exc:
            rs.register(event_of(ids), bad)
        errors = errors_of(exc)
        assert errors["name"] == "请填写姓名。"
        assert errors["organisation"] == "单位名称至少 2 个字符。"
        assert errors["org_type"] == "请选择单位类型。"
        assert errors["position"] == "请填写职务。"
        assert "手机号码格式不正确" in errors["mobile"]
        assert "电子邮箱格式不正确" in errors["email"]
        assert errors["session_ids"] == "“闭门会”仅限受邀嘉宾参加，不能在此报名。"
        assert "技术需求" in errors["need_ids"] and "共享资源" in errors["resource_ids"]
        assert "uscc" not in errors  # an unknown type needs none
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_enterprises_need_a_valid_credit_code_others_do_not(app):
    with app.app_context():
        ids = reg_event()
        for org_type in ("sme", "startup", "large"):
            with pytest.raises(rs.RegistrationError) as exc:
                register(ids, org_type=org_type, uscc="")
            assert errors_of(exc) == {"uscc": "企业请填写统一社会信用代码。"}
        with pytest.raises(rs.RegistrationError) as exc:
            register(ids, uscc=VALID_USCC[:-1] + ("0" if VALID_USCC[-1] != "0" else "1"))
        assert "校验位错误" in errors_of(exc)["uscc"]
        reg, _token = register(ids, 1, org_type="university", uscc="", organisation="清华大学")
        assert reg.uscc is None and reg.org_type == "university"
        reg, _token = register(ids, 2, uscc=" " + VALID_USCC.lower() + " ", mobile="+86 139-0000-0002")
        assert reg.uscc == VALID_USCC and reg.mobile == "13900000002"


def test_interests_and_sessions_are_stored(app):
    with app.app_context():
        ids = reg_event()
        reg, _token = register(ids, session_ids=[str(ids["session_ids"][0])], need_ids=[ids["need_id"]], resource_ids=[ids["resource_id"]])
        assert reg.session_ids == [ids["session_ids"][0]]
        assert reg.interests == {"needs": [ids["need_id"]], "resources": [ids["resource_id"]]}


def test_an_unpublished_event_takes_no_registration(app):
    with app.app_context():
        event = make_event("未批")
        make_plan(event)
        db.session.commit()
        with pytest.raises(rs.RegistrationError) as exc:
            rs.register(event, person())
        assert exc.value.closed and "尚未发布" in str(exc.value)


# ---- host questions ----------------------------------------------------------------------------


def test_host_questions_each_kind_and_required(app):
    with app.app_context():
        ids = reg_event()
        event = event_of(ids)
        text = q.define_question(event, "您希望对接的方向", "text", required=True)
        single = q.define_question(event, "是否需要住宿", "single", required=True, choices=["需要", "不需要"])
        multi = q.define_question(event, "关注领域", "multiple", choices=["新材料", "人工智能", "生物医药"])
        number = q.define_question(event, "同行人数", "number", required=True)
        yesno = q.define_question(event, "是否参加晚宴", "yesno", required=True)
        optional = q.define_question(event, "备注", "text")
        db.session.commit()
        with pytest.raises(q.QuestionError) as qexc:
            q.define_question(event, "颜色", "single", choices=["红"])
        assert "至少需要 2 个" in qexc.value.errors["choices"]
        with pytest.raises(q.QuestionError):
            q.define_question(event, "", "essay")

        with pytest.raises(rs.RegistrationError) as exc:
            register(ids, answers={})
        errors = errors_of(exc)
        assert errors[f"q_{text.id}"] == "请填写“您希望对接的方向”（必填）。"
        assert errors[f"q_{single.id}"] == "请回答“是否需要住宿”（必选）。"
        assert errors[f"q_{number.id}"] == "请填写“同行人数”（必填）。"
        assert errors[f"q_{yesno.id}"] == "请回答“是否参加晚宴”（必选）。"
        assert f"q_{multi.id}" not in errors and f"q_{optional.id}" not in errors

        with pytest.raises(rs.RegistrationError) as exc:
            register(ids, answers={str(text.id): "x", str(single.id): "也许", str(multi.id): ["新材料", "天文"], str(number.id): "三", str(yesno.id): "maybe"})
        errors = errors_of(exc)
        assert errors[f"q_{single.id}"] == "“是否需要住宿”的选项无效，请从列表中选择。"
        assert errors[f"q_{multi.id}"] == "“关注领域”含有无效选项：天文。"
        assert errors[f"q_{number.id}"] == "“同行人数”请填写数字。"
        assert errors[f"q_{yesno.id}"] == "“是否参加晚宴”请选择“是”或“否”。"

        answers = {f"q_{text.id}": " 新材料检测 ", single.id: "不需要", str(multi.id): ["生物医药", "新材料"], str(number.id): "２", str(yesno.id): "no"}
        reg, _token = register(ids, answers=answers)
        assert reg.answers == {
            str(text.id): "新材料检测",
            str(single.id): "不需要",
            str(multi.id): ["新材料", "生物医药"],
            str(number.id): 2,
            str(yesno.id): False,
        }

        q.remove_question(optional)
        db.session.commit()
        assert optional.id not in [x.id for x in q.active_questions(event)]


# ---- the window ------------------------------------------------------------------------------


def test_opening_and_closing_at_the_exact_second_in_beijing_time(app):
    with app.app_context():
        opens = shanghai(2030, 5, 1, 9, 0, 0)
        closes = shanghai(2030, 5, 20, 18, 0, 0)
        ids = reg_event(opens_at=opens, closes_at=closes)
        event = event_of(ids)
        with pytest.raises(rs.RegistrationError) as exc:
            rs.register(event, person(1), now=opens - timedelta(seconds=1))
        assert exc.value.closed and str(exc.value) == "报名尚未开始：将于 2030-05-01 09:00:00（北京时间）开放报名。"
        rs.register(event, person(2), now=opens)
        rs.register(event, person(3), now=closes + timedelta(microseconds=999_999))  # the closing second still counts
        with pytest.raises(rs.RegistrationError) as exc:
            rs.register(event, person(4), now=closes + timedelta(seconds=1))
        assert exc.value.closed and str(exc.value) == "报名已于 2030-05-20 18:00:00（北京时间）截止。"
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 2


# ---- places, waiting list, tickets, mail ----------------------------------------------------------


def test_automatic_mode_confirms_then_waitlists_and_mails(app):
    with app.app_context():
        ids = reg_event(capacity=2)
        first, token = register(ids, 1)
        second, _ = register(ids, 2)
        third, _ = register(ids, 3)
        assert [first.status, second.status, third.status] == ["confirmed", "confirmed", "waitlisted"]
        assert first.ticket is not None and first.confirmed_at is not None
        assert third.ticket is None and third.waitlisted_at is not None
        quota = db.session.scalar(select(RegistrationQuota).where(RegistrationQuota.event_id == ids["event_id"], RegistrationQuota.session_id.is_(None)))
        assert (quota.capacity, quota.used) == (2, 2)
        assert mail_keys(first.id) == [f"registration:{first.id}:confirmed"]
        assert mail_keys(third.id) == [f"registration:{third.id}:waitlisted"]
        mail = db.session.scalar(select(MailMessage).where(MailMessage.key == f"registration:{first.id}:confirmed"))
        assert token in mail.body and "报名成功" in mail.subject
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "registration.create")) == 3


def test_private_token_is_stored_only_as_its_hash(app):
    with app.app_context():
        ids = reg_event()
        reg, token = register(ids)
        assert len(token) == 43
        assert reg.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in reg.token_hash
        stored = db.session.execute(select(Registration.__table__)).mappings().one()
        assert token not in " ".join(str(v) for v in stored.values())
        assert rs.find_by_token(token).id == reg.id
        assert rs.find_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert rs.find_by_token(reg.token_hash) is None and rs.find_by_token("") is None


def test_duplicate_mobile_or_email_is_refused_with_a_masked_pointer(app):
    with app.app_context():
        ids = reg_event()
        first, _ = register(ids, 1, mobile="13812345678", email="zhang@example.com")
        with pytest.raises(rs.RegistrationError) as exc:
            register(ids, 2, mobile="138 1234 5678", email="other@example.com")
        assert exc.value.duplicate and exc.value.existing.id == first.id
        message = errors_of(exc)["mobile"]
        assert message.startswith("该手机号码已报名本活动。") and "138****5678" in message and "z***@example.com" in message and "已确认" in message
        assert "13812345678" not in message and "zhang@" not in message
        with pytest.raises(rs.RegistrationError) as exc:
            register(ids, 3, email="ZHANG@example.com")
        assert errors_of(exc)["email"].startswith("该电子邮箱已报名本活动。")
        rs.cancel(first)
        again, _ = register(ids, 4, mobile="13812345678", email="zhang@example.com")  # a cancelled one no longer blocks
        assert again.status == "confirmed"


def test_full_session_is_refused_by_name_and_invitation_sessions_are_not_counted(app):
    with app.app_context():
        ids = reg_event(capacity=10, sessions=(("开幕式", None, "open"), ("对接会", 1, "open")))
        opening, matchmaking = ids["session_ids"]
        first, _ = register(ids, 1, session_ids=[opening, matchmaking])
        assert first.status == "confirmed"
        with pytest.raises(rs.RegistrationError) as exc:
            register(ids, 2, session_ids=[matchmaking])
        assert errors_of(exc) == {"session_ids": "“对接会”名额已满，请选择其他场次。"}
        second, _ = register(ids, 2, session_ids=[opening])
        assert second.status == "confirmed"
        rs.cancel(first)
        third, _ = register(ids, 3, session_ids=[matchmaking])  # the freed session place
        assert third.status == "confirmed"


def test_cancel_frees_the_place_revokes_the_ticket_and_promotes_in_order_mailed_once(app):
    with app.app_context():
        ids = reg_event(capacity=2)
        a, _ = register(ids, 1)
        b, _ = register(ids, 2)
        w = [register(ids, 10 + i)[0] for i in range(3)]
        assert [r.id for r in rs.waiting_list(event_of(ids))] == [r.id for r in w]
        code = a.ticket.code
        promoted = rs.cancel(a)
        assert [r.id for r in promoted] == [w[0].id]
        db.session.expire_all()
        assert db.session.get(Registration, a.id).status == "cancelled"
        assert db.session.scalar(select(TicketRevocation.reason).where(TicketRevocation.ticket_code == code)) == "cancelled"
        assert db.session.get(Registration, w[0].id).status == "confirmed" and db.session.get(Registration, w[0].id).ticket is not None
        assert [db.session.get(Registration, r.id).status for r in w[1:]] == ["waitlisted", "waitlisted"]
        host = db.session.get(__import__("eventhub.auth.models", fromlist=["User"]).User, ids["host_id"])
        rs.cancel(db.session.get(Registration, b.id), host)
        db.session.expire_all()
        assert db.session.get(Registration, w[1].id).status == "confirmed" and db.session.get(Registration, w[2].id).status == "waitlisted"
        assert mail_keys(w[0].id) == [f"registration:{w[0].id}:waitlisted", f"registration:{w[0].id}:promoted"]
        assert mail_keys(a.id) == [f"registration:{a.id}:confirmed", f"registration:{a.id}:cancelled"]
        assert "承办方已取消" in db.session.scalar(select(MailMessage.body).where(MailMessage.key == f"registration:{b.id}:cancelled"))
        with pytest.raises(rs.RegistrationError):
            rs.cancel(db.session.get(Registration, a.id))
        quota = db.session.scalar(select(RegistrationQuota).where(RegistrationQuota.event_id == ids["event_id"]))
        assert quota.used == 2
        # cancelling a wait-listed one promotes nobody and frees nothing
        assert rs.cancel(db.session.get(Registration, w[2].id)) == []
        db.session.refresh(quota)
        assert quota.used == 2


def test_promotion_passes_over_someone_whose_session_is_full(app):
    with app.app_context():
        ids = reg_event(capacity=2, sessions=(("开幕式", None, "open"), ("对接会", 1, "open")))
        opening, matchmaking = ids["session_ids"]
        a, _ = register(ids, 1, session_ids=[matchmaking])
        b, _ = register(ids, 2)
        w1, _ = register(ids, 3, session_ids=[opening])
        db.session.execute(
            RegistrationQuota.__table__.update().where(RegistrationQuota.session_id == matchmaking).values(capacity=1)
        )  # still full for the next one
        w2, _ = register(ids, 4)
        assert (w1.status, w2.status) == ("waitlisted", "waitlisted")
        promoted = rs.cancel(b)
        assert [r.id for r in promoted] == [w1.id]


def test_sync_quotas_never_puts_used_below_the_confirmed_count(app):
    with app.app_context():
        ids = reg_event(capacity=5)
        for n in range(3):
            register(ids, n)
        db.session.execute(RegistrationQuota.__table__.update().values(used=0))
        db.session.commit()
        quotas = rs.sync_quotas(event_of(ids))
        db.session.commit()
        assert quotas.event.used == 3 and quotas.event.capacity == 5


# ---- moderated mode ----------------------------------------------------------------------------------


def test_moderated_approve_decline_and_reapproval_after_edit(app):
    with app.app_context():
        ids = reg_event(capacity=1, mode="moderated")
        from eventhub.auth.models import User

        host = db.session.get(User, ids["host_id"])
        a, token = register(ids, 1)
        b, _ = register(ids, 2)
        c, _ = register(ids, 3)
        assert (a.status, b.status, c.status) == ("pending", "pending", "pending") and a.ticket is None
        assert mail_keys(a.id) == [f"registration:{a.id}:pending"]
        received = db.session.scalar(select(MailMessage).where(MailMessage.key == f"registration:{a.id}:pending"))
        assert token in received.body and "等待审核" in received.subject

        result = rs.approve([a, b], host)
        assert [r.id for r in result.approved] == [a.id] and [r.id for r in result.still_pending] == [b.id]
        assert result.messages == ["张三：活动名额已满，仍为待审核。"]
        db.session.expire_all()
        a, b = db.session.get(Registration, a.id), db.session.get(Registration, b.id)
        assert a.status == "confirmed" and a.ticket is not None and b.status == "pending"

        with pytest.raises(rs.RegistrationError) as exc:
            rs.decline([b], "", host)
        assert "note" in exc.value.errors
        assert [r.id for r in rs.decline([b, c], "名额有限，优先邀请产业链企业。", host)] == [b.id, c.id]
        db.session.expire_all()
        assert db.session.get(Registration, b.id).status == "declined"
        assert "名额有限" in db.session.scalar(select(MailMessage.body).where(MailMessage.key == f"registration:{b.id}:declined"))

        # an edit after approval goes back to the host
        rs.update_answers(db.session.get(Registration, a.id), {"position": "总经理", "mobile": "13999999999"})
        a = db.session.get(Registration, a.id)
        assert a.position == "总经理" and a.mobile == "13800000001" and a.needs_reapproval and a.status == "confirmed"
        result = rs.approve([a], host)
        assert [r.id for r in result.approved] == [a.id]
        db.session.expire_all()
        a = db.session.get(Registration, a.id)
        assert not a.needs_reapproval
        assert any(k.startswith(f"registration:{a.id}:reapproved:") for k in mail_keys(a.id))
        # edited again, then declined: the place and the ticket go
        rs.update_answers(a, {"organisation": "福州精测二厂"})
        code = db.session.get(Registration, a.id).ticket.code
        rs.decline([db.session.get(Registration, a.id)], "单位信息与邀请名单不符。", host)
        db.session.expire_all()
        assert db.session.get(Registration, a.id).status == "declined"
        assert db.session.scalar(select(Ticket.revoked_at).where(Ticket.code == code)) is not None
        assert db.session.scalar(select(RegistrationQuota.used).where(RegistrationQuota.event_id == ids["event_id"])) == 0
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "Registration")))
        assert {"registration.create", "registration.approve", "registration.decline", "registration.update", "registration.reapprove"} <= actions


def test_edit_in_automatic_mode_needs_no_reapproval_and_is_validated(app):
    with app.app_context():
        ids = reg_event()
        reg, _ = register(ids)
        with pytest.raises(rs.RegistrationError) as exc:
            rs.update_answers(reg, {"org_type": "large", "uscc": "123"})
        assert "uscc" in exc.value.errors
        rs.update_answers(reg, {"name": "李四"})
        db.session.expire_all()
        reg = db.session.get(Registration, reg.id)
        assert reg.name == "李四" and not reg.needs_reapproval
