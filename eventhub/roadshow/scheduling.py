"""The road-show scheduler (issue 6, "Scheduling the road shows"): pure functions, no database.

The models layer turns road-show sessions into :class:`Slot` values (:func:`make_slots`) and
shortlisted projects into :class:`Project` values, calls :func:`schedule` for a draft and
:func:`check` after every hand edit (move / swap), and stores the result itself.

Rules
-----
Hard (never broken by :func:`schedule`, reported as errors by :func:`check`):

* **One project per slot.**
* **Presenters.** Two projects that share a presenter (one person may present several
  projects) are never in slots that overlap in time.
* **Unavailability.** A project is never in a slot that overlaps a time its presenters said
  they cannot make.
* **Panels.** Two slots that overlap in time and share a panel member (judge or investor)
  cannot both be used: that person sits in one room at a time.

Soft (optimised in this order after the number of placed projects):

* **Tracks.** A project goes to a session whose track is its field where possible. A
  *mismatch* is a project with a field in a slot with a different, non-empty track; a session
  without a track, or a project without a field, is never a mismatch (a warning in
  :func:`check`).
* **Load.** Within a track, sessions fill evenly (same share of their slots); inside a session
  the projects sit in the earliest slots, so a session ends early rather than having holes.
* **Pins.** A project the host placed by hand (``pinned_slot``) stays there when the pin is
  valid; an invalid pin (unknown slot, a broken hard rule, or a slot already pinned by an
  earlier project) is dropped, reported in ``dropped_pins`` and the project scheduled normally.

When not every project fits, the projects listed **first** win (the caller passes them in
priority order, e.g. the screening rank), and each project left out gets a machine code and a
Chinese reason (:data:`NO_AVAILABLE_SLOT`, :data:`PRESENTER_CONFLICT`, :data:`PANEL_CONFLICT`,
:data:`CAPACITY`).

Method
------
A deterministic heuristic with an exact fallback (no randomness: the same input gives the same
schedule; ties go to the earlier project / slot / session in the input):

1. Valid pins are placed first.
2. **Greedy, most constrained first**: projects with fewer possible slots and presenters with
   several projects go first, projects that care about a track before those that do not. Each
   takes the first usable slot of the cheapest session, cost = (mismatch, not its own track,
   demand pressure on a foreign track, share of the session already used).
3. **Repair by ejection chains** (augmenting paths as in bipartite matching, generalised to the
   presenter / panel rules): a project left out takes a slot whose only obstacle is one movable
   project, which moves on in the same way, until a chain ends in a usable slot.
4. **Exact branch and bound** for small instances (at most :data:`EXACT_MAX_PROJECTS` projects
   and :data:`EXACT_MAX_SLOTS` slots) when projects are still left out: it finds the largest
   number of placeable projects, or proves the heuristic's number is the maximum
   (``ScheduleResult.complete``), within a node and time budget.
5. Local improvement that keeps every hard rule: moves and swaps that remove track mismatches,
   moves that even out the load inside a track, and moves to earlier free slots of the same
   session.

On the issue's reference case (500 projects, 20 rooms, two days, ~800 slots) this runs in well
under a second; see ``bench/bench_roadshow_schedule.py``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **variables: Any) -> str:
    """``gettext`` in a request; outside one (CLI, tests, the scheduler job) the Chinese source text."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


# Why a project is left out (ScheduleResult.unplaced[...].code).
NO_AVAILABLE_SLOT = "no_available_slot"  # no slot at all outside the times its presenters cannot make
PRESENTER_CONFLICT = "presenter_conflict"  # the free slots it could take clash with its presenters' other projects
PANEL_CONFLICT = "panel_conflict"  # the free slots it could take are blocked: their panel sits in another room then
CAPACITY = "capacity"  # every slot it could take is used by another project

# What check() finds (Conflict.code); also used for dropped pins.
SLOT_TAKEN = "slot_taken"  # two projects in one slot
PRESENTER_OVERLAP = "presenter_overlap"  # a presenter in two overlapping slots
UNAVAILABLE = "unavailable"  # a slot in a time the presenters cannot make
PANEL_DOUBLE_BOOKED = "panel_double_booked"  # two used slots overlap and share a panel member
TRACK_MISMATCH = "track_mismatch"  # the project's field is not the session's track (warning)
UNKNOWN_SLOT = "unknown_slot"  # the placement names a slot that does not exist
UNKNOWN_PROJECT = "unknown_project"  # the placement names a project that does not exist

ERROR = "error"
WARNING = "warning"

