"""The organiser corrects a competition entry (修改参赛项目信息): the entry form's own checks (the
USCC checksum among them), the track locked once ranked in a decided round, eligibility re-checked
unless overridden, audited with the changed fields only; the page is for ``competitions.manage``,
keeps what was typed and shows errors at the fields. Real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from eventhub.competitions import services as comp
from eventhub.competitions.models import AdvanceMode, CompetitionEntry, EntryStatus
from eventhub.core.audit import AuditLog
from eventhub.core.permissions import Role
from eventhub.core.validators import uscc_check_char
from eventhub.extensions import db
from tests.factories import login, make_user, user_and_login
from tests.test_competitions import add_entry, entry_data, make_competition, run_round

OTHER_USCC = "91320500MA1N2B3C4" + uscc_check_char("91320500MA1N2B3C4")
BAD_USCC = OTHER_USCC[:-1] + ("0" if OTHER_USCC[-1] != "0" else "1")


def _data(entry: CompetitionEntry, n: int, **overrides: Any) -> dict[str, Any]:
    """What the edit form posts for entry ``n`` of :func:`entry_data`, with changes."""
    return entry_data(n, **{"track_id": str(entry.track_id), **overrides})


def _edits(entry: CompetitionEntry) -> list[AuditLog]:
    query = select(AuditLog).where(AuditLog.action == "competition_entry.edit", AuditLog.object_id == str(entry.id))
    return list(db.session.scalars(query))


def test_a_correction_is_saved_and_audited_with_the_changed_fields_only(app):
    with app.app_context():
        c = make_competition()
        organiser = make_user(Role.ORGANISER)
        entry = add_entry(c, 1)
        db.session.commit()
        outcome = comp.update_entry(
            entry, _data(entry, 1, org_name="苏州智检科技股份有限公司", uscc=OTHER_USCC.lower(), track_id=str(c.tracks[1].id)), organiser
        )
        db.session.commit()
        assert set(outcome.changes) == {"org_name", "uscc", "track_id"}
        assert entry.org_name == "苏州智检科技股份有限公司" and entry.uscc == OTHER_USCC and entry.track_id == c.tracks[1].id
        (row,) = _edits(entry)
        assert row.actor_id == organiser.id
        assert row.before == {"org_name": "苏州智检科技有限公司1", "uscc": entry_data(1)["uscc"], "track_id": c.tracks[0].id}
        assert row.after == {"org_name": "苏州智检科技股份有限公司", "uscc": OTHER_USCC, "track_id": c.tracks[1].id}
        # the same values again: nothing changed, nothing audited
        assert comp.update_entry(entry, _data(entry, 1, org_name="苏州智检科技股份有限公司", uscc=OTHER_USCC), organiser).changes == {}
        assert len(_edits(entry)) == 1


def test_the_uscc_checksum_and_the_entry_form_rules_are_enforced(app):
    with app.app_context():
        c = make_competition()
        organiser = make_user(Role.ORGANISER)
        entry = add_entry(c, 1)
        db.session.commit()
        with pytest.raises(comp.CompetitionError) as exc:
            comp.update_entry(entry, _data(entry, 1, uscc=BAD_USCC, summary="太短", contact_mobile="12"), organiser)
        assert {"uscc", "summary", "contact_mobile"} <= set(exc.value.errors)
        assert "校验" in exc.value.errors["uscc"]
        db.session.rollback()
        assert entry.uscc == entry_data(1)["uscc"] and _edits(entry) == []
        # the same contact and project name as another entry: refused at the project name
        add_entry(c, 2)
        db.session.commit()
        with pytest.raises(comp.CompetitionError) as exc:
            comp.update_entry(entry, _data(entry, 1, contact_mobile=entry_data(2)["contact_mobile"], project_name=entry_data(2)["project_name"]), organiser)
        assert "project_name" in exc.value.errors


def test_track_change_is_refused_after_a_decided_round(app):
    with app.app_context():
        c = make_competition(rounds=[comp.RoundSpec("初赛", AdvanceMode.TOP_N.value, advance_n=1), comp.RoundSpec("决赛")])
        organiser = make_user(Role.ORGANISER)
        e = [add_entry(c, i) for i in range(1, 3)]
        first = c.rounds[0]
        run_round(first, {e[0].id: 9, e[1].id: 6}, organiser)
        # while the round is scoring the track may still be corrected; the judging item follows
        comp.update_entry(e[1], _data(e[1], 2, track_id=str(c.tracks[1].id)), organiser)
        assert "[数字经济]" in comp.item_of(first, e[1]).title
        comp.update_entry(e[1], _data(e[1], 2, track_id=str(c.tracks[0].id)), organiser)
        comp.decide_round(first, organiser)
        db.session.commit()
        with pytest.raises(comp.CompetitionError) as exc:
            comp.update_entry(e[0], _data(e[0], 1, track_id=str(c.tracks[1].id)), organiser)
        assert "初赛" in exc.value.errors["track_id"] and "不能再更换赛道" in exc.value.errors["track_id"]
        db.session.rollback()
        assert e[0].track_id == c.tracks[0].id
        # other corrections are still possible, and the status of an entry in the competition is kept
        outcome = comp.update_entry(e[0], _data(e[0], 1, org_name="苏州智检科技股份有限公司"), organiser)
        assert set(outcome.changes) == {"org_name"} and e[0].status == EntryStatus.ACTIVE.value


def test_eligibility_is_rechecked_unless_overridden(app):
    with app.app_context():
        c = make_competition(regions=["江苏省"])
        organiser = make_user(Role.ORGANISER)
        plain = add_entry(c, 1)
        overridden = add_entry(c, 2, region="广东省")
        comp.override_eligibility(overridden, "总部已迁至苏州", organiser)
        db.session.commit()
        outcome = comp.update_entry(plain, _data(plain, 1, region="浙江省"), organiser)
        assert plain.status == EntryStatus.INELIGIBLE.value and outcome.now_ineligible and "浙江省" in plain.ineligible_reason
        assert _edits(plain)[0].after["status"] == EntryStatus.INELIGIBLE.value
        comp.update_entry(plain, _data(plain, 1, region="江苏省"), organiser)
        assert plain.status == EntryStatus.SUBMITTED.value and plain.ineligible_reason == ""
        outcome = comp.update_entry(overridden, _data(overridden, 2, region="广东省", org_name="广州某某科技有限公司"), organiser)
        assert outcome.override_kept and overridden.status == EntryStatus.SUBMITTED.value and "总部已迁至苏州" in overridden.ineligible_reason


def test_edit_page_for_the_organiser_only_with_errors_at_the_fields(app, client):
    with app.app_context():
        c = make_competition()
        entry = add_entry(c, 1)
        host = make_user(Role.HOST)
        db.session.commit()
        entry_id, host_email = entry.id, host.email
        form = entry_data(1, track_id=str(entry.track_id))
    presenters = form.pop("presenters")
    form.update({f"presenter_{k}": v for k, v in presenters[0].items()})
    url = f"/competitions/manage/entries/{entry_id}/edit"
    login(client, host_email)
    assert client.get(url).status_code == 403
    assert client.post(url, data={**form, "org_name": "改名"}).status_code == 403
    client.post("/logout")
    user_and_login(app, client, Role.ORGANISER)
    assert 'id="edit-entry"' in client.get(f"/competitions/manage/entries/{entry_id}").get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert 'value="苏州智检科技有限公司1"' in page and f'value="{presenters[0]["mobile"]}"' in page
    response = client.post(url, data={**form, "uscc": BAD_USCC, "org_name": "苏州智检科技股份有限公司"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="form-errors"' in body and "is-invalid" in body and "校验" in body
    assert 'value="苏州智检科技股份有限公司"' in body and f'value="{BAD_USCC}"' in body  # typed values kept
    response = client.post(url, data={**form, "org_name": "苏州智检科技股份有限公司"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/competitions/manage/entries/{entry_id}")
    with app.app_context():
        assert db.session.get(CompetitionEntry, entry_id).org_name == "苏州智检科技股份有限公司"
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "competition_entry.edit")) == 1
