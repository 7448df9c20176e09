"""The scanner page (扫码签到) in a real Chromium on a phone-sized screen, against a real threaded server.

As an assigned check-in user: a hand-held scanner typing the payload (green, then amber with the
gate, then red for another event's ticket), the manual search by the last digits of a mobile, the
camera fed a QR through Chromium's fake capture device (decoded in the page by the vendored jsQR),
and offline: scanning with the network cut (verified in the page with WebCrypto Ed25519, recorded
in IndexedDB, pending count), then synced when the network is back. Plus who may open the pages.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import PIL.Image
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import func, select

from eventhub.checkin import services as checkin
from eventhub.checkin.models import Checkin, CheckinScan
from eventhub.core.permissions import Role
from eventhub.events.models import Event
from eventhub.extensions import db
from eventhub.registration import tickets
from tests.browser_helpers import login, no_horizontal_scroll, phone_context_args
from tests.conftest import CHROMIUM
from tests.event_helpers import approved_event
from tests.factories import login as client_login
from tests.factories import make_user
from tests.test_checkin_services import ticketed

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def scan_world() -> dict:
    """Two approved theme days; a check-in user assigned to the first at 东门; tickets for both."""
    ids = approved_event("华润")
    event = db.session.get(Event, ids["event_id"])
    organiser = make_user(Role.ORGANISER)
    staff = make_user(Role.CHECKIN)
    checkin.assign_staff(event, staff, gate="东门", actor=organiser)
    _reg, payload = ticketed(event, name="张三", organisation="华润测试有限公司", mobile="13812345678")
    _reg2, manual_payload = ticketed(event, name="王五", organisation="福州精测科技有限公司", mobile="13700001234")
    other = db.session.get(Event, approved_event("国网")["event_id"])
    _reg3, other_payload = ticketed(other, name="赵六")
    stranger = make_user(Role.CHECKIN)
    checkin.assign_staff(other, stranger, actor=organiser)
    db.session.commit()
    return {
        "event_id": event.id,
        "other_event_id": other.id,
        "staff": staff.email,
        "stranger": stranger.email,
        "organiser": organiser.email,
        "payload": payload,
        "manual_code": manual_payload.split(".")[3],
        "other_payload": other_payload,
    }


def open_scanner(page: Page, base_url: str, world: dict) -> None:
    """From the list of events to the scanner page, and wait until its offline data is loaded."""
    login(page, base_url, world["staff"])
    page.goto(f"{base_url}/checkin/")
    page.locator(f"#scan-event-{world['event_id']}").click()
    expect(page.locator("#event-title")).to_have_text("华润融通创新主题日")
    expect(page.locator("#scanner")).to_have_attribute("data-ready", "1")


def scan_typed(page: Page, text: str) -> None:
    """What a hand-held scanner does: fast keystrokes, then Enter, into whatever the page focused."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


# ---- who may open the pages --------------------------------------------------------------------


def as_user(app, email: str):  # noqa: ANN001, ANN201
    """A fresh test client logged in as ``email``."""
    client = app.test_client()
    client_login(client, email)
    return client


def test_pages_need_scan_rights_for_the_event(app, client):  # noqa: ANN001
    with app.app_context():
        world = scan_world()
        host = make_user(Role.HOST)
        host_email = host.email
        db.session.commit()
    url = f"/checkin/events/{world['event_id']}/scan"
    assert client.get(url).status_code in (302, 303)  # anonymous: the log-in page

    client = as_user(app, world["stranger"])  # check-in user of the other event
    assert client.get(url).status_code == 403
    listing = client.get("/checkin/").get_data(as_text=True)
    assert f'id="scan-event-{world["other_event_id"]}"' in listing and f'id="scan-event-{world["event_id"]}"' not in listing
    assert client.get("/checkin/events/999999/scan").status_code == 404

    client = as_user(app, world["staff"])
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="csrf-token"' in html and "vendor/jsqr/jsQR.js" in html and "东门" in html
    assert "开幕式暨技术需求发布" in html  # a session's own check-in list can be chosen

    client = as_user(app, world["organiser"])  # organisers see every upcoming event
    listing = client.get("/checkin/").get_data(as_text=True)
    assert f'id="scan-event-{world["event_id"]}"' in listing and f'id="scan-event-{world["other_event_id"]}"' in listing
    assert client.get(url).status_code == 200

    client = as_user(app, host_email)
    assert client.get(url).status_code == 403 and client.get("/checkin/").status_code == 403