EXACT_MAX_PROJECTS = 60
EXACT_MAX_SLOTS = 400
EXACT_NODE_LIMIT = 200_000
EXACT_SHARE = 0.6  # of the time left: the exact search must leave time for the improvement passes
REPAIR_DEPTH = 4  # projects moved in one ejection chain, at most
REPAIR_BUDGET = 3000  # chain steps tried per project left out


Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    """One pitch slot of a road-show session. ``[start, end)`` is half-open: back-to-back slots do not overlap.

    ``panel`` holds the keys of the session's judges and investors (e.g. user ids as strings);
    the same key in two sessions means the same person, which is how double booking is found.
    """

    id: Hashable
    session_id: Hashable
    room: str
    track: str | None
    start: datetime
    end: datetime
    panel: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Project:
    """A shortlisted project. ``presenters`` are person keys (e.g. the normalised mobile number), so one
    person presenting several projects is recognised; ``unavailable`` are the ``[start, end)`` times
    the presenters cannot make; ``pinned_slot`` is a slot id the host chose by hand."""

    id: Hashable
    presenters: frozenset[str]
    field: str | None = None
    unavailable: tuple[Interval, ...] = ()
    pinned_slot: Hashable | None = None


@dataclass(frozen=True)
class Unplaced:
    """Why a project is not in the schedule: a machine ``code``, a Chinese ``message`` and the projects
    (``others``) that hold the slots it would need, when that is the reason."""

    code: str
    message: str
    others: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class Conflict:
    """A broken rule in a placement. ``level`` is :data:`ERROR` (a hard rule) or :data:`WARNING`
    (a track mismatch); ``people`` are the presenters or panel members concerned."""

    code: str
    level: str
    message: str
    projects: tuple[Hashable, ...] = ()
    slots: tuple[Hashable, ...] = ()
    people: tuple[str, ...] = ()


@dataclass
class ScheduleResult:
    placements: dict[Hashable, Hashable]  # project id → slot id
    unplaced: dict[Hashable, Unplaced]  # project id → why not, in input order
    track_mismatches: int
    load: dict[Hashable, int]  # session id → projects placed (every session, 0 included)
    capacity: dict[Hashable, int]  # session id → slots
    dropped_pins: dict[Hashable, Conflict] = field(default_factory=dict)  # project id → why its pin was not kept
    complete: bool = False  # everything placed, or the exact search proved no more projects fit
    elapsed: float = 0.0  # seconds

    @property
    def placed(self) -> int:
        return len(self.placements)


# --------------------------------------------------------------------------------------------
# Slots


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def make_slots(
    session_id: Hashable,
    room: str,
    track: str | None,
    day_start: datetime,
    day_end: datetime,
    slot_minutes: int,
    breaks: Iterable[Interval] = (),
    panel: Iterable[str] = (),
) -> list[Slot]:
    """Cut a session ``[day_start, day_end)`` into back-to-back slots of ``slot_minutes``, skipping breaks.

    A slot never overlaps a break: slots restart at the end of the break, and time too short for
    a whole slot (before a break or at the end of the day) stays unused. Slot ids are
    ``"{session_id}:{n}"`` with n = 1, 2, … in time order, stable as long as the session's times
    do not change. All datetimes must be timezone-aware (store UTC, the caller converts).
    """
    _require_aware(day_start, "day_start")
    _require_aware(day_end, "day_end")
    if slot_minutes <= 0:
        raise ValueError("slot_minutes must be positive")
    if day_end <= day_start:
        raise ValueError("day_end must be after day_start")
    cleaned: list[Interval] = []
    for b_start, b_end in breaks:
        _require_aware(b_start, "break start")
        _require_aware(b_end, "break end")
        if b_end <= b_start:
            raise ValueError("a break must end after it starts")
        cleaned.append((b_start, b_end))
    cleaned.sort()
    length = timedelta(minutes=slot_minutes)
    panel_set = frozenset(panel)
    slots: list[Slot] = []
    cursor = day_start
    while cursor + length <= day_end:
        end = cursor + length
        clash = [b for b in cleaned if b[0] < end and cursor < b[1]]
        if clash:
            cursor = max(b[1] for b in clash)
            continue
        slots.append(Slot(f"{session_id}:{len(slots) + 1}", session_id, room, track, cursor, end, panel_set))
        cursor = end
    return slots


# --------------------------------------------------------------------------------------------
# Helpers shared by check() and schedule()


def _overlaps(a_start: Any, a_end: Any, b_start: Any, b_end: Any) -> bool:
    return a_start < b_end and b_start < a_end


def _is_mismatch(project_field: str | None, track: str | None) -> bool:
    return project_field is not None and track is not None and project_field != track


def _unavailable_at(project: Project, slot: Slot) -> bool:
    return any(_overlaps(slot.start, slot.end, u_start, u_end) for u_start, u_end in project.unavailable)


def _index(items: Iterable[Any], what: str) -> dict[Hashable, Any]:
    result: dict[Hashable, Any] = {}
    for item in items:
        if item.id in result:
            raise ValueError(f"duplicate {what} id {item.id!r}")
        result[item.id] = item
    return result


def _pairs_overlapping(entries: list[tuple[Slot, Any]]) -> Iterable[tuple[tuple[Slot, Any], tuple[Slot, Any]]]:
    """Pairs of (slot, payload) whose slots overlap in time (a sweep over start times)."""
    entries = sorted(entries, key=lambda e: (e[0].start, e[0].end))
    for i, first in enumerate(entries):
        for second in entries[i + 1 :]:
            if second[0].start >= first[0].end:
                break
            yield first, second


def _panel_message(people: Iterable[str]) -> str:
    return _("评委/投资人 %(people)s 同时在两个会场，这两个时段不能同时使用。", people="、".join(sorted(people)))


def check(placements: Mapping[Hashable, Hashable], slots: Iterable[Slot], projects: Iterable[Project]) -> list[Conflict]:
    """Every rule broken by ``placements`` (project id → slot id), errors first, then warnings.

    Validates any placement — the scheduler's or the host's hand edits — so the UI can warn at
    once after a move or a swap (filter the result on the projects just moved). Each clash is
    reported once: per pair of projects for presenters, per pair of slots for panels.
    """
    slot_by_id = _index(slots, "slot")
    project_by_id = _index(projects, "project")
    conflicts: list[Conflict] = []
    warnings: list[Conflict] = []
    placed: list[tuple[Project, Slot]] = []
    for project_id, slot_id in placements.items():
        project = project_by_id.get(project_id)
        if project is None:
            conflicts.append(Conflict(UNKNOWN_PROJECT, ERROR, _("项目不存在。"), (project_id,), (slot_id,)))
            continue
        slot = slot_by_id.get(slot_id)
        if slot is None:
            conflicts.append(Conflict(UNKNOWN_SLOT, ERROR, _("时段不存在。"), (project_id,), (slot_id,)))
            continue
        placed.append((project, slot))

    by_slot: dict[Hashable, list[Hashable]] = defaultdict(list)
    for project, slot in placed:
        by_slot[slot.id].append(project.id)
    for slot_id, in_slot in by_slot.items():
        if len(in_slot) > 1:
            conflicts.append(Conflict(SLOT_TAKEN, ERROR, _("同一时段安排了多个项目。"), tuple(in_slot), (slot_id,)))

    for project, slot in placed:
        if _unavailable_at(project, slot):
            conflicts.append(Conflict(UNAVAILABLE, ERROR, _("安排在了主讲人不能参加的时间。"), (project.id,), (slot.id,), tuple(sorted(project.presenters))))

    by_presenter: dict[str, list[tuple[Slot, Project]]] = defaultdict(list)
    for project, slot in placed:
        for person in project.presenters:
            by_presenter[person].append((slot, project))
    rank = {project.id: n for n, (project, _slot) in enumerate(placed)}  # report pairs in the placements' order
    seen_pairs: dict[tuple[Hashable, Hashable], set[str]] = {}
    for person, entries in by_presenter.items():
        for (slot_a, proj_a), (slot_b, proj_b) in _pairs_overlapping(entries):
            if proj_a.id == proj_b.id or slot_a.id == slot_b.id:  # one slot twice: SLOT_TAKEN says it
                continue
            pair = (proj_a.id, proj_b.id) if rank[proj_a.id] < rank[proj_b.id] else (proj_b.id, proj_a.id)
            seen_pairs.setdefault(pair, set()).add(person)
    slot_of = {project.id: slot for project, slot in placed}
    for (a, b), people in seen_pairs.items():
        conflicts.append(
            Conflict(
                PRESENTER_OVERLAP,
                ERROR,
                _("主讲人同时出现在两个时间重叠的时段。"),
                (a, b),
                (slot_of[a].id, slot_of[b].id),
                tuple(sorted(people)),
            )
        )

    used = {slot.id: slot for _project, slot in placed}
    by_member: dict[str, list[tuple[Slot, None]]] = defaultdict(list)
    for slot in used.values():
        for person in slot.panel:
            by_member[person].append((slot, None))
    panel_pairs: dict[tuple[Hashable, Hashable], set[str]] = {}
    for person, entries in by_member.items():
        for (slot_a, _x), (slot_b, _y) in _pairs_overlapping(entries):
            panel_pairs.setdefault((slot_a.id, slot_b.id), set()).add(person)
    for (a, b), people in panel_pairs.items():
        involved = tuple(by_slot[a]) + tuple(by_slot[b])
        conflicts.append(Conflict(PANEL_DOUBLE_BOOKED, ERROR, _panel_message(people), involved, (a, b), tuple(sorted(people))))

    for project, slot in placed:
        if _is_mismatch(project.field, slot.track):
            warnings.append(
                Conflict(
                    TRACK_MISMATCH,
                    WARNING,
                    _("项目领域“%(field)s”与会场主题“%(track)s”不一致。", field=project.field, track=slot.track),
                    (project.id,),
                    (slot.id,),
                )
            )
    return conflicts + warnings


