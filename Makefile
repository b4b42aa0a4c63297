# Mindwire: `make run` serves on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install dev migrate format clean bench dashboard lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Every install is pinned by requirements.lock (all direct and indirect dependencies, made by
# `make lock` from pyproject.toml), so a fresh clone gets the versions main was tested with.
LOCK := requirements.lock

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $@ $(VENV)/.installed

# `make lock`: re-resolve every dependency to the newest versions pyproject.toml allows, on
# purpose (then `make lint test` before committing the new lock). Universal: one lock for
# every platform, for Python 3.11 and later.
lock: dev
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--upgrade --quiet -o $(LOCK)

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/mindwire migrate

run: migrate dashboard
	$(BIN)/mindwire serve --host $(HOST) --port $(PORT)

# The dashboard at / (web/, see web/README.md), built when npm is present. Without Node the
# server still runs, and / says how to build the page.
WEB_INPUTS := $(wildcard web/src/*.ts web/static/* web/scripts/*.mjs clients/typescript/src/*.ts) \
	web/tsconfig.json web/package.json web/package-lock.json

dashboard:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory web/dist/index.html; \
	else \
		echo "npm not found: skipping the dashboard build (install Node.js 20+ for the page at /)"; \
	fi

web/dist/index.html: $(WEB_INPUTS) web/node_modules/.installed
	cd web && npm run build

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

test: dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# `make bench`: Mindwire vs bare python-socketio vs Node socket.io (see bench/run.py).
# BENCH_QUICK=1 for tiny numbers; BENCH_ARGS="--steps" for defaults -> easy wins -> fast path.
bench: dev bench/node_modules/.installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	touch $@

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache web/dist build
