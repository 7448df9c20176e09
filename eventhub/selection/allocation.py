"""Date allocation for the selected theme days: a pure function with explicit inputs.

Rules (issue 3, "Selection and dates"):

* **Window.** A host's theme day starts on a day between ``earliest_start`` and ``latest_start``
  (inclusive) of one of its proposed windows and lasts that window's ``duration_days``; it
  occupies the days ``start … start + duration − 1`` (``end`` is inclusive).
* **Earliest date.** No theme day starts before ``earliest`` (the caller passes today in Beijing
  + the detailed-plan lead time + 14 days).
* **Blocked days.** No day of a theme day falls on a blocked date (statutory holidays and the
  organiser's blackout dates). Weekends are *not* blocked unless the organiser blacks them out.
* **Gap.** For two theme days A and B with A starting first: ``B.start − A.start ≥ gap`` **and**
  they do not overlap (``B.start > A.end``). Checking consecutive pairs is enough: both
  conditions carry over to every later pair.

The search is exact. Once the theme days are ordered by start, the only thing the next one
needs from those already placed is the earliest day it may start:
``threshold = last.start + max(gap, last.duration)``. A smaller threshold never hurts, so for
every subset of hosts we keep the smallest threshold reachable (a dynamic programme over
subsets, placing the most constrained choice first: each step takes the earliest admissible
start of each window). That is complete — when it says “infeasible” no placement exists — and
fast for the ~5–10 hosts of a year (2ⁿ subsets). When not everybody fits, the best partial
placement is the largest set of hosts that fits (ties: the hosts listed first, i.e. the
best-ranked), and each host left out gets the reason that stops it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_HOSTS = 16  # 2^16 subsets; a year has about 5


@dataclass(frozen=True)
class Window:
    earliest_start: date
    latest_start: date
    duration_days: int = 1


@dataclass(frozen=True)
class HostRequest:
    key: Hashable  # e.g. the plan id
    label: str
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class Placement:
    key: Hashable
    start: date
    duration_days: int
    window_index: int | None = None  # which proposed window it sits in (None: a manual date outside every window)

    @property
    def end(self) -> date:
        """The last day of the theme day (inclusive)."""
        return self.start + timedelta(days=self.duration_days - 1)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.duration_days)]


# Reasons a host cannot be placed, or why a given placement breaks a rule.
NO_WINDOW = "no_window"  # the plan proposes no time window
BEFORE_EARLIEST = "earliest"  # every window closes before the earliest allowed start
BLOCKED = "blocked"  # every start left would put a day on a holiday / blackout date
GAP = "gap"  # it fits alone, but not at least `gap` days from the others
OUTSIDE_WINDOW = "outside_window"  # (check only) the date is outside every proposed window


@dataclass(frozen=True)
class Problem:
    """A broken rule for one host; ``others`` names the hosts it clashes with, ``dates`` the blocked days."""

    key: Hashable
    code: str
    others: tuple[Hashable, ...] = ()
    dates: tuple[date, ...] = ()


@dataclass
class AllocationResult:
    feasible: bool
    placements: dict[Hashable, Placement]  # the full placement, or the best partial one
    problems: list[Problem] = field(default_factory=list)  # empty when feasible

    def ordered(self) -> list[Placement]:
        return sorted(self.placements.values(), key=lambda p: p.start)


def _daterange(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _blocked_days(start: date, duration: int, blocked: frozenset[date]) -> tuple[date, ...]:
    return tuple(d for d in (start + timedelta(days=i) for i in range(duration)) if d in blocked)


def candidate_starts(window: Window, earliest: date, blocked: frozenset[date]) -> list[date]:
    """Every admissible start inside one window (after ``earliest``, no day blocked), ascending."""
    first = max(window.earliest_start, earliest)
    return [d for d in _daterange(first, window.latest_start) if not _blocked_days(d, window.duration_days, blocked)]


def _single_host_problem(host: HostRequest, earliest: date, blocked: frozenset[date]) -> str | None:
    """Why a host cannot be placed even alone (None when it can)."""
    windows = [w for w in host.windows if w.latest_start >= w.earliest_start and w.duration_days >= 1]
    if not windows:
        return NO_WINDOW
    if all(w.latest_start < earliest for w in windows):
        return BEFORE_EARLIEST
    if not any(candidate_starts(w, earliest, blocked) for w in windows):
        return BLOCKED
    return None


def pair_conflict(a: Placement, b: Placement, gap: int) -> bool:
    """True when two theme days break the gap rule (starts < gap apart, or overlapping)."""
    first, second = (a, b) if (a.start, str(a.key)) <= (b.start, str(b.key)) else (b, a)
    return (second.start - first.start).days < gap or second.start <= first.end


def allocate(
    hosts: list[HostRequest],
    *,
    gap: int,
    blocked: Iterable[date],
    earliest: date,
    spread: bool = True,
) -> AllocationResult:
    """Place every host's theme day under the rules above, or say why not (see module doc).

    ``hosts`` in priority order (best-ranked first): it breaks ties for the partial placement.
    With ``spread`` the placed days are then moved, in the same order and without breaking any
    rule, as close as they can get to evenly spaced dates between the earliest and the latest
    possible ones (the notice asks to spread the theme days over the year).
    """
    if len(hosts) > MAX_HOSTS:
        raise ValueError(f"at most {MAX_HOSTS} hosts can be allocated at once")
    if len({h.key for h in hosts}) != len(hosts):
        raise ValueError("host keys must be unique")
    blocked_set = frozenset(blocked)
    gap = max(gap, 0)

    problems: list[Problem] = []
    # Per host, per window: (duration, sorted admissible starts).
    options: list[list[tuple[int, int, list[date]]]] = []
    placeable: list[int] = []
    for index, host in enumerate(hosts):
        reason = _single_host_problem(host, earliest, blocked_set)
        if reason is not None:
            problems.append(Problem(host.key, reason))
            options.append([])
            continue
        per_window = []
        for w_index, window in enumerate(host.windows):
            if window.duration_days >= 1 and window.latest_start >= window.earliest_start:
                starts = candidate_starts(window, earliest, blocked_set)
                if starts:
                    per_window.append((w_index, window.duration_days, starts))
        options.append(per_window)
        placeable.append(index)

    # best[mask] = (threshold, previous mask, host index, placement) — smallest threshold reachable.
    best: dict[int, tuple[date, int, int, Placement | None]] = {0: (date.min, -1, -1, None)}
    frontier = [0]
    while frontier:
        next_frontier: dict[int, None] = {}
        for mask in frontier:
            threshold = best[mask][0]
            for index in placeable:
                bit = 1 << index
                if mask & bit:
                    continue
                choice = _earliest_choice(hosts[index].key, options[index], threshold, gap)
                if choice is None:
                    continue
                new_threshold, placement = choice
                new_mask = mask | bit
                known = best.get(new_mask)
                if known is None or new_threshold < known[0]:
                    best[new_mask] = (new_threshold, mask, index, placement)
                    next_frontier[new_mask] = None
        frontier = list(next_frontier)

    def rank(mask: int) -> tuple[int, list[int]]:
        # More hosts first; then prefer the best-ranked hosts (lexicographically by index).
        members = [i for i in range(len(hosts)) if mask >> i & 1]
        return (-len(members), members)

    chosen = min(best, key=rank)
    placements: dict[Hashable, Placement] = {}
    mask = chosen
    while mask:
        _, previous, index, placement = best[mask]
        assert placement is not None
        placements[hosts[index].key] = placement
        mask = previous

    if spread and len(placements) > 1:
        index_of = {h.key: i for i, h in enumerate(hosts)}
        placements = _spread(sorted(placements.values(), key=lambda p: p.start), {k: options[index_of[k]] for k in placements}, gap)

    placed_all = len(placements) == len(hosts)
    if not placed_all:
        for index in placeable:
            host = hosts[index]
            if host.key in placements:
                continue
            problems.append(Problem(host.key, GAP, others=_clashing_hosts(host, options[index], placements, gap)))
    order = {h.key: i for i, h in enumerate(hosts)}
    problems.sort(key=lambda p: order[p.key])
    return AllocationResult(feasible=placed_all, placements=placements, problems=problems)


def _earliest_choice(key: Hashable, windows: list[tuple[int, int, list[date]]], threshold: date, gap: int) -> tuple[date, Placement] | None:
    """The admissible start ≥ threshold that leaves the smallest threshold for the next host."""
    found: tuple[date, Placement] | None = None
    for w_index, duration, starts in windows:
        position = bisect_left(starts, threshold)
        if position == len(starts):
            continue
        start = starts[position]
        next_threshold = start + timedelta(days=max(gap, duration))
        if found is None or next_threshold < found[0]:
            found = (next_threshold, Placement(key, start, duration, w_index))
    return found


def _spread(ordered: list[Placement], options: dict[Hashable, list[tuple[int, int, list[date]]]], gap: int) -> dict[Hashable, Placement]:
    """Keep the order of a valid placement; move each day towards evenly spaced targets.

    A backward pass finds each host's latest start that still leaves room for the ones after it;
    a forward pass then picks, between the previous host's threshold and that latest start, the
    admissible start closest to the host's target. Every choice keeps the rest feasible.
    """
    m = len(ordered)
    late: list[date] = [date.max] * m
    for i in range(m - 1, -1, -1):
        best: date | None = None
        for _w, duration, starts in options[ordered[i].key]:
            limit = late[i + 1] - timedelta(days=max(gap, duration)) if i + 1 < m else date.max
            position = bisect_right(starts, limit)
            if position:
                best = max(best or starts[position - 1], starts[position - 1])
        assert best is not None and best >= ordered[i].start  # the given placement is one such choice
        late[i] = best
    first, last = ordered[0].start, late[-1]
    span = (last - first).days
    out: dict[Hashable, Placement] = {}
    threshold = date.min
    for i, placement in enumerate(ordered):
        target = first + timedelta(days=round(span * i / (m - 1)))
        chosen: tuple[int, date, Placement] | None = None
        for w_index, duration, starts in options[placement.key]:
            limit = late[i + 1] - timedelta(days=max(gap, duration)) if i + 1 < m else date.max
            lo, hi = bisect_left(starts, threshold), bisect_right(starts, limit)
            if lo >= hi:
                continue
            near = min(max(bisect_left(starts, target, lo, hi), lo), hi - 1)
            for j in {near, max(near - 1, lo)}:
                start = starts[j]
                score = abs((start - target).days)
                if chosen is None or (score, start) < (chosen[0], chosen[1]):
                    chosen = (score, start, Placement(placement.key, start, duration, w_index))
        assert chosen is not None
        out[placement.key] = chosen[2]
        threshold = chosen[1] + timedelta(days=max(gap, chosen[2].duration_days))
    return out


def _clashing_hosts(host: HostRequest, windows: list[tuple[int, int, list[date]]], placements: dict[Hashable, Placement], gap: int) -> tuple[Hashable, ...]:
    """The placed hosts that some admissible start of ``host`` would clash with."""
    clashing: set[Hashable] = set()
    others = list(placements.values())
    for w_index, duration, starts in windows:
        for start in starts:
            candidate = Placement(host.key, start, duration, w_index)
            clashing.update(p.key for p in others if pair_conflict(candidate, p, gap))
    order = {k: i for i, k in enumerate(placements)}
    return tuple(sorted(clashing, key=lambda k: order[k]))


def check_placement(
    hosts: list[HostRequest],
    placements: dict[Hashable, Placement],
    *,
    gap: int,
    blocked: Iterable[date],
    earliest: date,
) -> list[Problem]:
    """Every rule a given (e.g. hand-edited) placement breaks; empty when it honours all of them."""
    blocked_set = frozenset(blocked)
    by_key = {h.key: h for h in hosts}
    problems: list[Problem] = []
    for key, placement in placements.items():
        host = by_key.get(key)
        if host is not None and not any(
            w.earliest_start <= placement.start <= w.latest_start and w.duration_days == placement.duration_days for w in host.windows
        ):
            problems.append(Problem(key, OUTSIDE_WINDOW))
        if placement.start < earliest:
            problems.append(Problem(key, BEFORE_EARLIEST))
        hit = _blocked_days(placement.start, placement.duration_days, blocked_set)
        if hit:
            problems.append(Problem(key, BLOCKED, dates=hit))
    ordered = sorted(placements.values(), key=lambda p: (p.start, str(p.key)))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if pair_conflict(a, b, gap):
                problems.append(Problem(b.key, GAP, others=(a.key,)))
    return problems