def move(placements: Mapping[Hashable, Hashable], project_id: Hashable, slot_id: Hashable | None) -> dict[Hashable, Hashable]:
    """A copy of ``placements`` with one project moved (``slot_id`` None: taken out). Check it with :func:`check`."""
    result = dict(placements)
    if slot_id is None:
        result.pop(project_id, None)
    else:
        result[project_id] = slot_id
    return result


def swap(placements: Mapping[Hashable, Hashable], first: Hashable, second: Hashable) -> dict[Hashable, Hashable]:
    """A copy of ``placements`` with two projects' slots exchanged (a project not placed takes the other's place)."""
    result = dict(placements)
    a, b = placements.get(first), placements.get(second)
    for project_id, slot_id in ((first, b), (second, a)):
        if slot_id is None:
            result.pop(project_id, None)
        else:
            result[project_id] = slot_id
    return result


# --------------------------------------------------------------------------------------------
# The solver


class _OutOfTimeError(Exception):
    pass


class _FoundAllError(Exception):
    pass


class _Solver:
    """Index-based state: slots and projects are numbered in input order; -1 means "none"."""

    def __init__(self, slots: Sequence[Slot], projects: Sequence[Project], deadline: float) -> None:
        self.slots = slots
        self.projects = projects
        self.deadline = deadline
        n_slots, n_projects = len(slots), len(projects)
        self.slot_pos = {slot.id: i for i, slot in enumerate(slots)}

        # Times as integers (seconds) so comparisons are cheap.
        self.ts = [int(s.start.timestamp()) for s in slots]
        self.te = [int(s.end.timestamp()) for s in slots]

        # Sessions, in order of first appearance; their slots in time order.
        self.sessions: list[Hashable] = []
        session_pos: dict[Hashable, int] = {}
        self.sess_of = [0] * n_slots
        for i, slot in enumerate(slots):
            k = session_pos.get(slot.session_id)
            if k is None:
                k = session_pos[slot.session_id] = len(self.sessions)
                self.sessions.append(slot.session_id)
            self.sess_of[i] = k
        self.sess_slots: list[list[int]] = [[] for _ in self.sessions]
        for i in sorted(range(n_slots), key=lambda i: (self.ts[i], self.te[i], i)):
            self.sess_slots[self.sess_of[i]].append(i)
        self.sess_track = [slots[ss[0]].track if ss else None for ss in self.sess_slots]
        self.cap = [len(ss) for ss in self.sess_slots]
        self.load = [0] * len(self.sessions)
        self.track_free: dict[str | None, int] = defaultdict(int)
        for k, track in enumerate(self.sess_track):
            self.track_free[track] += self.cap[k]

        # Panel exclusions: slots that overlap in time and share a member.
        pconf: list[set[int]] = [set() for _ in range(n_slots)]
        by_member: dict[str, list[int]] = defaultdict(list)
        for i, slot in enumerate(slots):
            for person in slot.panel:
                by_member[person].append(i)
        for members in by_member.values():
            members.sort(key=lambda i: self.ts[i])
            for a_pos, a in enumerate(members):
                for b in members[a_pos + 1 :]:
                    if self.ts[b] >= self.te[a]:
                        break
                    pconf[a].add(b)
                    pconf[b].add(a)
        self.pconf = [sorted(c) for c in pconf]

        # Domains: slots outside each project's unavailable times, computed once per distinct time.
        times: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i in range(n_slots):
            times[(self.ts[i], self.te[i])].append(i)
        self.allowed: list[bytearray] = []
        self.dom: list[list[int]] = []
        every_slot, all_allowed = list(range(n_slots)), bytearray(b"\x01" * n_slots)  # shared, never mutated
        for project in projects:
            if not project.unavailable:
                self.allowed.append(all_allowed)
                self.dom.append(every_slot)
                continue
            unavailable = [(int(a.timestamp()), int(b.timestamp())) for a, b in project.unavailable]
            ok = bytearray(n_slots)
            for (start, end), members in times.items():
                if not any(_overlaps(start, end, a, b) for a, b in unavailable):
                    for i in members:
                        ok[i] = 1
            self.allowed.append(ok)
            self.dom.append([i for i in range(n_slots) if ok[i]])

        # Projects sharing a presenter.
        by_person: dict[str, list[int]] = defaultdict(list)
        for p, project in enumerate(projects):
            for person in project.presenters:
                by_person[person].append(p)
        partners: list[set[int]] = [set() for _ in range(n_projects)]
        for group in by_person.values():
            for p in group:
                partners[p].update(q for q in group if q != p)
        self.partners = [sorted(s) for s in partners]

        self.fields = [project.field for project in projects]
        self.pinned = [False] * n_projects
        self.demand: dict[str | None, int] = defaultdict(int)

        self.occ = [-1] * n_slots
        self.at = [-1] * n_projects
        self.pblock = [0] * n_slots

    # -- state ---------------------------------------------------------------------------

    def mismatch(self, p: int, i: int) -> int:
        return 1 if _is_mismatch(self.fields[p], self.slots[i].track) else 0

    def presenter_free(self, p: int, i: int) -> bool:
        at, ts, te = self.at, self.ts, self.te
        for q in self.partners[p]:
            j = at[q]
            if j >= 0 and ts[j] < te[i] and ts[i] < te[j]:
                return False
        return True

    def can_place(self, p: int, i: int) -> bool:
        return self.occ[i] < 0 and self.pblock[i] == 0 and self.allowed[p][i] == 1 and self.presenter_free(p, i)

    def place(self, p: int, i: int) -> None:
        self.occ[i] = p
        self.at[p] = i
        for j in self.pconf[i]:
            self.pblock[j] += 1
        k = self.sess_of[i]
        self.load[k] += 1
        self.track_free[self.sess_track[k]] -= 1

    def remove(self, p: int) -> int:
        i = self.at[p]
        self.occ[i] = -1
        self.at[p] = -1
        for j in self.pconf[i]:
            self.pblock[j] -= 1
        k = self.sess_of[i]
        self.load[k] -= 1
        self.track_free[self.sess_track[k]] += 1
        return i

    def relocate(self, p: int, i: int) -> bool:
        """Move a placed project to slot ``i`` if that keeps every rule; False (state unchanged) otherwise."""
        old = self.remove(p)
        if self.can_place(p, i):
            self.place(p, i)
            return True
        self.place(p, old)
        return False

    def check_time(self) -> None:
        if time.perf_counter() > self.deadline:
            raise _OutOfTimeError

    # -- 1. pins -------------------------------------------------------------------------

    def place_pins(self) -> dict[Hashable, Conflict]:
        dropped: dict[Hashable, Conflict] = {}
        for p, project in enumerate(self.projects):
            if project.pinned_slot is None:
                continue
            i = self.slot_pos.get(project.pinned_slot)
            reason: Conflict | None = None
            if i is None:
                reason = Conflict(UNKNOWN_SLOT, ERROR, _("手动指定的时段已不存在。"), (project.id,), (project.pinned_slot,))
            elif not self.allowed[p][i]:
                reason = Conflict(UNAVAILABLE, ERROR, _("手动指定的时段是主讲人不能参加的时间。"), (project.id,), (project.pinned_slot,))
            elif self.occ[i] >= 0:
                other = self.projects[self.occ[i]].id
                reason = Conflict(SLOT_TAKEN, ERROR, _("该时段已手动安排了其他项目。"), (project.id, other), (project.pinned_slot,))
            elif not self.presenter_free(p, i):
                others = tuple(self.projects[q].id for q in self.partners[p] if self.at[q] >= 0)
                reason = Conflict(PRESENTER_OVERLAP, ERROR, _("主讲人在该时间已有其他手动安排的项目。"), (project.id, *others), (project.pinned_slot,))
            elif self.pblock[i]:
                blockers = [j for j in self.pconf[i] if self.occ[j] >= 0]
                people = set(self.slots[i].panel).intersection(*[self.slots[j].panel for j in blockers[:1]])
                reason = Conflict(
                    PANEL_DOUBLE_BOOKED,
                    ERROR,
                    _panel_message(people),
                    (project.id, *(self.projects[self.occ[j]].id for j in blockers)),
                    (project.pinned_slot, *(self.slots[j].id for j in blockers)),
                    tuple(sorted(people)),
                )
            if reason is None:
                self.place(p, i)
                self.pinned[p] = True
            else:
                dropped[project.id] = reason
        return dropped

    # -- 2. greedy -----------------------------------------------------------------------

    def order(self) -> list[int]:
        """Most constrained first; projects that care about a track before those that do not."""
        tracks = {t for t in self.sess_track if t is not None}
        n_slots = len(self.slots)

        def key(p: int) -> tuple:
            restricted = len(self.dom[p]) < n_slots
            neutral = self.fields[p] is None or self.fields[p] not in tracks
            return (0 if restricted else 1, 0 if self.partners[p] else 1, 1 if neutral else 0, len(self.dom[p]), p)

        return sorted((p for p in range(len(self.projects)) if not self.pinned[p]), key=key)

    def session_costs(self, p: int) -> list[int]:
        field_ = self.fields[p]
        costs = []
        for k, track in enumerate(self.sess_track):
            if not self.cap[k] or self.load[k] >= self.cap[k]:
                continue
            if track is None or track == field_:
                pressure = 0.0
            else:
                free = self.track_free[track]
                pressure = self.demand[track] / free if free > 0 else float("inf")
            costs.append((_is_mismatch(field_, track), track != field_, pressure, self.load[k] / self.cap[k], k))
        costs.sort()
        return [c[-1] for c in costs]

    def best_slot(self, p: int, exclude: int = -1) -> int:
        allowed = self.allowed[p]
        for k in self.session_costs(p):
            for i in self.sess_slots[k]:
                if i != exclude and allowed[i] and self.occ[i] < 0 and self.pblock[i] == 0 and self.presenter_free(p, i):
                    return i
        return -1

    def greedy(self, order: list[int]) -> None:
        for p in order:
            if self.at[p] >= 0:
                continue
            i = self.best_slot(p)
            if i >= 0:
                self.place(p, i)
                self.demand[self.fields[p]] -= 1

    # -- 3. ejection chains --------------------------------------------------------------

    def blockers(self, p: int, i: int) -> set[int]:
        """The projects that stop ``p`` from taking slot ``i`` (in it, in a panel-clashing slot, or sharing a presenter)."""
        found: set[int] = set()
        if self.occ[i] >= 0:
            found.add(self.occ[i])
        if self.pblock[i]:
            found.update(self.occ[j] for j in self.pconf[i] if self.occ[j] >= 0)
        for q in self.partners[p]:
            j = self.at[q]
            if j >= 0 and self.ts[j] < self.te[i] and self.ts[i] < self.te[j]:
                found.add(q)
        return found

    def augment(self, p: int, depth: int, path: set[int], budget: list[int]) -> bool:
        """Place the unplaced ``p``, moving at most ``depth`` other projects along a chain.

        Unlike plain bipartite matching, a project that could not move in one chain may move in
        another (the presenter and panel rules depend on where the others are), so only the
        projects on the current path are excluded; ``budget`` (calls left) bounds the search.
        """
        self.check_time()
        budget[0] -= 1
        i = self.best_slot(p)
        if i >= 0:
            self.place(p, i)
            return True
        if depth == 0:
            return False
        path.add(p)
        try:
            for i in self.dom[p]:
                if budget[0] <= 0:
                    return False
                found = self.blockers(p, i)
                if len(found) != 1:
                    continue
                (q,) = found
                if self.pinned[q] or q in path:
                    continue
                old = self.remove(q)
                if self.can_place(p, i):
                    self.place(p, i)
                    if self.augment(q, depth - 1, path, budget):
                        return True
                    self.remove(p)
                self.place(q, old)
            return False
        finally:
            path.discard(p)

    def repair(self, order: list[int]) -> None:
        """Ejection chains for each project left out, shortest chains first (iterative deepening)."""
        for p in order:
            if self.at[p] >= 0:
                continue
            if all(q >= 0 for q in self.occ):
                return  # a chain ends in a free slot: none left
            budget = [REPAIR_BUDGET]
            for depth in range(1, REPAIR_DEPTH + 1):
                if self.augment(p, depth, set(), budget) or budget[0] <= 0:
                    break

    def prioritise(self) -> None:
        """An unplaced project takes the slot of a later-listed one when that project is its only obstacle.

        Most-constrained-first may leave out an early (high-priority) flexible project while a
        later one got in; a one-for-one exchange keeps the count and honours the caller's order.
        The project pushed out then looks for any other usable slot.
        """
        for p in range(len(self.projects)):
            if self.at[p] >= 0:
                continue
            self.check_time()
            victim, victim_slot = -1, -1
            for i in self.dom[p]:
                q = self.occ[i]
                if q <= p or q <= victim or self.pinned[q] or self.blockers(p, i) != {q}:
                    continue
                victim, victim_slot = q, i
            if victim < 0:
                continue
            self.remove(victim)
            self.place(p, victim_slot)
            i = self.best_slot(victim)
            if i >= 0:
                self.place(victim, i)

    # -- 4. exact search -----------------------------------------------------------------

    def exact(self, order: list[int], node_limit: int) -> bool:
        """Branch and bound on the number placed, seeded with the current placement. True when it proves optimality."""
        free = [p for p in order if not self.pinned[p]]
        best_count = sum(1 for p in free if self.at[p] >= 0)
        best = {p: self.at[p] for p in free}
        if best_count == len(free):
            return True
        for p in free:
            if self.at[p] >= 0:
                self.remove(p)
        nodes = 0

        def options(p: int) -> list[int]:
            allowed = self.allowed[p]
            return [i for i in self.dom[p] if allowed[i] and self.occ[i] < 0 and self.pblock[i] == 0 and self.presenter_free(p, i)]

        def search(remaining: list[int], placed: int) -> None:
            nonlocal nodes, best_count, best
            nodes += 1
            if nodes > node_limit:
                raise _OutOfTimeError
            self.check_time()
            if placed + len(remaining) <= best_count:
                return
            live = [(p, opts) for p in remaining if (opts := options(p))]
            # Options only shrink deeper down: a project with none now is out for this whole branch.
            usable = sum(1 for i in range(len(self.slots)) if self.occ[i] < 0 and self.pblock[i] == 0)
            if placed + min(len(live), usable) <= best_count:
                return
            if not live:
                best_count = placed
                best = {p: self.at[p] for p in free}
                if best_count == len(free):
                    raise _FoundAllError
                return
            choice, choice_opts = min(live, key=lambda entry: len(entry[1]))
            rest = [q for q, _opts in live if q != choice]
            choice_opts.sort(key=lambda i: (self.mismatch(choice, i), self.load[self.sess_of[i]] / self.cap[self.sess_of[i]], i))
            for i in choice_opts:
                self.place(choice, i)
                search(rest, placed + 1)
                self.remove(choice)
            search(rest, placed)  # leave it out

        proven = False
        deadline, self.deadline = self.deadline, min(self.deadline, time.perf_counter() + EXACT_SHARE * max(0.0, self.deadline - time.perf_counter()))
        try:
            search(free, 0)
            proven = True
        except _FoundAllError:
            proven = True
        except _OutOfTimeError:
            proven = False
        finally:
            self.deadline = deadline  # the rest of the time is for the improvement passes
        for p in free:
            if self.at[p] >= 0:
                self.remove(p)
        for p in free:
            if best[p] >= 0:
                self.place(p, best[p])
        return proven

    # -- 5. improvement ------------------------------------------------------------------

    def reduce_mismatches(self) -> None:
        for _round in range(4):
            improved = False
            for p in range(len(self.projects)):
                i = self.at[p]
                if i < 0 or self.pinned[p] or not self.mismatch(p, i):
                    continue
                self.check_time()
                targets = [j for j in self.dom[p] if not self.mismatch(p, j)]
                targets.sort(key=lambda j: (self.slots[j].track != self.fields[p], self.occ[j] >= 0, self.load[self.sess_of[j]] / self.cap[self.sess_of[j]], j))
                for j in targets:
                    q = self.occ[j]
                    if q < 0:
                        if self.relocate(p, j):
                            improved = True
                            break
                        continue
                    if self.pinned[q] or not self.allowed[q][i] or self.mismatch(q, i) - self.mismatch(q, j) >= 1:
                        continue
                    self.remove(p)
                    self.remove(q)
                    if self.can_place(p, j):
                        self.place(p, j)
                        if self.can_place(q, i):
                            self.place(q, i)
                            improved = True
                            break
                        self.remove(p)
                    self.place(p, i)
                    self.place(q, j)
            if not improved:
                return

    def balance(self) -> None:
        """Move projects from the fullest to the emptiest session of a track while that narrows the spread."""
        groups: dict[str | None, list[int]] = defaultdict(list)
        for k, track in enumerate(self.sess_track):
            if self.cap[k]:
                groups[track].append(k)
        for sessions in groups.values():
            if len(sessions) < 2:
                continue
            for _step in range(4 * sum(self.cap[k] for k in sessions)):
                self.check_time()
                ranked = sorted(sessions, key=lambda k: (self.load[k] / self.cap[k], k))
                moved = False
                for low in ranked:
                    for high in reversed(ranked):
                        if (self.load[high] - 1) * self.cap[low] < (self.load[low] + 1) * self.cap[high]:
                            break
                        if self.move_between(high, low):
                            moved = True
                            break
                    if moved:
                        break
                if not moved:
                    break

    def move_between(self, high: int, low: int) -> bool:
        for i in reversed(self.sess_slots[high]):
            p = self.occ[i]
            if p < 0 or self.pinned[p]:
                continue
            for j in self.sess_slots[low]:
                if self.occ[j] < 0 and self.allowed[p][j] and self.mismatch(p, j) <= self.mismatch(p, i) and self.relocate(p, j):
                    return True
        return False

    def compact(self) -> None:
        """Inside each session, move projects to the earliest free slot they can take."""
        for slots in self.sess_slots:
            for pos, i in enumerate(slots):
                p = self.occ[i]
                if p < 0 or self.pinned[p]:
                    continue
                for j in slots[:pos]:
                    if self.occ[j] < 0 and self.allowed[p][j] and self.relocate(p, j):
                        break

    # -- reasons ---------------------------------------------------------------------------

    def reason(self, p: int) -> Unplaced:
        if not self.slots:
            return Unplaced(NO_AVAILABLE_SLOT, _("还没有可安排的路演时段。"))
        if not self.dom[p]:
            return Unplaced(NO_AVAILABLE_SLOT, _("主讲人不能参加的时间覆盖了全部路演时段。"))
        free = [i for i in self.dom[p] if self.occ[i] < 0]
        if not free:
            return Unplaced(CAPACITY, _("能安排的时段都已排满（时段不足）。"))
        presenter = [i for i in free if not self.presenter_free(p, i)]
        if presenter:
            others = sorted({q for i in presenter for q in self.blockers(p, i) if q in self.partners[p]})
            return Unplaced(PRESENTER_CONFLICT, _("主讲人在其余空闲时段已有其他项目路演。"), tuple(self.projects[q].id for q in others))
        others = sorted({self.occ[j] for i in free for j in self.pconf[i] if self.occ[j] >= 0})
        return Unplaced(PANEL_CONFLICT, _("其余空闲时段的评委/投资人同时在其他会场。"), tuple(self.projects[q].id for q in others))