def test_vendored_decoder_is_served_with_its_licence(app, client):  # noqa: ANN001
    for path in ("vendor/jsqr/jsQR.js", "vendor/jsqr/LICENSE", "vendor/jsqr/README.md", "js/scanner.js", "css/scanner.css"):
        assert client.get(f"/static/{path}").status_code == 200, path
    root = Path(app.static_folder)
    assert "Apache License" in (root / "vendor/jsqr/LICENSE").read_text()
    assert "1.4.0" in (root / "vendor/jsqr/README.md").read_text()


# ---- Chromium ----------------------------------------------------------------------------------


@SQLITE
def test_hand_held_scanner_and_manual_search(live_server, browser: Browser, backend: str, screenshot_dir: Path):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        world = scan_world()
    context = browser.new_context(**phone_context_args())
    page = context.new_page()
    open_scanner(page, base_url, world)
    result = page.locator("#result")

    scan_typed(page, world["payload"])
    expect(result).to_have_attribute("data-result", "ok")
    expect(page.locator("#result-title")).to_have_text("签到成功")
    expect(page.locator("#result-name")).to_have_text("张三")
    expect(page.locator("#result-org")).to_have_text("华润测试有限公司")
    page.screenshot(path=str(screenshot_dir / "scanner-ok.png"))

    page.wait_for_timeout(600)  # a scanner's double send within half a second is ignored; this is a second scan
    scan_typed(page, world["payload"])  # typing closes the result and goes on
    expect(result).to_have_attribute("data-result", "already")
    expect(page.locator("#result-title")).to_have_text("已签到")
    expect(page.locator("#result-detail")).to_contain_text("东门")

    scan_typed(page, world["other_payload"].lower())  # Caps Lock off: the same text
    expect(result).to_have_attribute("data-result", "refused")
    expect(page.locator("#result-detail")).to_have_text("其他活动的电子票")
    expect(page.locator("#result-offline")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "scanner-refused.png"))
    result.click()  # tap to dismiss
    expect(result).to_be_hidden()

    page.fill("#search-input", "1234")  # last digits of the mobile
    row = page.locator(f"#search-results [data-ticket='{world['manual_code']}']")
    expect(row).to_contain_text("王五")
    expect(row).to_contain_text("137****1234")
    expect(page.locator("#search-results")).not_to_contain_text("13700001234")
    row.get_by_role("button", name="签到").click()
    expect(result).to_have_attribute("data-result", "ok")
    expect(page.locator("#result-name")).to_have_text("王五")
    result.click()
    page.fill("#search-input", "华润测试")
    expect(page.locator("#search-results")).to_contain_text("张三")
    expect(page.locator("#search-results")).to_contain_text("已签到")  # this device saw 张三 checked in
    no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_dir / "scanner-page.png"), full_page=True)
    context.close()

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 2
        results = list(db.session.execute(select(CheckinScan.result, CheckinScan.gate, CheckinScan.payload).order_by(CheckinScan.id)))
        assert [r.result for r in results] == ["ok", "already", "other_event", "ok"]
        assert all(r.gate == "东门" for r in results)  # the assignment's gate is the page's default
        assert results[-1].payload == f"manual:{world['manual_code']}"


def y4m_of_png(png: bytes, path: Path, frames: int = 10) -> Path:
    """A 640×480 Y4M clip (4:2:0) showing the image on white: what Chromium's fake camera plays."""
    image = PIL.Image.open(io.BytesIO(png)).convert("RGB")
    canvas = PIL.Image.new("RGB", (640, 480), "white")
    canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    cb, cr = cb.resize((320, 240)), cr.resize((320, 240))
    frame = b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes()
    path.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + frame * frames)
    return path


