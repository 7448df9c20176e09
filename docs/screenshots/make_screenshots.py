"""Regenerate the README screenshots: PYTHONPATH=. .venv/bin/python docs/screenshots/make_screenshots.py"""
import tempfile, threading
from werkzeug.serving import make_server
from playwright.sync_api import sync_playwright
from eventhub import create_app
from eventhub.extensions import db
from eventhub.demo.services import load_demo

tmp = tempfile.mkdtemp()
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/s.sqlite", "SECRET_KEY": "s"*40}, instance_path=tmp)
with app.app_context():
    db.create_all()
    load_demo(if_empty=False, echo=lambda *a, **k: None)
srv = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_port}"
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
    pg = b.new_page(viewport={"width": 1280, "height": 820})
    pg.goto(url + "/login")
    pg.fill("input[name=email]", "organiser@demo.example.com")
    pg.fill("input[name=password]", "Demo-organiser-2026")
    pg.click("button[type=submit]")
    pg.screenshot(path="docs/screenshots/dashboard.png")
    pg.goto(url + "/bases/?direction=融通创新")
    pg.screenshot(path="docs/screenshots/bases.png")
    m = b.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    m.goto(url + "/login")
    m.screenshot(path="docs/screenshots/login-mobile.png")
    b.close()
srv.shutdown()
