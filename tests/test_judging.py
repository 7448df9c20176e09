"""Judging engine services: rubric, assignment with conflicts, sheets, aggregation, export.

Real database (SQLite and PostgreSQL), no mocks.
"""

from __future__ import annotations

import io
import math

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as js
from eventhub.judging.defaults import PLAN_REVIEW_CRITERIA
from eventhub.judging.models import Assignment, AssignmentStatus, JudgeAffiliation
from tests.concurrency import run_concurrently
from tests.factories import login, make_base, make_user


def _round(key: str = "test:1", criteria=None, judges_per_item: int = 3):
    criteria = criteria or [("A", 2.0, "guide A"), ("B", 1.0, "guide B")]
    return js.get_or_create_round(key, "测试评审", criteria, scale=(1, 10), judges_per_item=judges_per_item)


def _items(rnd, n: int, conflicts: dict[int, list[int]] | None = None):
    conflicts = conflicts or {}
    js.sync_items(rnd, [js.ItemSpec("plan", i, f"项目{i}", f"/plans/{i}", conflicts.get(i, [])) for i in range(1, n + 1)])
    return sorted(js.active_items(rnd), key=lambda i: i.ref_id)


def _score(assignment, judge, a: float, b: float, submit: bool = True):
    crit = assignment.item.round.criteria
    return js.save_sheet(assignment, {crit[0].id: a, crit[1].id: b}, {}, None, submit, judge)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


# ---- rounds, rubric, items ---------------------------------------------------------------


def test_get_or_create_round_is_idempotent_and_uses_defaults(app):
    with app.app_context():
        rnd = js.get_or_create_round("plan-review:1", "初步计划评审", PLAN_REVIEW_CRITERIA)
        db.session.commit()
        again = js.get_or_create_round("plan-review:1", "初步计划评审", [("X", 1.0, "")])
        assert again.id == rnd.id
        assert [c.name for c in again.criteria] == ["活动内容特色", "示范带动作用", "项目对接周期"]
        assert all(c.guidance and len(c.guidance) > 50 for c in again.criteria)
        assert (rnd.scale_min, rnd.scale_max, rnd.judges_per_item, rnd.status) == (1, 10, 3, "setup")