def schedule(slots: Sequence[Slot], projects: Sequence[Project], *, time_limit: float = 4.0, exact_node_limit: int = EXACT_NODE_LIMIT) -> ScheduleResult:
    """Place ``projects`` (in priority order) into ``slots`` under the module's rules; deterministic.

    ``time_limit`` (seconds) bounds the repair, the exact search and the improvement passes; the
    greedy placement itself always runs to the end, so the result is always a valid schedule.
    Raises ValueError on duplicate ids or naive datetimes.
    """
    started = time.perf_counter()
    for slot in slots:
        _require_aware(slot.start, "slot start")
        _require_aware(slot.end, "slot end")
        if slot.end <= slot.start:
            raise ValueError(f"slot {slot.id!r} must end after it starts")
    for project in projects:
        for a, b in project.unavailable:
            _require_aware(a, "unavailable start")
            _require_aware(b, "unavailable end")
    _index(slots, "slot")
    _index(projects, "project")

    solver = _Solver(slots, projects, started + time_limit)
    dropped = solver.place_pins()
    order = solver.order()
    for p in order:
        solver.demand[solver.fields[p]] += 1
    solver.greedy(order)
    complete = all(a >= 0 for a in solver.at)
    try:
        if not complete:
            solver.repair(order)
            complete = all(a >= 0 for a in solver.at)
        if not complete and len(projects) <= EXACT_MAX_PROJECTS and len(slots) <= EXACT_MAX_SLOTS:
            complete = solver.exact(order, exact_node_limit)
        if not all(a >= 0 for a in solver.at):
            solver.prioritise()
        solver.reduce_mismatches()
        solver.balance()
        solver.compact()
    except _OutOfTimeError:
        pass
    # A last greedy pass: anything that a move made room for.
    solver.greedy([p for p in order if solver.at[p] < 0])

    placements = {projects[p].id: slots[i].id for p, i in enumerate(solver.at) if i >= 0}
    unplaced = {projects[p].id: solver.reason(p) for p, i in enumerate(solver.at) if i < 0}
    mismatches = sum(solver.mismatch(p, i) for p, i in enumerate(solver.at) if i >= 0)
    return ScheduleResult(
        placements=placements,
        unplaced=unplaced,
        track_mismatches=mismatches,
        load={solver.sessions[k]: solver.load[k] for k in range(len(solver.sessions))},
        capacity={solver.sessions[k]: solver.cap[k] for k in range(len(solver.sessions))},
        dropped_pins=dropped,
        complete=complete or not unplaced,
        elapsed=time.perf_counter() - started,
    )
