"""The scanner page when the venue's network is gone completely, in a real Chromium.

- Reload while offline: the service worker (static/js/scanner-sw.js, served as /checkin/sw.js)
  answers the page and its files from its copy; the page says it is a copy, scans offline, and
  syncs when the network is back.
- A WebView without Ed25519 in WebCrypto (older Android, WeChat), simulated by an init script:
  offline signatures are verified by the vendored noble-ed25519 instead, loaded from the worker's
  cache — a valid ticket passes, a flipped character is refused as an invalid signature.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from eventhub.checkin.models import Checkin, CheckinScan
from eventhub.core.permissions import Role
from eventhub.extensions import db
from tests.browser_helpers import phone_context_args
from tests.factories import make_user
from tests.test_scanner_browser import SQLITE, as_user, open_scanner, scan_typed, scan_world

# What such a WebView does: crypto.subtle knows no Ed25519 (importKey / verify reject), SHA-512 works.
NO_WEBCRYPTO_ED25519 = """
(() => {
  const isEd25519 = (alg) => String(typeof alg === "string" ? alg : alg && alg.name).toUpperCase() === "ED25519";
  const refuse = () => Promise.reject(new DOMException("Unrecognized algorithm name", "NotSupportedError"));
  for (const name of ["importKey", "verify"]) {
    const original = SubtleCrypto.prototype[name];
    SubtleCrypto.prototype[name] = function (...args) {
      return isEd25519(name === "importKey" ? args[2] : args[0]) ? refuse() : original.apply(this, args);
    };
  }
})();
"""

# Every path kept in the origin's Cache Storage.
CACHED_PATHS = """async () => {
  const paths = [];
  for (const name of await caches.keys()) for (const request of await (await caches.open(name)).keys()) paths.push(new URL(request.url).pathname);
  return paths;
}"""


def open_then_reload_offline(page: Page, base_url: str, world: dict) -> None:
    """Open the scanner online until its data and its offline copy are kept, then cut the network and reload."""
    open_scanner(page, base_url, world)
    expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "1", timeout=15_000)
    # Playwright's offline emulation (Chromium 156, Playwright 1.65) also fails the service worker's own
    # fetches, so this is the real path: the worker's fetch fails and it answers its copy — which is
    # what data-offline-copy below proves (only the worker's fallback writes it).
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#event-title")).to_have_text("华润融通创新主题日")
    expect(page.locator("#offline-copy")).to_be_visible()
    expect(page.locator("#offline-copy")).to_contain_text("离线副本")
    expect(page.locator("#scanner")).to_have_attribute("data-offline-copy", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(page.locator("#net-status")).to_have_attribute("data-online", "0")


# ---- without a browser -------------------------------------------------------------------------


def test_worker_is_served_for_scanner_staff_and_lists_the_pages_files(app, client):  # noqa: ANN001
    with app.app_context():
        world = scan_world()
        host = make_user(Role.HOST).email
        db.session.commit()
    assert client.get("/checkin/sw.js").status_code in (302, 303)  # anonymous: the log-in page
    assert as_user(app, host).get("/checkin/sw.js").status_code == 403  # like the scanner page
    staff = as_user(app, world["staff"])
    response = staff.get("/checkin/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript" and response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    settings = re.match(r"const SETTINGS = (\{.*\});\n", body)
    assert settings and "eventhub-scanner-static-" in body
    html = staff.get(f"/checkin/events/{world['event_id']}/scan").get_data(as_text=True)
    loaded = re.findall(r'<(?:script[^>]* src|link rel="stylesheet"[^>]* href)="([^"]+)"', html)
    assert loaded and all(f'"{url}"' in settings.group(1) for url in loaded), loaded  # every file the page loads is kept
    assert re.search(r"/static/js/scanner\.js\?v=[0-9a-f]{12}", html)  # the page's own files are versioned
    assert "/static/vendor/noble-ed25519/ed25519.js?v=" in settings.group(1)
    assert 'data-offline-copy=""' in html  # the mark the worker fills in on its copy
    for path in ("vendor/noble-ed25519/ed25519.js", "vendor/noble-ed25519/LICENSE", "vendor/noble-ed25519/README.md"):
        assert client.get(f"/static/{path}").status_code == 200, path
    root = Path(app.static_folder)
    assert "MIT License" in (root / "vendor/noble-ed25519/LICENSE").read_text()
    assert "3.2.0" in (root / "vendor/noble-ed25519/README.md").read_text()


# ---- Chromium ----------------------------------------------------------------------------------


@SQLITE
def test_reload_while_offline_opens_the_copy_scans_and_syncs(live_server, browser: Browser, backend: str, screenshot_dir: Path):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        world = scan_world()
    context = browser.new_context(**phone_context_args())
    page = context.new_page()
    open_then_reload_offline(page, base_url, world)
    expect(page.locator("#data-status")).to_contain_text("2 张票")  # keys and roster from IndexedDB
    page.screenshot(path=str(screenshot_dir / "scanner-offline-copy.png"))

    scan_typed(page, world["payload"])
    result = page.locator("#result")
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_have_attribute("data-offline", "1")
    expect(page.locator("#result-name")).to_have_text("张三")
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "1")
    expect(page.locator("#scanner")).to_have_attribute("data-ed25519", "webcrypto")  # this Chromium has it
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckinScan)) == 0

    context.set_offline(False)
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "0", timeout=20_000)
    expect(page.locator("#sync-report")).to_contain_text("已同步 1 条离线签到")
    expect(page.locator("#offline-copy")).to_contain_text("网络已恢复")

    kept = page.evaluate(CACHED_PATHS)  # only the scanner page and its files: no API answer, no other page
    assert f"/checkin/events/{world['event_id']}/scan" in kept and "/static/js/scanner.js" in kept
    assert all(re.fullmatch(r"/checkin/events/\d+/scan|/static/.+|/bootstrap/static/.+", path) for path in kept), kept
    page.locator(".navbar-toggler").click()
    page.get_by_role("button", name="退出").click()  # logging out forgets the copies of the user's pages
    expect(page).to_have_url(re.compile(r"/login"))
    kept = page.evaluate(CACHED_PATHS)
    assert "/static/js/scanner.js" in kept and not any(path.startswith("/checkin/") for path in kept), kept
    context.close()
    with app.app_context():
        row = db.session.scalar(select(Checkin))
        assert row is not None and row.gate == "东门"
        assert db.session.scalar(select(CheckinScan.offline)) is True


@SQLITE
def test_ed25519_in_javascript_where_webcrypto_has_none(live_server, browser: Browser, backend: str):  # noqa: ANN001
    app, base_url = live_server
    with app.app_context():
        world = scan_world()
    context = browser.new_context(**phone_context_args())
    context.add_init_script(NO_WEBCRYPTO_ED25519)
    page = context.new_page()
    open_then_reload_offline(page, base_url, world)  # the library, too, comes from the worker's cache

    scan_typed(page, world["payload"])
    result = page.locator("#result")
    expect(result).to_have_attribute("data-result", "ok")
    expect(page.locator("#result-name")).to_have_text("张三")
    expect(page.locator("#scanner")).to_have_attribute("data-ed25519", "noble")

    page.wait_for_timeout(600)
    forged = world["payload"][:-20] + ("B" if world["payload"][-20] != "B" else "C") + world["payload"][-19:]
    scan_typed(page, forged)
    expect(result).to_have_attribute("data-result", "refused")
    expect(page.locator("#result-detail")).to_have_text("签名无效（伪造或损坏的电子票）")
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "2")
    context.close()
