# Two commands matter: `make run` and `make test`. Both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NPM_DIR := theme/static_src
HOST ?= 127.0.0.1
PORT ?= 8000
EMULATOR_PORT ?= 12111

.PHONY: help install css run test test-sqlite test-postgres lint format emulator sweep bench mutate clean

help:
	@echo "make run     set up everything and serve the shop on http://$(HOST):$(PORT)"
	@echo "make test    set up and run lint and the whole test suite"
	@echo "make lint    ruff, djlint and mypy only"
	@echo "make format  apply ruff's fixes and formatting"
	@echo "make bench   benchmarks (bench/README.md)"
	@echo "make mutate  mutation testing of the books (slow; not part of make test)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exact versions from the lock files; reinstalled only when a lock changes.
$(VENV)/.installed: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

$(NPM_DIR)/node_modules/.package-lock.json: $(NPM_DIR)/package-lock.json
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(NPM_DIR)/node_modules/.package-lock.json

# Tailwind scans the templates, so the stylesheet is rebuilt every time (about a second).
css: $(NPM_DIR)/node_modules/.package-lock.json
	cd $(NPM_DIR) && npm run --silent build:tailwind >/dev/null

run: install css
	@bash scripts/run.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint --lint --quiet theme/templates catalog/templates checkout/templates dashboard/templates
	$(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The suite runs on SQLite, then again on PostgreSQL when DATABASE_URL names it.
test: install css lint test-sqlite test-postgres

test-sqlite: install css
	@echo "== tests on SQLite (browser tests included when Chromium is present)"
	env -u DATABASE_URL $(BIN)/pytest

test-postgres: install css
	@if [[ "$${DATABASE_URL:-}" == postgres* ]]; then \
		echo "== tests on PostgreSQL ($${DATABASE_URL%%\?*})"; \
		$(BIN)/pytest tests -m "not browser" -p no:cacheprovider; \
	else \
		echo "PostgreSQL pass skipped: DATABASE_URL does not name PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/storefront)"; \
	fi

emulator: $(VENV)/.installed
	$(BIN)/python -m stripe_emulator --port $(EMULATOR_PORT) \
		--webhook-url http://$(HOST):$(PORT)/webhooks/stripe/ --webhook-secret whsec_emulator

sweep: $(VENV)/.installed
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py sweep_checkouts

# Mutation testing (cosmic-ray) of the modules that keep the books, with the tests that
# judge each; prints the score and every surviving mutant. Configured in pyproject.toml
# ([tool.cosmic-ray], [tool.mutate]). Runs in a scratch copy under var/mutate, one
# mutant at a time: an hour or more, so never part of `make test`. On PostgreSQL when
# DATABASE_URL names it (the lock tests need it). MUTATE_ARGS="--target start" narrows it.
mutate: $(VENV)/.installed
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

bench: install css
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(NPM_DIR)/node_modules staticfiles theme/static/css/dist .pytest_cache
