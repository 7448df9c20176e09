"""The ceiling for bench/bench_checkin_registration.py: a bare Flask app under the same gunicorn.

``GET /`` answers "ok" and ``POST /`` reads a JSON body and answers JSON, with nothing else
(no database, no sessions, no extensions), so the app's figures can be read as a share of what
gunicorn + Flask alone can do on this machine.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def ok() -> str:
    return "ok"


@app.post("/")
def echo() -> object:
    data = request.get_json(silent=True) or {}
    return jsonify(result="ok", scan_id=data.get("scan_id")), 201
