"""Benchmark: the road-show scheduler on the issue's reference case (500 projects, 20 rooms, two days).

Usage: .venv/bin/python -m bench.bench_roadshow_schedule [--seed N] [--runs N] [--projects N]

The instance is generated (no database): 20 rooms × 2 days, a morning session (09:00–12:00)
and an afternoon session (13:30–17:30, tea break 15:15–15:30) per room and day, 20-minute
slots (800 slots, 80 sessions); 8 fields, each room given one track per day; a panel of 3–5
judges per room and day plus roaming investors who sit in one room in the morning and another
in the afternoon; 500 projects with skewed fields (the most popular field has more projects
than its track has slots, so some mismatches are unavoidable), 10% of presenters with two
projects, 20% of projects with times they cannot make, a few projects pinned by hand.
Prints the time of each run and the quality of the schedule.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from eventhub.roadshow.scheduling import Project, Slot, check, make_slots, schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELDS = ["新能源", "新材料", "生物医药", "高端装备", "数字经济", "人工智能", "节能环保", "现代农业"]
FIELD_WEIGHTS = [22, 17, 14, 12, 11, 10, 8, 6]
ROOMS = 20
DAYS = (datetime(2026, 9, 15, tzinfo=SHANGHAI), datetime(2026, 9, 16, tzinfo=SHANGHAI))
PROJECTS = 500
SLOT_MINUTES = 20


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


def make_instance(seed: int = 2026, projects: int = PROJECTS, rooms: int = ROOMS) -> tuple[list[Slot], list[Project]]:
    """The reference case; deterministic for a seed."""
    rng = random.Random(seed)
    slots: list[Slot] = []
    judge_no = 0

    def judge() -> str:
        nonlocal judge_no
        judge_no += 1
        return f"judge-{judge_no:03d}"

    for d, day in enumerate(DAYS):
        panels = {room: {judge() for _ in range(rng.randint(3, 5))} for room in range(rooms)}
        morning_extra: dict[int, set[str]] = defaultdict(set)
        afternoon_extra: dict[int, set[str]] = defaultdict(set)
        for n in range(4):  # roaming investors: one room in the morning, another in the afternoon
            first, second = rng.sample(range(rooms), 2)
            person = f"investor-{d}-{n}"
            morning_extra[first].add(person)
            afternoon_extra[second].add(person)
        for room in range(rooms):
            track = FIELDS[(room + 3 * d) % len(FIELDS)]
            name = f"路演厅{room + 1}"
            slots += make_slots(f"d{d + 1}-r{room + 1:02d}-am", name, track, at(day, 9), at(day, 12), SLOT_MINUTES, [], panels[room] | morning_extra[room])
            slots += make_slots(
                f"d{d + 1}-r{room + 1:02d}-pm",
                name,
                track,
                at(day, 13, 30),
                at(day, 17, 30),
                SLOT_MINUTES,
                [(at(day, 15, 15), at(day, 15, 30))],
                panels[room] | afternoon_extra[room],
            )

    # Presenters: 10% of them present two projects (and a few projects have two presenters).
    owners: list[frozenset[str]] = []
    person = 0
    while len(owners) < projects:
        person += 1
        key = f"1380000{person:04d}"
        count = 2 if rng.random() < 0.10 else 1
        for _ in range(min(count, projects - len(owners))):
            owners.append(frozenset({key}))
    for n in range(len(owners)):
        if rng.random() < 0.05:
            owners[n] = owners[n] | {f"1390000{n:04d}"}

    result: list[Project] = []
    for n in range(projects):
        field = None if rng.random() < 0.03 else rng.choices(FIELDS, FIELD_WEIGHTS)[0]
        unavailable: tuple[tuple[datetime, datetime], ...] = ()
        if rng.random() < 0.20:
            day = rng.choice(DAYS)
            kind = rng.choice(["day", "morning", "afternoon", "window"])
            if kind == "day":
                unavailable = ((at(day, 0), at(day, 23, 59)),)
            elif kind == "morning":
                unavailable = ((at(day, 8), at(day, 12)),)
            elif kind == "afternoon":
                unavailable = ((at(day, 13), at(day, 18)),)
            else:
                start = at(day, rng.randint(9, 15), rng.choice([0, 30]))
                unavailable = ((start, start + timedelta(hours=2)),)
        result.append(Project(f"P{n + 1:03d}", owners[n], field, unavailable))

    # A few projects pinned by hand (single presenter, to a slot they can make, all different).
    taken: set[str] = set()
    for n in rng.sample(range(projects), 6):
        project = result[n]
        choices = [s for s in slots if s.id not in taken and s.track == project.field and not any(a < s.end and s.start < b for a, b in project.unavailable)]
        if len(project.presenters) == 1 and sum(1 for p in result if p.presenters & project.presenters) == 1 and choices:
            slot = rng.choice(choices)
            taken.add(slot.id)
            result[n] = Project(project.id, project.presenters, project.field, project.unavailable, slot.id)
    return slots, result


def mismatch_lower_bound(slots: list[Slot], projects: list[Project]) -> int:
    """Projects of a field beyond its track's slots must go elsewhere: a lower bound on the mismatches."""
    capacity = Counter(s.track for s in slots)
    demand = Counter(p.field for p in projects if p.field is not None and p.field in capacity)
    return sum(max(0, count - capacity[field]) for field, count in demand.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--projects", type=int, default=PROJECTS, help="e.g. 780 for a tight case, 900 for more projects than slots")
    args = parser.parse_args()

    slots, projects = make_instance(args.seed, args.projects)
    sessions = {s.session_id for s in slots}
    print(
        f"instance: {len(projects)} projects, {len(slots)} slots, {len(sessions)} sessions in {ROOMS} rooms × {len(DAYS)} days, "
        f"{sum(1 for p in projects if p.unavailable)} with unavailable times, {sum(1 for p in projects if p.pinned_slot)} pinned"
    )
    times = []
    result = None
    for run in range(args.runs):
        start = time.perf_counter()
        result = schedule(slots, projects)
        times.append(time.perf_counter() - start)
        print(f"run {run + 1}: {times[-1]:.3f} s")
    assert result is not None
    start = time.perf_counter()
    conflicts = check(result.placements, slots, projects)
    check_time = time.perf_counter() - start
    errors = [c for c in conflicts if c.level == "error"]

    loads = list(result.load.values())
    by_track: dict[str | None, list[int]] = defaultdict(list)
    track_of = {s.session_id: s.track for s in slots}
    for session, count in result.load.items():
        by_track[track_of[session]].append(count)
    print(f"schedule(): median {statistics.median(times):.3f} s, max {max(times):.3f} s over {args.runs} runs")
    print(f"placed {result.placed}, unplaced {len(result.unplaced)}, dropped pins {len(result.dropped_pins)}")
    bound = f"lower bound from capacity per track: {mismatch_lower_bound(slots, projects)}" if not result.unplaced else "no bound: not all placed"
    print(f"track mismatches {result.track_mismatches} ({bound})")
    print(f"load per session: min {min(loads)}, max {max(loads)} (capacity {min(result.capacity.values())}–{max(result.capacity.values())} slots)")
    spreads = [max(v) - min(v) for v in by_track.values()]
    print(f"load spread inside a track (max − min per session): worst {max(spreads)}")
    print(f"check(): {len(errors)} errors, {len(conflicts) - len(errors)} warnings in {check_time:.3f} s")
    for project_id, why in list(result.unplaced.items())[:10]:
        print(f"  unplaced {project_id}: {why.code} {why.message}")


if __name__ == "__main__":
    main()
