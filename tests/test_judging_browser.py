"""In Chromium on a phone viewport: a reviewer scores an item, submits with confirmation, sees the spread."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from eventhub.core.permissions import Role
from eventhub.extensions import db
from eventhub.judging import services as js
from eventhub.judging.defaults import PLAN_REVIEW_CRITERIA
from eventhub.judging.models import Assignment
from tests.factories import PASSWORD, make_user


def test_reviewer_scores_on_a_phone(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    with app.app_context():
        organiser = make_user(Role.ORGANISER)
        judge, other = make_user(Role.REVIEWER), make_user(Role.REVIEWER)
        rnd = js.get_or_create_round("plan-review:1", "2026 年初步计划评审", PLAN_REVIEW_CRITERIA)
        js.sync_items(rnd, [js.ItemSpec("plan", 1, "中国华润融通创新主题日初步计划", None, [])])
        item = rnd.items[0]
        mine, theirs = js.assign(item, judge, organiser), js.assign(item, other, organiser)
        js.start_scoring(rnd, organiser)
        js.save_sheet(theirs, {c.id: 6 for c in rnd.criteria}, {}, None, True, other)
        db.session.commit()
        email, mine_id = judge.email, mine.id

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto(f"{base_url}/judging/my")
    page.get_by_role("link", name="中国华润融通创新主题日初步计划").click()
    expect(page.locator("#item-title")).to_have_text("中国华润融通创新主题日初步计划")

    inputs = page.locator("input[type=number]")
    expect(inputs).to_have_count(3)
    inputs.nth(0).fill("8")
    page.locator("#save-draft").click()
    expect(page.locator("#sheet-status")).to_contain_text("草稿")
    expect(page.locator("input[type=number]").nth(0)).to_have_value("8")
    page.locator("input[type=number]").nth(1).fill("7")
    page.locator("input[type=number]").nth(2).fill("9")

    # The first confirmation is dismissed: nothing is submitted.
    page.once("dialog", lambda d: d.dismiss())
    page.locator("#submit-sheet").click()
    expect(page.locator("#submit-sheet")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / f"judging-sheet-phone-{backend}.png"), full_page=True)

    page.once("dialog", lambda d: d.accept())
    page.locator("#submit-sheet").click()
    expect(page.locator("#sheet-status")).to_contain_text("已于")
    expect(page.locator("#peer-spread")).to_contain_text("1 位专家")
    expect(page.locator(".spread").first).to_contain_text("最低 6，最高 6")
    expect(page.locator("input[type=number]")).to_have_count(0)
    # nothing scrolls sideways on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with app.app_context():
        assert db.session.get(Assignment, mine_id).sheet.status == "submitted"
