# Keel: two commands do all the set-up on a fresh machine.
#   make run   - create .venv, install, start the whole suite locally
#   make test  - install what the tests need and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUF := node_modules/.bin/buf

.PHONY: run test unit e2e proto proto-check lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(BUF): package.json
	npm install --no-audit --no-fund --silent
	touch $(BUF)

run: $(STAMP)
	$(VENV)/bin/keel up

test: $(STAMP) $(BUF)
	$(BUF) lint protos
	$(PY) scripts/gen_protos.py --check
	$(PY) -m pytest -q

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

proto: $(STAMP)
	$(PY) scripts/gen_protos.py

lint: $(STAMP) $(BUF)
	$(BUF) lint protos
	$(VENV)/bin/ruff check services tests benchmarks scripts

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) node_modules