def test_rubric_edit_then_frozen_after_scoring_starts(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        rnd = _round()
        a, b = rnd.criteria
        js.update_rubric(rnd, [js.CriterionSpec("B2", 3.0, "g", b.id), js.CriterionSpec("新标准", 1.0, None), js.CriterionSpec("A", 2.0, "x", a.id)], organiser)
        db.session.commit()
        assert [(c.name, c.weight, c.position) for c in rnd.criteria] == [("B2", 3.0, 0), ("新标准", 1.0, 1), ("A", 2.0, 2)]
        assert rnd.criteria[0].id == b.id  # kept, reordered
        with pytest.raises(js.JudgingError) as err:
            js.update_rubric(rnd, [js.CriterionSpec("", 1.0), js.CriterionSpec("A", 0)], organiser)
        assert set(err.value.errors) == {0, 1}
        js.start_scoring(rnd, organiser)
        db.session.commit()
        with pytest.raises(js.JudgingError, match="评分已开始"):
            js.update_rubric(rnd, [js.CriterionSpec("A", 1.0)], organiser)
        assert "judging.rubric_update" in _actions() and "judging.start_scoring" in _actions()
        js.close_round(rnd, organiser)
        with pytest.raises(js.JudgingError):
            js.start_scoring(rnd, organiser)


def test_sync_items_adds_updates_and_deactivates_keeping_scores(app):
    with app.app_context():
        organiser, judge = make_user(Role.ORGANISER), make_user(Role.REVIEWER)
        rnd = _round()
        items = _items(rnd, 2)
        a = js.assign(items[1], judge, organiser)
        js.start_scoring(rnd, organiser)
        _score(a, judge, 5, 5)
        js.sync_items(rnd, [js.ItemSpec("plan", 1, "新标题", None, [7])])
        db.session.commit()
        by_ref = {i.ref_id: i for i in rnd.items}
        assert by_ref[1].title == "新标题" and by_ref[1].conflict_base_ids == [7] and by_ref[1].url is None
        assert by_ref[2].active is False and by_ref[2].assignments[0].sheet.status == "submitted"
        assert [r.item.ref_id for r in js.aggregate(rnd)] == [1]
        js.sync_items(rnd, [js.ItemSpec("plan", 2, "回来了", None, [])])
        assert by_ref[2].active and not by_ref[1].active


# ---- assignment and conflicts ------------------------------------------------------------


def test_assign_refuses_conflicts_non_reviewers_and_duplicates(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        base = make_base()
        judge, other = make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        js.set_affiliations(judge, [base.id], organiser)
        rnd = _round()
        item, free = _items(rnd, 2, {1: [base.id]})
        with pytest.raises(js.JudgingError, match="利益冲突"):
            js.assign(item, judge, organiser)
        with pytest.raises(js.JudgingError, match="评审专家"):
            js.assign(item, organiser, organiser)
        js.assign(free, judge, organiser)
        with pytest.raises(js.JudgingError, match="已分配"):
            js.assign(free, judge, organiser)
        a = js.assign(item, other, organiser)
        db.session.commit()
        assert js.is_assigned(other, "plan", 1) and not js.is_assigned(judge, "plan", 1)
        assert js.conflict_reason(item, judge) is not None and js.conflict_reason(item, other) is None
        js.unassign(a, organiser)
        db.session.commit()
        assert not js.is_assigned(other, "plan", 1)
        assert _actions().count("judging.assign") == 2 and "judging.unassign" in _actions()


def test_host_base_of_account_counts_as_affiliation(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        base = make_base()
        judge = make_user(Role.REVIEWER)
        judge.base_id = base.id  # a reviewer account tied to a base
        rnd = _round()
        (item,) = _items(rnd, 1, {1: [base.id]})
        with pytest.raises(js.JudgingError):
            js.assign(item, judge, organiser)


def test_unassign_refused_after_submission(app):
    with app.app_context():
        organiser, judge = make_user(Role.ORGANISER), make_user(Role.REVIEWER)
        rnd = _round()
        (item,) = _items(rnd, 1)
        a = js.assign(item, judge, organiser)
        js.start_scoring(rnd, organiser)
        _score(a, judge, 3, 4)
        with pytest.raises(js.JudgingError, match="已提交"):
            js.unassign(a, organiser)


def test_set_affiliations_reports_new_conflicts(app):
    with app.app_context():
        organiser, judge = make_user(Role.ORGANISER), make_user(Role.REVIEWER)
        b1, b2 = make_base(), make_base()
        rnd = _round()
        (item,) = _items(rnd, 1, {1: [b2.id]})
        a = js.assign(item, judge, organiser)
        assert js.set_affiliations(judge, [b1.id], judge, notes={b1.id: "曾任顾问"}) == []
        assert [x.base_id for x in js.affiliations(judge)] == [b1.id] and js.affiliations(judge)[0].note == "曾任顾问"
        assert js.set_affiliations(judge, [b2.id], judge) == [a]
        db.session.commit()
        assert db.session.scalars(select(JudgeAffiliation.base_id).where(JudgeAffiliation.user_id == judge.id)).all() == [b2.id]
        assert _actions().count("judging.affiliations") == 2


def test_auto_assign_balances_counts_manual_and_reports_shortfall(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        base = make_base()
        judges = [make_user(Role.REVIEWER) for _ in range(4)]
        rnd = _round(judges_per_item=2)
        items = _items(rnd, 6)
        js.assign(items[0], judges[3], organiser)  # a manual one counts toward k
        result = js.auto_assign(rnd, [*judges, organiser], actor=organiser)
        db.session.commit()
        assert result.complete and result.skipped_judges == [organiser]
        assert len(result.created) == 11
        loads = js.judge_loads(rnd)
        assert sorted(loads.values()) == [3, 3, 3, 3]
        for item in items:
            assert len(item.assignments) == 2
        assert sum(1 for a in items[0].assignments if a.source == "manual") == 1
        # again: nothing to do
        assert js.auto_assign(rnd, judges, actor=organiser).created == []
        # an item every judge is tied to cannot be staffed: reported with the reason
        for j in judges:
            js.set_affiliations(j, [base.id], organiser)
        js.sync_items(rnd, [*[js.ItemSpec("plan", i.ref_id, i.title, i.url, []) for i in items], js.ItemSpec("plan", 99, "冲突项目", None, [base.id])])
        result = js.auto_assign(rnd, judges, k=2, actor=organiser)
        assert result.created == []
        (short,) = result.shortfalls
        assert (short.item.ref_id, short.wanted, short.got) == (99, 2, 0) and "4 位与该项目涉及的基地有关联" in short.reason
        assert "judging.auto_assign" in _actions()


def test_declare_conflict_reassigns_to_least_loaded_eligible(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        base = make_base()
        j1, j2, j3, j4 = (make_user(Role.REVIEWER) for _ in range(4))
        js.set_affiliations(j4, [base.id], organiser)  # j4 may not judge item 1
        rnd = _round(judges_per_item=1)
        i1, i2, i3 = _items(rnd, 3, {1: [base.id]})
        a = js.assign(i1, j1, organiser)
        js.assign(i2, j2, organiser)
        js.assign(i3, j3, organiser)
        js.assign(i2, j3, organiser)  # j3 now has 2, j2 has 1
        js.start_scoring(rnd, organiser)
        js.save_sheet(a, {rnd.criteria[0].id: 5}, {}, None, False, j1)  # a draft, discarded
        with pytest.raises(js.JudgingError):
            js.declare_conflict(a, j2, "不是我的", j2)
        with pytest.raises(js.JudgingError, match="原因"):
            js.declare_conflict(a, j1, "  ", j1)
        result = js.declare_conflict(a, j1, "曾参与该基地项目", j1)
        db.session.commit()
        assert a.status == AssignmentStatus.CONFLICT.value and a.conflict_reason == "曾参与该基地项目" and a.sheet is None
        assert result.replacement is not None and result.replacement.judge_id == j2.id  # j2 (1) before j3 (2); j4 conflicted
        assert not js.is_assigned(j1, "plan", 1) and js.is_assigned(j2, "plan", 1)
        # the item is never assigned to j1 again, by hand or automatically
        with pytest.raises(js.JudgingError, match="声明利益冲突"):
            js.assign(i1, j1, organiser)
        js.auto_assign(rnd, [j1, j2, j3, j4], k=3, actor=organiser)
        assert {x.judge_id for x in i1.assignments if x.status == "assigned"} == {j2.id, j3.id}
        # with nobody left: reported, no replacement
        a2 = next(x for x in i1.assignments if x.judge_id == j2.id)
        res2 = js.declare_conflict(a2, j2, "亲属任职", j2, candidates=[j1, j2, j3, j4])
        assert res2.replacement is None and "没有可改派" in res2.message
        assert "judging.declare_conflict" in _actions()


# ---- score sheets --------------------------------------------------------------------------


def test_sheet_validation_draft_submit_and_read_only(app):
    with app.app_context():
        organiser, judge, other = make_user(Role.ORGANISER), make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        rnd = _round()
        (item,) = _items(rnd, 1)
        a = js.assign(item, judge, organiser)
        ca, cb = rnd.criteria
        with pytest.raises(js.JudgingError, match="尚未开始"):
            js.save_sheet(a, {ca.id: 5}, {}, None, False, judge)
        js.start_scoring(rnd, organiser)
        with pytest.raises(js.JudgingError, match="自己"):
            js.save_sheet(a, {ca.id: 5}, {}, None, False, other)
        with pytest.raises(js.JudgingError) as err:
            js.save_sheet(a, {ca.id: 11, cb.id: "abc"}, {}, None, False, judge)
        assert "1 到 10 之间" in err.value.errors[ca.id] and "数字" in err.value.errors[cb.id]
        sheet = js.save_sheet(a, {ca.id: 7.5, cb.id: None}, {ca.id: " 很好 "}, "总体不错", False, judge)
        db.session.commit()
        assert sheet.status == "draft" and js.sheet_values(sheet)[ca.id].value == 7.5 and js.sheet_values(sheet)[ca.id].comment == "很好"
        with pytest.raises(js.JudgingError) as err:
            js.save_sheet(a, {ca.id: 7.5, cb.id: None}, {}, None, True, judge)
        assert "B" in err.value.errors[cb.id]
        js.save_sheet(a, {ca.id: 7.5, cb.id: 1}, {}, "总体不错", True, judge)
        db.session.commit()
        assert sheet.status == "submitted" and sheet.submitted_at is not None and sheet.comment == "总体不错"
        with pytest.raises(js.JudgingError, match="已提交"):
            js.save_sheet(a, {ca.id: 9, cb.id: 9}, {}, None, True, judge)
        assert js.sheet_values(sheet)[ca.id].value == 7.5
        assert _actions().count("judging.sheet_save") == 1 and _actions().count("judging.sheet_submit") == 1


def test_peer_spread_only_after_submit_and_anonymised(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        j1, j2, j3 = (make_user(Role.REVIEWER) for _ in range(3))
        rnd = _round()
        (item,) = _items(rnd, 1)
        a1, a2, a3 = (js.assign(item, j, organiser) for j in (j1, j2, j3))
        js.start_scoring(rnd, organiser)
        _score(a2, j2, 4, 10)  # total (2·4 + 10)/3 = 6
        _score(a3, j3, 8, 4)  # total (16 + 4)/3 = 6.667
        with pytest.raises(js.JudgingError, match="提交自己的评分表后"):
            js.peer_spread(a1)
        _score(a1, j1, 6, 6, submit=False)
        with pytest.raises(js.JudgingError):
            js.peer_spread(a1)
        _score(a1, j1, 6, 6)
        spread = js.peer_spread(a1)
        assert spread["count"] == 2
        ca, cb = spread["criteria"]
        assert (ca["min"], ca["max"], ca["mean"], ca["count"]) == (4, 8, 6, 2)
        assert (cb["min"], cb["max"], cb["mean"]) == (4, 10, 7)
        assert spread["total"]["mean"] == pytest.approx((6 + 20 / 3) / 2)
        # only aggregates: no judge, sheet or assignment identities, no individual values
        assert set(spread) == {"count", "criteria", "total"}
        assert all(set(c) == {"id", "name", "count", "min", "max", "mean"} for c in spread["criteria"])


# ---- aggregation ------------------------------------------------------------------------------


def _panel(organiser):
    """3 judges × 4 items, 2 judges per item; rubric A (weight 2) and B (weight 1), scale 1–10.

    Weighted total of a sheet = (2·A + B) / 3. Sheets (A, B) → total:
        H (harsh):   I1 (4, 4) → 4      I2 (2, 2) → 2
        L (lenient): I2 (9, 9) → 9      I3 (10, 10) → 10    I4 (9, 6) → 8
        N (neutral): I1 (7, 7) → 7      I3 (4, 7) → 5       I4 (6, 6) → 6
    """
    h, lenient, n = (make_user(Role.REVIEWER) for _ in range(3))
    rnd = _round()
    i1, i2, i3, i4 = _items(rnd, 4)
    sheets = [
        (i1, h, 4, 4),
        (i2, h, 2, 2),
        (i2, lenient, 9, 9),
        (i3, lenient, 10, 10),
        (i4, lenient, 9, 6),
        (i1, n, 7, 7),
        (i3, n, 4, 7),
        (i4, n, 6, 6),
    ]
    assignments = [(js.assign(item, judge, organiser), judge, a, b) for item, judge, a, b in sheets]
    js.start_scoring(rnd, organiser)
    for assignment, judge, a, b in assignments:
        _score(assignment, judge, a, b)
    return rnd, (i1, i2, i3, i4)


def test_aggregate_hand_computed_panel(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        rnd, (i1, i2, i3, i4) = _panel(organiser)
        db.session.commit()
        results = {r.item.id: r for r in js.aggregate(rnd)}
        # Raw means of the weighted totals: I1 (4+7)/2 = 5.5, I2 (2+9)/2 = 5.5, I3 (10+5)/2 = 7.5, I4 (8+6)/2 = 7
        assert [results[i.id].raw_mean for i in (i1, i2, i3, i4)] == pytest.approx([5.5, 5.5, 7.5, 7.0])
        # Per-criterion means, e.g. I3: A (10+4)/2 = 7, B (10+7)/2 = 8.5 (a plain mean of all 4 numbers would be 7.75)
        ca, cb = rnd.criteria
        assert results[i3.id].criterion_means == pytest.approx({ca.id: 7.0, cb.id: 8.5})
        assert results[i4.id].criterion_means == pytest.approx({ca.id: 7.5, cb.id: 6.0})
        # Judges: H totals {4, 2}: μ 3, σ 1 → z +1 (I1), −1 (I2)
        #         L totals {9, 10, 8}: μ 9, σ √(2/3) → z 0 (I2), +√1.5 (I3), −√1.5 (I4)
        #         N totals {7, 5, 6}: μ 6, σ √(2/3) → z +√1.5 (I1), −√1.5 (I3), 0 (I4)
        # All 8 totals: mean M = 51/8 = 6.375; Σ(t−M)² = 49.875 → S = √(49.875/8) = √6.234375 ≈ 2.49687
        m, s, r15 = 6.375, math.sqrt(6.234375), math.sqrt(1.5)
        expected = {
            i1.id: ((m + s) + (m + r15 * s)) / 2,  # ≈ (8.8719 + 9.4330)/2 = 9.1525
            i2.id: ((m - s) + m) / 2,  # ≈ (3.8781 + 6.375)/2 = 5.1266
            i3.id: ((m + r15 * s) + (m - r15 * s)) / 2,  # = 6.375
            i4.id: ((m - r15 * s) + m) / 2,  # ≈ (3.3170 + 6.375)/2 = 4.8460
        }
        for item_id, value in expected.items():
            assert results[item_id].normalised == pytest.approx(value)
        assert results[i1.id].normalised == pytest.approx(9.1525, abs=1e-4)
        # Population std of the item's totals: I1 1.5, I2 3.5, I3 2.5, I4 1.0; threshold 2.0
        assert [results[i.id].std for i in (i1, i2, i3, i4)] == pytest.approx([1.5, 3.5, 2.5, 1.0])
        assert [results[i.id].disagreement for i in (i1, i2, i3, i4)] == [False, True, True, False]
        # Normalised ranking: I1 (9.15) > I3 (6.375) > I2 (5.13) > I4 (4.85) — the harsh judge no longer sinks I1.
        ordered = js.aggregate(rnd)
        assert [r.item.id for r in ordered] == [i1.id, i3.id, i2.id, i4.id]
        assert [r.rank_normalised for r in ordered] == [1, 2, 3, 4]
        # Raw ranking: I3 7.5, I4 7, then I1 and I2 tie at 5.5 → higher normalised first: I1 (9.15) before I2 (5.13)
        assert [results[i.id].rank_raw for i in (i3, i4, i1, i2)] == [1, 2, 3, 4]
        assert results[i1.id].tie_raw and results[i2.id].tie_raw and not results[i3.id].tie_raw
        assert all((r.submitted, r.assigned, r.progress) == (2, 2, 1.0) for r in ordered)
        assert js.progress(rnd) == (8, 8)


def test_single_sheet_or_constant_judge_gets_overall_mean_and_clipping(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        j1, j2 = make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        rnd = _round()
        i1, i2, i3 = _items(rnd, 3)
        # j1 scores I1 = 10 and I2 = 1 (μ 5.5, σ 4.5, z ±1); j2 scores only I3 = 1 (one sheet → z = 0)
        a1, a2, a3 = js.assign(i1, j1, organiser), js.assign(i2, j1, organiser), js.assign(i3, j2, organiser)
        js.assign(i3, j1, organiser)  # assigned, never submitted: counts in progress only
        js.start_scoring(rnd, organiser)
        _score(a1, j1, 10, 10)
        _score(a2, j1, 1, 1)
        _score(a3, j2, 1, 1)
        results = {r.item.id: r for r in js.aggregate(rnd)}
        # totals {10, 1, 1}: M = 4, S = √((36+9+9)/3) = √18 ≈ 4.2426
        m, s = 4.0, math.sqrt(18)
        assert results[i1.id].normalised == pytest.approx(m + s)  # 8.24
        assert results[i2.id].normalised == pytest.approx(max(1.0, m - s))  # 4 − 4.24 < 1 → clipped to 1
        assert results[i3.id].normalised == pytest.approx(m)  # single sheet → overall mean, not 1
        assert (results[i3.id].submitted, results[i3.id].assigned, results[i3.id].std) == (1, 2, 0.0)
        assert not results[i3.id].disagreement


def test_ties_follow_the_stated_rule(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        j1, j2, j3 = (make_user(Role.REVIEWER) for _ in range(3))
        rnd = _round()
        p, q, r, s, empty = _items(rnd, 5)
        # Every judge gives all their items the same total → σ = 0 → z = 0 → every normalised score is the overall mean.
        plan = [(p, j1, 7), (q, j1, 7), (q, j2, 7), (r, j3, 5), (s, j2, 7)]
        assignments = [(js.assign(item, judge, organiser), judge, v) for item, judge, v in plan]
        js.start_scoring(rnd, organiser)
        for a, judge, v in assignments:
            _score(a, judge, v, v)
        ordered = js.aggregate(rnd)
        # normalised all equal → raw mean (Q, P, S at 7 before R at 5) → more sheets (Q: 2) → lower id (P before S)
        assert [x.item.id for x in ordered] == [q.id, p.id, s.id, r.id, empty.id]
        assert [x.rank_normalised for x in ordered] == [1, 2, 3, 4, None]
        assert all(x.tie_normalised for x in ordered[:4])
        # raw ranking: Q, P, S tie at 7 → normalised equal → more sheets → lower id; R last; the item without sheets unranked
        assert [x.rank_raw for x in ordered] == [1, 2, 3, 4, None]
        assert ordered[4].raw_mean is None and ordered[4].normalised is None
        assert "小者在前" in js.tie_rule()


def test_export_xlsx_has_both_rankings_and_numbers(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        rnd, (i1, i2, i3, i4) = _panel(organiser)
        data = js.export_results_xlsx(rnd)
        wb = load_workbook(io.BytesIO(data))
        assert wb.sheetnames == ["按标准化得分", "按原始均分", "说明"]
        rows = list(wb["按标准化得分"].iter_rows(values_only=True))
        header = rows[0]
        assert header[:3] == ("标准化排名", "原始均分排名", "项目")
        col = {name: header.index(name) for name in ("原始加权均分", "标准化得分", "标准差", "分歧较大", "进度")}
        first = rows[1]
        assert first[2] == "项目1" and first[0] == 1 and first[1] == 3
        assert first[col["原始加权均分"]] == pytest.approx(5.5)
        assert first[col["标准化得分"]] == pytest.approx(9.1525, abs=1e-4)
        assert first[col["标准差"]] == pytest.approx(1.5) and first[col["进度"]] == "2/2"
        assert rows[3][col["分歧较大"]] == "是"  # I2, std 3.5
        raw_rows = list(wb["按原始均分"].iter_rows(values_only=True))
        assert [row[2] for row in raw_rows[1:]] == ["项目3", "项目4", "项目1", "项目2"]
        assert raw_rows[1][header.index("A（均分）")] == pytest.approx(7.0)
        notes = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True)}
        assert "项目编号" in notes["并列规则"] and notes["总进度"] == "8/8"


def test_assignment_rows_persist_on_both_databases(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        _panel(organiser)
        db.session.commit()
        db.session.expire_all()
        assert db.session.query(Assignment).count() == 8


def test_assignments_that_became_conflicts_are_listed_until_resolved(app, client):
    """Made clean, then the item's bases changed (sync) or the judge declared a tie: listed on the
    round page; a submitted sheet or an unassignment takes it off the list."""
    with app.app_context():
        organiser, judge, other = make_user(Role.ORGANISER), make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        b1, b2 = make_base(), make_base()
        js.set_affiliations(judge, [b1.id], judge)
        rnd = _round(judges_per_item=2)
        first, second = _items(rnd, 2)
        a1, a2 = js.assign(first, judge, organiser), js.assign(second, judge, organiser)
        b_other = js.assign(second, other, organiser)
        assert js.conflicting_assignments(rnd) == []
        # item 1 now involves the judge's base (e.g. a partner base added to a plan)
        js.sync_items(rnd, [js.ItemSpec("plan", 1, "项目1", None, [b1.id]), js.ItemSpec("plan", 2, "项目2", None, [b2.id])])
        assert js.conflicting_assignments(rnd) == [a1]
        # the other judge declares a tie to item 2's base
        js.set_affiliations(other, [b2.id], other)
        assert set(js.conflicting_assignments(rnd)) == {a1, b_other}
        db.session.commit()
        round_id, judge_name, organiser_email = rnd.id, judge.name, organiser.email
    login(client, organiser_email)
    page = client.get(f"/judging/rounds/{round_id}").get_data(as_text=True)
    alert = page[page.index('id="stale-conflicts"') : page.index("</div>", page.index('id="stale-conflicts"'))]
    assert f"{judge_name} — 项目1" in alert and f"{judge_name} — 项目2" not in alert and "项目2" in alert
    with app.app_context():
        rnd, a1, b_other = db.session.merge(rnd), db.session.merge(a1), db.session.merge(b_other)
        js.start_scoring(rnd, db.session.merge(organiser))
        _score(a1, db.session.merge(judge), 7, 7)  # scored before the tie was known: no longer an open question
        js.unassign(b_other, db.session.merge(organiser))
        db.session.commit()
        assert js.conflicting_assignments(rnd) == []
        assert db.session.merge(a2).status == AssignmentStatus.ASSIGNED.value  # never a conflict, untouched
    assert 'id="stale-conflicts"' not in client.get(f"/judging/rounds/{round_id}").get_data(as_text=True)


def test_reopen_a_closed_round(app):
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        rnd = _round()
        with pytest.raises(js.JudgingError, match="只有已结束的评审轮次"):
            js.reopen_round(rnd, organiser, "x")
        js.start_scoring(rnd, organiser)
        js.close_round(rnd, organiser)
        js.reopen_round(rnd, organiser, "结果撤销")
        db.session.commit()
        assert rnd.status == "scoring"
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "judging.reopen"))
        assert row.before == {"status": "closed"} and row.after == {"status": "scoring", "reason": "结果撤销"}


def test_two_automatic_assignments_at_once_do_not_clash(make_app, backend):  # noqa: ANN001
    app = make_app()
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        judges = [make_user(Role.REVIEWER) for _ in range(4)]
        rnd = _round(judges_per_item=2)
        _items(rnd, 8)
        db.session.commit()
        round_id, judge_ids, organiser_id = rnd.id, [j.id for j in judges], organiser.id

    def press() -> int:
        rnd = js.get_round(round_id)
        result = js.auto_assign(rnd, [db.session.get(User, i) for i in judge_ids], actor=db.session.get(User, organiser_id))
        db.session.commit()
        return len(result.created)

    results, errors = run_concurrently(app, [press, press, press])
    assert not errors, errors
    assert sorted(results) == [0, 0, 16]
    with app.app_context():
        assert sorted(js.judge_loads(js.get_round(round_id)).values()) == [4, 4, 4, 4]
