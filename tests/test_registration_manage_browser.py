"""In Chromium (real log-in, CSRF on): a host approves registrations in bulk through the confirmation
page with one place fewer than chosen, declines with a note, cancels one,
and adds a question that the public form then shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from eventhub.auth.models import User
from eventhub.extensions import db
from eventhub.registration.models import Registration
from tests.browser_helpers import login
from tests.test_registration_services import reg_event, register


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """No smooth scrolling (Bootstrap turns it on): Playwright waits for it before every click."""
    return {**browser_context_args, "reduced_motion": "reduce"}


def statuses(app) -> dict[str, str]:  # noqa: ANN001
    with app.app_context():
        db.session.expire_all()
        return {r.name: r.status for r in db.session.scalars(select(Registration))}


def test_host_decides_in_bulk_cancels_and_adds_a_question(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    with app.app_context():
        ids = reg_event(capacity=2, mode="moderated")
        for n, name in enumerate(["赵一", "钱二", "孙三", "李四"]):
            register(ids, n, name=name)
        host_email = db.session.get(User, ids["host_id"]).email
    event_id = ids["event_id"]
    login(page, base_url, host_email)
    page.goto(f"{base_url}/events/{event_id}/registrations")
    expect(page.locator("[data-status-count=pending]")).to_contain_text("4")

    # approve all four: the confirmation says only two places are left
    page.locator("#select-all").check()
    page.locator("#bulk-approve").click()
    expect(page.locator("#capacity-note")).to_contain_text("活动剩余名额 2 个，本次需要 4 个")
    page.screenshot(path=str(screenshot_dir / f"registration-bulk-confirm-{backend}.png"), full_page=True)
    page.locator("#confirm-bulk").click()
    expect(page.locator(".alert-success")).to_contain_text("已通过 2 份报名")
    expect(page.locator(".alert-warning").first).to_contain_text("2 份报名因名额已满仍为待审核")
    assert sorted(statuses(app).values()) == ["confirmed", "confirmed", "pending", "pending"]

    # decline the two still pending: the note is required
    page.select_option("#status", "pending")
    page.locator("#apply-filters").click()
    expect(page.locator("#registrations-table tbody tr")).to_have_count(2)
    page.locator("#select-all").check()
    page.locator("#bulk-decline").click()
    page.locator("#confirm-bulk").click()
    expect(page.locator("#confirm-bulk-form")).to_contain_text("请填写未通过的原因")
    page.fill("#note", "本场名额已满，欢迎参加下一期。")
    page.locator("#confirm-bulk").click()
    expect(page.locator(".alert-success")).to_contain_text("已将 2 份报名标记为“未通过”")
    assert "status=pending" in page.url  # the filters survive the round trip
    assert sorted(statuses(app).values()) == ["confirmed", "confirmed", "declined", "declined"]

    # cancel the first confirmed one
    page.goto(f"{base_url}/events/{event_id}/registrations?status=confirmed&sort=oldest")
    page.locator("#registrations-table tbody tr").first.get_by_role("link", name="详情").click()
    expect(page.locator("#status")).to_have_text("已确认")
    page.locator("#cancel-registration").click()
    page.locator("#confirm-cancel").click()
    expect(page.locator("#cancel-form")).to_contain_text("请先勾选确认框")
    page.locator("#confirm").check()
    page.locator("#confirm-cancel").click()
    expect(page.locator("#status")).to_have_text("已取消")
    assert statuses(app)["赵一"] == "cancelled"

    # the question editor: a single choice needs two choices
    page.locator("#registration-tabs").get_by_role("link", name="报名问题").click()
    page.fill("#label", "午餐选择")
    page.select_option("#kind", "single")
    page.fill("#choices", "素食")
    page.locator("#add-question").click()
    expect(page.locator("#question-form")).to_contain_text("单选题和多选题至少需要 2 个不同的选项。")
    expect(page.locator("#label")).to_have_value("午餐选择")
    page.fill("#choices", "素食\n清真\n普通")
    page.check("#required")
    page.locator("#add-question").click()
    expect(page.locator("#questions-list")).to_contain_text("午餐选择")
    page.goto(f"{base_url}/theme-days/{event_id}/register")
    expect(page.locator("#questions")).to_contain_text("午餐选择")
    expect(page.locator("#questions")).to_contain_text("清真")
