"""The plan form: parsed by hand because it has repeating rows (participants, time windows).

The same ``state`` dict feeds the template on GET (from the plan) and after a POST (what was
typed), so adding or removing a row, or a refused submission, never loses input.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from eventhub.plans.models import ContentType, EventFormat, PreliminaryPlan

SIMPLE = ["theme", "field", "event_format", "prevention_measures", "body", "contact_name", "contact_phone", "contact_email"]


def empty_participant() -> dict[str, str]:
    return {"base_id": "", "reason": ""}


def empty_window() -> dict[str, str]:
    return {"earliest_start": "", "latest_start": "", "duration_days": "1"}


def state_from_plan(plan: PreliminaryPlan | None) -> dict[str, Any]:
    if plan is None:
        return {
            **dict.fromkeys(SIMPLE, ""),
            "event_format": EventFormat.ONSITE.value,
            "content_types": {},
            "participants": [empty_participant()],
            "windows": [empty_window()],
        }
    return {
        **{name: getattr(plan, name) or "" for name in SIMPLE},
        "content_types": dict(plan.content_types or {}),
        "participants": [{"base_id": str(p.base_id), "reason": p.reason} for p in plan.participants] or [empty_participant()],
        "windows": [
            {"earliest_start": w.earliest_start.isoformat(), "latest_start": w.latest_start.isoformat(), "duration_days": str(w.duration_days)}
            for w in plan.windows
        ]
        or [empty_window()],
    }


def state_from_form(form: MultiDict) -> dict[str, Any]:
    state: dict[str, Any] = {name: form.get(name, "") for name in SIMPLE}
    state["content_types"] = {c.value: form.get(f"ct_{c.value}_text", "") for c in ContentType if form.get(f"ct_{c.value}")}
    bases, reasons = form.getlist("p_base_id"), form.getlist("p_reason")
    state["participants"] = [{"base_id": b, "reason": r} for b, r in zip(bases, reasons, strict=False)]
    earliest, latest, duration = form.getlist("w_earliest"), form.getlist("w_latest"), form.getlist("w_duration")
    state["windows"] = [{"earliest_start": e, "latest_start": la, "duration_days": d} for e, la, d in zip(earliest, latest, duration, strict=False)]
    # sentences typed next to an unchecked box are kept on the page (not stored)
    state["sentences"] = {c.value: form.get(f"ct_{c.value}_text", "") for c in ContentType}
    return state


def apply_row_action(state: dict[str, Any], action: str) -> bool:
    """Add or remove a row in ``state``; True when ``action`` was a row action."""
    if action == "add_participant":
        state["participants"].append(empty_participant())
    elif action == "add_window":
        state["windows"].append(empty_window())
    elif action.startswith("remove_participant:") or action.startswith("remove_window:"):
        kind, _, index = action.partition(":")
        rows = state["participants" if kind == "remove_participant" else "windows"]
        if index.isdigit() and int(index) < len(rows):
            rows.pop(int(index))
    else:
        return False
    return True


def draft_data(state: dict[str, Any]) -> dict[str, Any]:
    """The service's input (``save_draft``) from the form state."""
    return {key: value for key, value in state.items() if key != "sentences"}
