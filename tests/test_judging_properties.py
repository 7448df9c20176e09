"""Property tests of automatic assignment (hypothesis) on a real database.

Each example builds its own bases, reviewers, round and items inside the test's app context and
rolls back afterwards, so examples do not see each other's rows.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as js
from tests.factories import make_base, make_user

_keys = itertools.count(1)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def panels(draw):
    n_bases = draw(st.integers(1, 5))
    n_judges = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 8))
    k = draw(st.integers(1, 4))
    base_idx = st.integers(0, n_bases - 1)
    judge_affs = draw(st.lists(st.sets(base_idx, max_size=2), min_size=n_judges, max_size=n_judges))
    item_bases = draw(st.lists(st.sets(base_idx, max_size=3), min_size=n_items, max_size=n_items))
    manual = draw(st.lists(st.tuples(st.integers(0, n_items - 1), st.integers(0, n_judges - 1)), max_size=4))
    return n_bases, judge_affs, item_bases, k, manual


def _build(n_bases, judge_affs, item_bases):
    organiser = make_user(Role.ORGANISER)
    bases = [make_base() for _ in range(n_bases)]
    judges = [make_user(Role.REVIEWER) for _ in judge_affs]
    for judge, affs in zip(judges, judge_affs, strict=True):
        js.set_affiliations(judge, [bases[i].id for i in affs], organiser)
    rnd = js.get_or_create_round(f"prop:{next(_keys)}", "性质测试", [("A", 1.0, "")], judges_per_item=2)
    js.sync_items(rnd, [js.ItemSpec("x", n, f"项目{n}", None, [bases[i].id for i in ib]) for n, ib in enumerate(item_bases)])
    items = sorted(rnd.items, key=lambda i: i.ref_id)
    return organiser, judges, rnd, items


def test_auto_assign_never_violates_a_conflict_and_fills_what_it_can(app):
    @PROPERTY_SETTINGS
    @given(panels())
    def check(panel):
        n_bases, judge_affs, item_bases, k, manual = panel
        with app.app_context():
            try:
                organiser, judges, rnd, items = _build(n_bases, judge_affs, item_bases)
                for item_i, judge_i in manual:
                    if js.conflict_reason(items[item_i], judges[judge_i]) is None and all(a.judge_id != judges[judge_i].id for a in items[item_i].assignments):
                        js.assign(items[item_i], judges[judge_i], organiser)
                result = js.auto_assign(rnd, judges, k=k, actor=organiser)
                short = {s.item.id: s for s in result.shortfalls}
                for n, item in enumerate(items):
                    live = [a for a in item.assignments if a.status == "assigned"]
                    judge_ids = [a.judge_id for a in live]
                    assert len(judge_ids) == len(set(judge_ids))
                    eligible = 0
                    for j, judge in enumerate(judges):
                        clash = set(judge_affs[j]) & set(item_bases[n])
                        if clash:
                            assert judge.id not in judge_ids, "auto-assign gave a judge an item of a base they are tied to"
                        else:
                            eligible += 1
                    # every item gets min(k, eligible) judges (manual ones count, never more than needed by auto)
                    assert len(live) >= min(k, eligible)
                    if len(live) < k:
                        assert item.id in short and short[item.id].got == len(live)
                    else:
                        assert item.id not in short
                        assert len([a for a in live if a.source == "auto"]) <= k
            finally:
                db.session.rollback()

    check()


def test_auto_assign_balances_load_when_unconstrained(app):
    @PROPERTY_SETTINGS
    @given(st.integers(1, 7), st.integers(1, 10), st.integers(1, 4))
    def check(n_judges, n_items, k):
        k = min(k, n_judges)
        with app.app_context():
            try:
                organiser, judges, rnd, items = _build(1, [set()] * n_judges, [set()] * n_items)
                result = js.auto_assign(rnd, judges, k=k, actor=organiser)
                assert result.complete
                loads = js.judge_loads(rnd)
                counts = [loads.get(j.id, 0) for j in judges]
                assert sum(counts) == n_items * k
                assert max(counts) - min(counts) <= 1
                assert all(len(i.assignments) == k for i in items)
            finally:
                db.session.rollback()

    check()


def test_auto_assign_is_deterministic(app):
    with app.app_context():
        organiser, judges, rnd, items = _build(2, [{0}, set(), {1}, set()], [{0}, {1}, set(), {0, 1}, set()])
        js.auto_assign(rnd, judges, k=2, actor=organiser)
        first = sorted((a.item.ref_id, judges.index(next(j for j in judges if j.id == a.judge_id))) for i in items for a in i.assignments)
        db.session.rollback()
        organiser, judges, rnd, items = _build(2, [{0}, set(), {1}, set()], [{0}, {1}, set(), {0, 1}, set()])
        js.auto_assign(rnd, judges, k=2, actor=organiser)
        second = sorted((a.item.ref_id, judges.index(next(j for j in judges if j.id == a.judge_id))) for i in items for a in i.assignments)
        assert first == second
