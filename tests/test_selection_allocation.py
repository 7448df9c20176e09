"""Date allocation: properties checked against a brute-force search on small instances."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventhub.selection.allocation import (
    BEFORE_EARLIEST,
    BLOCKED,
    GAP,
    NO_WINDOW,
    OUTSIDE_WINDOW,
    HostRequest,
    Placement,
    Window,
    allocate,
    candidate_starts,
    check_placement,
)
from eventhub.selection.holidays import library_days, statutory_holidays

D0 = date(2026, 3, 1)


def _all_options(host: HostRequest, earliest: date, blocked: frozenset[date]) -> list[Placement]:
    return [Placement(host.key, s, w.duration_days, i) for i, w in enumerate(host.windows) for s in candidate_starts(w, earliest, blocked)]


def _clash(a: Placement, b: Placement, gap: int) -> bool:
    """Independent statement of the gap rule: starts fewer than `gap` days apart, or a shared day."""
    return abs((a.start - b.start).days) < gap or bool(set(a.days()) & set(b.days()))


def _brute_force_max(hosts, gap, blocked, earliest) -> int:  # noqa: ANN001
    """The largest number of hosts placeable together: every combination, pruned pairwise."""
    blocked = frozenset(blocked)
    options = [_all_options(h, earliest, blocked) for h in hosts]
    best = 0

    def search(i: int, chosen: list[Placement]) -> None:
        nonlocal best
        best = max(best, len(chosen))
        if i == len(hosts) or len(chosen) + len(hosts) - i <= best:
            return
        for option in options[i]:
            if not any(_clash(option, other, gap) for other in chosen):
                search(i + 1, [*chosen, option])
        search(i + 1, chosen)

    search(0, [])
    return best


@st.composite
def instances(draw, max_hosts: int = 4, span: int = 40):  # noqa: ANN001, ANN201
    n = draw(st.integers(1, max_hosts))
    hosts = []
    for k in range(n):
        windows = []
        for _ in range(draw(st.integers(0, 2))):
            a = draw(st.integers(0, span))
            length = draw(st.integers(0, 6))
            windows.append(Window(D0 + timedelta(days=a), D0 + timedelta(days=a + length), draw(st.integers(1, 3))))
        hosts.append(HostRequest(key=k, label=f"H{k}", windows=tuple(windows)))
    blocked = {D0 + timedelta(days=d) for d in draw(st.sets(st.integers(0, span + 8), max_size=12))}
    gap = draw(st.integers(0, 12))
    earliest = D0 + timedelta(days=draw(st.integers(0, 15)))
    return hosts, gap, blocked, earliest


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_placement_honours_the_rules_or_infeasibility_is_real(instance) -> None:  # noqa: ANN001
    hosts, gap, blocked, earliest = instance
    result = allocate(hosts, gap=gap, blocked=blocked, earliest=earliest)

    # Whatever is placed (full or partial) honours windows, earliest date, blocked days and gaps.
    assert check_placement(hosts, result.placements, gap=gap, blocked=blocked, earliest=earliest) == []
    for p in result.placements.values():
        window = next(h for h in hosts if h.key == p.key).windows[p.window_index]
        assert window.earliest_start <= p.start <= window.latest_start
        assert p.start >= earliest
        assert not set(p.days()) & blocked

    best = _brute_force_max(hosts, gap, blocked, earliest)
    assert len(result.placements) == best, "the partial placement is not the largest possible"
    assert result.feasible == (best == len(hosts))
    if result.feasible:
        assert result.problems == []
        return
    unplaced = {h.key for h in hosts} - set(result.placements)
    assert {p.key for p in result.problems} == unplaced
    for problem in result.problems:
        host = next(h for h in hosts if h.key == problem.key)
        alone = _all_options(host, earliest, frozenset(blocked))
        if problem.code == NO_WINDOW:
            assert not host.windows or all(w.latest_start < w.earliest_start for w in host.windows)
        elif problem.code == BEFORE_EARLIEST:
            assert all(w.latest_start < earliest for w in host.windows)
        elif problem.code == BLOCKED:
            assert not alone and any(w.latest_start >= earliest for w in host.windows)
        else:
            assert problem.code == GAP
            assert alone, "a gap problem means the host fits alone"
            assert problem.others, "names the hosts it clashes with"
            # Adding the host at any of its admissible dates breaks the gap rule.
            for option in alone:
                trial = {**result.placements, host.key: option}
                assert any(pr.code == GAP for pr in check_placement(hosts, trial, gap=gap, blocked=blocked, earliest=earliest))


def test_two_hosts_same_window_respect_gap_and_no_overlap() -> None:
    window = Window(date(2026, 5, 4), date(2026, 6, 30), 3)
    hosts = [HostRequest(1, "A", (window,)), HostRequest(2, "B", (window,))]
    result = allocate(hosts, gap=2, blocked=set(), earliest=date(2026, 5, 1))
    assert result.feasible
    a, b = result.ordered()
    assert b.start > a.end, "gap smaller than the duration still forbids overlap"
    result = allocate(hosts, gap=21, blocked=set(), earliest=date(2026, 5, 1))
    a, b = result.ordered()
    assert (b.start - a.start).days >= 21


def test_golden_week_five_hosts_in_october() -> None:
    """Five hosts all wanting October 2026: National Day (1–7 Oct) is blocked by the library."""
    holidays = statutory_holidays(2026)
    assert holidays is not None and {date(2026, 10, d) for d in range(1, 8)} <= holidays
    october = Window(date(2026, 10, 1), date(2026, 10, 30), 2)
    hosts = [HostRequest(k, f"基地{k}", (october,)) for k in range(5)]
    earliest = date(2026, 9, 1)

    # 21 days apart: starts must lie in 8–30 Oct, so only two fit; the report must say so.
    result = allocate(hosts, gap=21, blocked=holidays, earliest=earliest)
    assert not result.feasible
    assert len(result.placements) == 2 == _brute_force_max(hosts, 21, holidays, earliest)
    assert [p.code for p in result.problems] == [GAP, GAP, GAP]
    assert {p.key for p in result.problems} == {2, 3, 4}, "the best-ranked hosts are kept"
    for p in result.placements.values():
        assert p.start >= date(2026, 10, 8)

    # 5 days apart: all five fit after Golden Week, none touching 1–7 Oct.
    result = allocate(hosts, gap=5, blocked=holidays, earliest=earliest)
    assert result.feasible
    starts = [p.start for p in result.ordered()]
    assert all(s >= date(2026, 10, 8) for s in starts)
    assert all((b - a).days >= 5 for a, b in itertools.pairwise(starts))
    assert check_placement(hosts, result.placements, gap=5, blocked=holidays, earliest=earliest) == []

    # A two-day event may not start on 30 Sep: its second day is 1 Oct.
    only_eve = [HostRequest("x", "X", (Window(date(2026, 9, 30), date(2026, 10, 7), 2),))]
    result = allocate(only_eve, gap=21, blocked=holidays, earliest=earliest)
    assert not result.feasible and result.problems[0].code == BLOCKED


def test_each_failing_constraint_is_named() -> None:
    earliest = date(2026, 8, 1)
    hosts = [
        HostRequest("none", "无时间窗", ()),
        HostRequest("early", "太早", (Window(date(2026, 6, 1), date(2026, 7, 31), 1),)),
        HostRequest("blocked", "节假日", (Window(date(2026, 10, 2), date(2026, 10, 5), 1),)),
        HostRequest("ok", "正常", (Window(date(2026, 9, 1), date(2026, 9, 1), 1),)),
        HostRequest("clash", "冲突", (Window(date(2026, 9, 10), date(2026, 9, 12), 1),)),
    ]
    result = allocate(hosts, gap=21, blocked=statutory_holidays(2026), earliest=earliest)
    assert not result.feasible
    assert [(p.key, p.code) for p in result.problems] == [
        ("none", NO_WINDOW),
        ("early", BEFORE_EARLIEST),
        ("blocked", BLOCKED),
        ("clash", GAP),
    ]
    assert result.problems[-1].others == ("ok",)
    assert result.placements["ok"].start == date(2026, 9, 1)


def test_check_placement_reports_manual_edits() -> None:
    hosts = [HostRequest(1, "A", (Window(date(2026, 9, 1), date(2026, 9, 30), 1),)), HostRequest(2, "B", (Window(date(2026, 9, 1), date(2026, 9, 30), 1),))]
    manual = {1: Placement(1, date(2026, 10, 1), 1), 2: Placement(2, date(2026, 10, 5), 1)}
    problems = check_placement(hosts, manual, gap=21, blocked={date(2026, 10, 1)}, earliest=date(2026, 10, 3))
    codes = {(p.key, p.code) for p in problems}
    assert codes == {(1, OUTSIDE_WINDOW), (1, BEFORE_EARLIEST), (1, BLOCKED), (2, OUTSIDE_WINDOW), (2, GAP)}


def test_library_has_no_2027_data() -> None:
    assert library_days(2027) is None
    assert statutory_holidays(2027) is None
    assert date(2026, 1, 1) in statutory_holidays(2026)


def test_days_are_spread_over_the_available_period() -> None:
    """Three hosts free from September to mid-December: not packed 21 days apart at the start."""
    window = Window(date(2026, 9, 1), date(2026, 12, 15), 1)
    hosts = [HostRequest(k, f"H{k}", (window,)) for k in range(3)]
    packed = allocate(hosts, gap=21, blocked=set(), earliest=date(2026, 9, 1), spread=False)
    assert [p.start for p in packed.ordered()] == [date(2026, 9, 1), date(2026, 9, 22), date(2026, 10, 13)]
    spread = allocate(hosts, gap=21, blocked=set(), earliest=date(2026, 9, 1))
    assert [p.start for p in spread.ordered()] == [date(2026, 9, 1), date(2026, 10, 23), date(2026, 12, 15)]
    # Spreading never breaks a rule, even with holidays in the way.
    holidays = statutory_holidays(2026)
    spread = allocate(hosts, gap=21, blocked=holidays, earliest=date(2026, 9, 1))
    assert spread.feasible and check_placement(hosts, spread.placements, gap=21, blocked=holidays, earliest=date(2026, 9, 1)) == []
