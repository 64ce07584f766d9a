# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
APP    := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-dev migrate seed lint format typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt package-lock.json | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	npm ci --no-audit --no-fund  # axe-core for the pages' accessibility checks
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Serve the app on an embedded SQLite database with the demo directory.
run: install
	$(APP) db upgrade
	$(APP) seed-demo --if-empty
	$(APP) run --host $(HOST) --port $(PORT)

## Run the whole suite (on PostgreSQL when DATABASE_URL points there).
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
