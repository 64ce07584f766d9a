# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
APP    := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-miniprogram install install-dev libreoffice browser firefox node migrate seed lint format typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt package-lock.json | $(BIN)/python node
	$(BIN)/pip install --quiet -r requirements-dev.txt
	npm ci --no-audit --no-fund  # axe-core for the pages' accessibility checks
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed browser firefox

## axe-core for the accessibility check of the worker pages, jest and miniprogram-simulate for the
## mini-program's tests (all pinned in package-lock.json).
node_modules/.installed: package.json package-lock.json | node
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

## The browser tests drive Debian's Chromium with a CJK font (Playwright's own downloads are never used).
browser:
	@if ! dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk; \
	  else \
	    echo "The browser tests need Chromium and a CJK font: sudo apt-get install chromium fonts-noto-cjk" >&2; \
	    exit 1; \
	  fi; \
	fi

## The console's Firefox ESR check drives Debian's firefox-esr with puppeteer-core (npm) over WebDriver BiDi.
firefox:
	@if ! dpkg -s firefox-esr >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y --no-install-recommends firefox-esr \
	      || { apt-get update && apt-get install -y --no-install-recommends firefox-esr; }; \
	  else \
	    echo "The Firefox ESR check needs Firefox ESR: sudo apt-get install firefox-esr" >&2; \
	    exit 1; \
	  fi; \
	fi

## Serve the app on an embedded SQLite database with the demo directory, and run the outbox
## worker beside it (decision SMS show in the console log); Ctrl-C stops both.
run: install
	$(APP) db upgrade
	$(APP) seed-demo --if-empty
	$(BIN)/python -m scripts.devrun --host $(HOST) --port $(PORT)

## Node.js 20 or later, from the machine: npm installs the tools above, jest runs the mini-program's tests.
node:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 \
	    || [ "$$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then \
	  echo "Node.js 20 or later with npm is needed (the mini-program's tests, axe-core):" >&2; \
	  echo "  sudo apt-get install -y nodejs npm   # Debian 13 / Ubuntu 24.04 ship Node 20; older: https://nodejs.org/en/download" >&2; \
	  exit 1; \
	fi

## Run the whole suite (on PostgreSQL when DATABASE_URL points there), then the mini-program's tests.
test: install-dev libreoffice
	$(BIN)/pytest $(PYTEST_ARGS)
	node_modules/.bin/jest --config tests/miniprogram/jest.config.js

## Only the mini-program's tests (jest, about 20 s; they start the app on a temporary SQLite database).
test-miniprogram: install-dev
	node_modules/.bin/jest --config tests/miniprogram/jest.config.js

## LibreOffice Calc: the export tests read the CSV back through its own CSV import.
libreoffice:
	@if ! command -v soffice >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y --no-install-recommends libreoffice-calc \
	      || { apt-get update && apt-get install -y --no-install-recommends libreoffice-calc; }; \
	  else \
	    echo "LibreOffice Calc is missing; install it with:" >&2; \
	    echo "  sudo apt-get install -y --no-install-recommends libreoffice-calc" >&2; \
	    exit 1; \
	  fi; \
	fi

migrate: install
	$(APP) db upgrade

seed: install
	$(APP) seed-demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install-dev
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
