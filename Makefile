# syncd — `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install demo test test-fast test-lwc lint bench bench-cycle benchmarks clean

# The Salesforce package's Lightning Web Component tests run on Node (sfdx-lwc-jest).
SFDX       = mappings/salesforce
NODE_STAMP = $(SFDX)/node_modules/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "syncd needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv with syncd and its test tools

# node_modules follows the lock file, as .venv follows pyproject.toml.
$(NODE_STAMP): $(SFDX)/package.json $(SFDX)/package-lock.json
	@command -v npm >/dev/null || { echo "make test-lwc needs Node.js 18+ and npm on PATH" >&2; exit 2; }
	cd $(SFDX) && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

DEMO_FLAGS ?=
demo: $(STAMP)  ## seeded sandbox org over HTTPS, one full cycle, a summary (DEMO_FLAGS=--notify)
	$(BIN)/syncd demo $(DEMO_FLAGS)

lint: $(STAMP)  ## ruff (lint + format) and mypy on the package
	$(BIN)/ruff check syncd tests benchmarks
	$(BIN)/ruff format --check syncd tests benchmarks
	$(BIN)/mypy

test: lint test-lwc  ## the whole suite (what CI runs)
	$(BIN)/pytest

test-lwc: $(NODE_STAMP)  ## the jest tests of the Lightning Web Components (mappings/salesforce)
	cd $(SFDX) && npm run test:ci

test-fast: $(STAMP)  ## everything but the tests marked slow
	$(BIN)/pytest -m "not slow"

bench: $(STAMP)  ## the engine benchmark (see benchmarks/README.md for the others)
	$(BIN)/python benchmarks/bench_engine.py

bench-cycle: $(STAMP)  ## cycles against the sandbox at 50 ms a call, 10k deals, with the per-record loop
	$(BIN)/python benchmarks/bench_cycle.py --opportunities 10000 --latency 0.05

benchmarks: $(STAMP)  ## run the cycle benchmarks (10k with the per-record loop, 100k, 1M) and rewrite their tables
	$(BIN)/python benchmarks/publish.py

clean:
	rm -rf $(VENV) .syncd-demo .syncd-sandbox state .pytest_cache .ruff_cache .mypy_cache $(SFDX)/node_modules
