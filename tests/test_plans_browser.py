"""In Chromium: the page's 字数 counter agrees with Python on the shared table; a host writes and submits."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from eventhub.bases.models import BaseType
from eventhub.campaigns.models import Campaign, CampaignStatus
from eventhub.core.permissions import Role
from eventhub.core.timeutil import to_shanghai, utcnow
from eventhub.core.wordcount import count_zishu
from eventhub.extensions import db
from eventhub.plans.models import PreliminaryPlan
from tests.browser_helpers import fill_plan_form
from tests.factories import PASSWORD, make_base, make_user

CASES = json.loads((Path(__file__).parent / "data" / "zishu_cases.json").read_text(encoding="utf-8"))


def _setup(app) -> tuple[str, int]:  # noqa: ANN001
    with app.app_context():
        now = utcnow()
        db.session.add(
            Campaign(
                year=to_shanghai(now).year,
                title="本年度“融通创新”主题日",
                plan_deadline=(now + timedelta(days=20)).replace(microsecond=0),
                status=CampaignStatus.PLANNING.value,
                zishu_target=20,
                zishu_min=10,
                zishu_max=30,
            )
        )
        base = make_base("中国华润有限公司", short_name="华润")
        partner = make_base("深圳市南山区", BaseType.REGION, short_name="南山区")
        email = make_user(Role.HOST, base=base).email
        db.session.commit()
        return email, partner.id


def _login(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_js_counter_matches_python_on_shared_table(live_server, page: Page):
    app, base_url = live_server
    email, _ = _setup(app)
    _login(page, base_url, email)
    page.goto(f"{base_url}/plans/edit")
    texts = [case["text"] for case in CASES]
    counts = page.evaluate("texts => texts.map(t => window.countZishu(t))", texts)
    expected = [case["count"] for case in CASES]
    python = [count_zishu(t) for t in texts]
    assert python == expected
    mismatches = [(t, js, py) for t, js, py in zip(texts, counts, python, strict=True) if js != py]
    assert mismatches == []
    assert len(CASES) >= 40


def test_host_types_sees_live_count_and_submits(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    email, partner_id = _setup(app)
    _login(page, base_url, email)
    page.locator("#mainnav").get_by_role("link", name="初步计划").click()
    expect(page.locator("#deadline")).to_contain_text("北京时间")
    page.locator("#start-plan").click()

    page.fill("#theme", "能源装备产业链融通创新")
    page.fill("#field", "新能源装备")
    # add a participant row on the server: what was typed stays
    page.locator("#add-participant").click()
    expect(page.locator(".participant-row")).to_have_count(2)
    expect(page.locator("#theme")).to_have_value("能源装备产业链融通创新")
    page.locator(".participant-row").nth(1).get_by_role("button").click()
    expect(page.locator(".participant-row")).to_have_count(1)

    fill_plan_form(
        page,
        partner_id=partner_id,
        reason="上游供应商",
        window=("2030-09-01", "2030-10-20"),
        sentences=["具体安排"] * 4,
        measures="分时段入场",
    )

    counter = page.locator("#zishu-count")
    expect(counter).to_have_attribute("data-count", "0")
    page.locator("#body").press_sequentially("融通创新 AI")
    expect(counter).to_have_attribute("data-count", "5")
    expect(counter).to_contain_text("字数：5")
    expect(counter).to_contain_text("还差 5 字")
    page.locator("#body").press_sequentially("，2026年举办🎉")
    expect(counter).to_have_attribute("data-count", str(count_zishu("融通创新 AI，2026年举办🎉")))
    expect(counter).to_have_attribute("data-state", "ok")
    page.screenshot(path=str(screenshot_dir / f"plans-edit-{backend}.png"), full_page=True)

    page.locator("#submit-plan").click()
    expect(page.get_by_role("heading", name="确认提交初步计划")).to_be_visible()
    page.locator("#confirm-submit").click()
    expect(page.locator("#plan-status")).to_have_text("已提交")
    with app.app_context():
        plan = db.session.query(PreliminaryPlan).one()
        assert plan.versions[0].snapshot["zishu"] == 11
        assert plan.body == "融通创新 AI，2026年举办🎉"


def test_plan_form_on_a_phone(live_server, page: Page, screenshot_dir: Path, backend: str):
    app, base_url = live_server
    email, _ = _setup(app)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, base_url, email)
    page.goto(f"{base_url}/plans/edit")
    page.locator("#body").fill("融通创新")
    expect(page.locator("#zishu-count")).to_have_attribute("data-count", "4")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(screenshot_dir / f"plans-edit-phone-{backend}.png"), full_page=True)
