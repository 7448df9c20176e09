# EventHub — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app

.PHONY: run test lint format translations chromium clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d eventhub/translations

run: $(VENV)/.installed translations
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	EVENTHUB_RUN_SCHEDULER=true $(FLASK) run --host 127.0.0.1 --port 5000

# Debian's Chromium for the browser tests, and a CJK font so screenshots show Chinese.
chromium:
	@{ test -x /usr/bin/chromium && dpkg -s fonts-wqy-zenhei >/dev/null 2>&1; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check eventhub tests app.py bench
	$(BIN)/ruff format --check eventhub tests app.py bench

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix eventhub tests app.py bench
	$(BIN)/ruff format eventhub tests app.py bench

# Tests run in one process per CPU (pytest-xdist); each worker has its own PostgreSQL and Chromium.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-dev translations chromium lint
	$(BIN)/pytest -q -n $(PYTEST_WORKERS)

clean-venv:
	rm -rf $(VENV)