@SQLITE
def test_camera_scan_with_a_fake_camera(live_server, playwright: Playwright, backend: str, tmp_path: Path):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        world = scan_world()
    clip = y4m_of_png(tickets.qr_png(world["payload"]), tmp_path / "qr.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={clip.resolve()}",
            "--use-fake-ui-for-media-stream",
        ],
    )
    try:
        context = browser.new_context(**phone_context_args(permissions=["camera"]))
        page = context.new_page()
        open_scanner(page, base_url, world)
        page.locator("#camera-toggle").click()
        expect(page.locator("#camera-box")).to_have_class(re.compile(r"\bis-on\b"))
        expect(page.locator("#result")).to_have_attribute("data-result", "ok", timeout=15_000)
        expect(page.locator("#result-name")).to_have_text("张三")
        expect(page.locator("#camera-box")).to_have_attribute("data-decoder", re.compile(r"jsQR|BarcodeDetector"))
        page.wait_for_timeout(4000)  # the QR stays in front of the camera after the result closes
        context.close()
    finally:
        browser.close()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 1  # debounced: sent once


@SQLITE
def test_camera_refused_shows_a_message(live_server, browser: Browser, backend: str):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        world = scan_world()
    context = browser.new_context(**phone_context_args())  # no camera permission, no fake device
    page = context.new_page()
    open_scanner(page, base_url, world)
    page.locator("#camera-toggle").click()
    expect(page.locator("#camera-msg")).to_contain_text(re.compile("摄像头"))
    expect(page.locator("#camera-box")).not_to_have_class(re.compile(r"\bis-on\b"))
    context.close()


@SQLITE
def test_offline_scan_then_sync(live_server, browser: Browser, backend: str, screenshot_dir: Path):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        world = scan_world()
    context = browser.new_context(**phone_context_args())
    page = context.new_page()
    open_scanner(page, base_url, world)

    context.set_offline(True)
    expect(page.locator("#net-status")).to_have_attribute("data-online", "0")
    scan_typed(page, world["payload"])
    result = page.locator("#result")
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_have_attribute("data-offline", "1")
    expect(page.locator("#result-offline")).to_be_visible()
    expect(page.locator("#result-name")).to_have_text("张三")  # from the roster kept in IndexedDB
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "1")
    page.screenshot(path=str(screenshot_dir / "scanner-offline.png"))

    page.wait_for_timeout(600)
    scan_typed(page, world["payload"])  # the same ticket again on this device: amber, locally
    expect(result).to_have_attribute("data-result", "already")
    expect(page.locator("#result-detail")).to_contain_text("东门")
    page.wait_for_timeout(600)
    scan_typed(page, world["other_payload"])  # refused offline too: the signature names another event
    expect(result).to_have_attribute("data-result", "refused")
    expect(page.locator("#result-detail")).to_have_text("其他活动的电子票")
    forged = world["payload"][:-20] + ("B" if world["payload"][-20] != "B" else "C") + world["payload"][-19:]
    page.wait_for_timeout(600)
    scan_typed(page, forged)
    expect(page.locator("#result-detail")).to_have_text("签名无效（伪造或损坏的电子票）")
    expect(page.locator("#result-name")).to_have_text("")  # a forgery never shows the person whose code it copied
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "4")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 0  # nothing reached the server

    context.set_offline(False)
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "0", timeout=20_000)
    expect(page.locator("#sync-report")).to_contain_text("已同步 4 条离线签到")
    expect(page.locator("#sync-report")).to_contain_text("已有更早签到，离线扫码记为重复")  # the server's conflict report
    expect(page.locator("#net-status")).to_have_attribute("data-online", "1")
    if result.is_visible():
        result.click()
    page.screenshot(path=str(screenshot_dir / "scanner-synced.png"), full_page=True)
    context.close()

    with app.app_context():
        row = db.session.scalar(select(Checkin))
        assert row is not None and row.gate == "东门"
        scans = list(db.session.scalars(select(CheckinScan).order_by(CheckinScan.scanned_at)))
        assert all(scan.offline for scan in scans) and len(scans) == 4
        assert sorted(scan.result for scan in scans) == ["already", "invalid_signature", "ok", "other_event"]
        assert row.scan_id == next(scan.scan_id for scan in scans if scan.result == "ok")
