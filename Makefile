# Keel: two commands do all the set-up on a fresh machine.
#   make run   - create .venv, install, start the whole suite locally
#   make test  - install what the tests need and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUF := node_modules/.bin/buf

.PHONY: run test unit e2e proto proto-breaking lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (log: $(VENV)/install.log)"
	@$(PY) -m pip install --upgrade pip > $(VENV)/install.log 2>&1
	@$(PY) -m pip install -e '.[test]' >> $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@touch $(STAMP)

$(BUF): package.json
	npm install --no-audit --no-fund --silent
	@touch $(BUF)

run: $(STAMP)
	$(VENV)/bin/keel up

# Proto lint (buf STANDARD), Python lint (ruff) and types (mypy), then every
# test; tests/unit/test_generated_code.py fails when gen/ is stale.
test: $(STAMP) $(BUF)
	$(BUF) lint protos
	$(VENV)/bin/ruff check services tests benchmarks scripts
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

proto: $(STAMP)
	$(PY) scripts/gen_protos.py

# Breaking-change check (FILE rules) of the working tree against main's last commit.
proto-breaking: $(BUF)
	$(BUF) breaking protos --against '.git#branch=main,subdir=protos'

lint: $(STAMP) $(BUF)
	$(BUF) lint protos
	$(VENV)/bin/ruff check services tests benchmarks scripts
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) node_modules
