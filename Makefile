# transform-jobs: developer commands. `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/deps/requirements.txt layers/deps/arrow-requirements.txt pyproject.toml clients/python/pyproject.toml | sha256sum | cut -c1-12)
# checkov's own pins (boto3, packaging) clash with requirements-dev.txt: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha256sum requirements-checkov.txt | cut -c1-12)

# Nothing here may phone home.
export SAM_CLI_TELEMETRY := 0
export AWS_EC2_METADATA_DISABLED := true

# sam build needs the Lambda runtime's Python (3.13) on PATH; pyenv keeps it outside the shims.
PY313_BIN := $(shell d=$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin 2>/dev/null | tail -1); echo $${d})
BUILD_PATH := $(if $(PY313_BIN),$(PY313_BIN):,)$(PATH)

.PHONY: help venv lint typecheck imports test-unit test openapi build validate checkov fuzz bench bench-engine bench-csv bench-local bench-load bench-smoke clean run demo invoke iam-report

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# uv installs the venvs: the same pins as pip, in a tenth of the time (about 15 s against
# 150 s for both venvs on 2 cores), which CI's time limit needs. uv itself comes from PyPI,
# pinned, into a venv of its own; it never downloads a Python (UV_PYTHON_DOWNLOADS).
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

$(UV):
	test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install -qq --disable-pip-version-check uv==$(UV_VERSION)

# --seed keeps pip in the venv for anyone who reaches for it.
$(STAMP): requirements-dev.txt layers/deps/requirements.txt layers/deps/arrow-requirements.txt pyproject.toml clients/python/pyproject.toml | $(UV)
	test -x $(BIN)/python || $(UV) venv -q --seed --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q -r requirements-dev.txt
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## create .venv with everything the tests need

lint: venv ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv ## mypy on our code
	$(BIN)/mypy

imports: venv ## import contracts: the core's packages import one way (pyproject.toml)
	PYTHONPATH=layers/core $(BIN)/lint-imports --no-cache

validate: venv ## cfn-lint and sam validate --lint (offline)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region us-east-1

$(CHECKOV_STAMP): requirements-checkov.txt | $(UV)
	test -x $(CHECKOV_VENV)/bin/python || $(UV) venv -q --python $(PYTHON) $(CHECKOV_VENV)
	VIRTUAL_ENV=$(CHECKOV_VENV) $(UV) pip install -q -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

# Offline: --skip-download (BC_SKIP_MAPPING) stops the guideline and policy download from
# Prisma Cloud, CKV_SKIP_PACKAGE_UPDATE_CHECK the new-version check on PyPI. Suppressions
# live in template.yaml, each resource's Metadata: checkov: skip.
checkov: $(CHECKOV_STAMP) ## checkov over template.yaml (SAM/CloudFormation checks, offline)
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_VENV)/bin/checkov \
		--file template.yaml --framework cloudformation --skip-download --quiet --compact

openapi: venv ## regenerate docs/openapi.json from the code, and the Python client's models from it
	$(BIN)/python scripts/generate_openapi.py > docs/openapi.json
	$(BIN)/python scripts/generate_client_models.py

build: venv ## sam build (arm64 layers with python3.13 .pyc)
	PATH="$(BUILD_PATH)" $(BIN)/sam build

# The benchmarks' smoke runs that start whole stacks of their own (some three minutes on two
# cores, with little the e2e tests do not cover) are left to bench-smoke, to keep CI in time.
# The checks are independent of each other once the venvs exist: two at a time, as CI has two cores.
test: venv $(CHECKOV_STAMP) ## lint, type checks, template checks and the whole test suite
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck imports validate checkov node_modules/.installed
	PATH="$(BUILD_PATH)" $(BIN)/python -m pytest -n 2 --dist loadgroup -m "not stack_benchmark"

test-unit: venv ## the fast tier: tests/unit and the client's tests, a quarter of each property's examples
	TEST_EXAMPLES_SCALE=0.25 $(BIN)/python -m pytest -n 2 tests/unit clients/python/tests

bench-smoke: venv node_modules/.installed ## the benchmarks' smoke runs on whole local stacks (bench-local, bench-load, small)
	PATH="$(BUILD_PATH)" $(BIN)/python -m pytest -m stack_benchmark tests/build

FUZZ_EXAMPLES ?= 200
fuzz: venv node_modules/.installed ## schemathesis on a fresh local stack, stateful phase too (FUZZ_SEED=n FUZZ_EXAMPLES=n)
	$(BIN)/python -m tests.e2e.api_fuzz --stateful --max-examples $(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

bench: venv ## cold-start benchmark: each function's init time
	$(BIN)/python benchmarks/cold_start.py

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
	touch $@

bench-engine: venv node_modules/.installed ## engine throughput and memory on 100 MB and 2 GB, against s3rver
	$(BIN)/python benchmarks/engine_throughput.py

bench-csv: venv node_modules/.installed ## CSV preparation and reassembly vs csv.reader on 100 MB and 2 GB, against s3rver
	$(BIN)/python benchmarks/csv_sharding.py --output benchmarks/results/csv_sharding.json

bench-local: venv node_modules/.installed ## local stack: start-up, POST to Completed, stop on SIGTERM
	$(BIN)/python benchmarks/local_stack.py

bench-load: venv node_modules/.installed ## local stack under load: 1,000 submissions with retries, state-change events/s
	$(BIN)/python benchmarks/load.py

run: venv node_modules/.installed ## the whole service on 127.0.0.1 (PORT=3000); Ctrl-C stops it
	$(BIN)/python -m local.stack

demo: venv ## with `make run` up: upload the Iris CSV, run a job over HTTP, show outputs and history
	$(BIN)/python -m local.demo

invoke: venv ## with `make run` up: make invoke FUNCTION=jobs_api EVENT=events/api_health.json
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<name> EVENT=events/<file>.json" >&2; exit 2; }
	$(BIN)/python -m local.runtime invoke "$(FUNCTION)" "$(EVENT)"

iam-report: venv ## per function: IAM actions granted vs used in the latest e2e run (USAGE=dir for another)
	$(BIN)/python -m local.iam.report $(if $(USAGE),--usage "$(USAGE)")

clean: ## remove build output and caches
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache
