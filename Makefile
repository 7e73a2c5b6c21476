# Entry points named in the README. Every target installs what it needs first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
ENV ?= dev
BOOTSTRAP := $(VENV)/.installed
# jsii warns on every start that Node 20 is past end of life; it is only a warning.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help bootstrap test lint fmt typecheck synth validate plan check lint-workflows package docs \
	up down demo e2e bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(BOOTSTRAP): pyproject.toml scripts/bootstrap.sh
	@bash scripts/bootstrap.sh

bootstrap: $(BOOTSTRAP) ## install Debian packages if missing, the venv and Python packages

test: $(BOOTSTRAP) ## run lint, type checks and the whole test suite (starts and stops its servers)
	@$(MAKE) --no-print-directory lint typecheck
	@$(PY) -m pytest

lint: $(BOOTSTRAP) ## ruff lint and format check
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

fmt: $(BOOTSTRAP) ## format the code
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

typecheck: $(BOOTSTRAP) ## mypy over the whole repository
	@$(VENV)/bin/mypy .

synth: $(BOOTSTRAP) ## synthesize every environment into cdktf.out/
	@$(PY) main.py

validate: $(BOOTSTRAP) ## terraform init (provider mirror) and validate every stack
	@$(PY) -m scripts.tf validate

plan: $(BOOTSTRAP) ## offline terraform plan of ENV (default dev), with its JSON
	@$(PY) -m scripts.tf plan --env $(ENV)

check: $(BOOTSTRAP) ## policy gate: checkov + platform checks on offline plans of every environment
	@$(PY) -m scripts.policy_gate --refresh-plans
	@$(MAKE) --no-print-directory lint-workflows

lint-workflows: $(BOOTSTRAP) ## lint .github with check-jsonschema, zizmor and repository rules
	@$(PY) -m scripts.lint_workflows

package: $(BOOTSTRAP) ## build the Lambda layer and code zips under build/lambda
	@$(PY) -m scripts.package_lambdas

docs: $(BOOTSTRAP) ## regenerate the README's architecture picture and environments table
	@$(PY) -m scripts.docs

bench: $(BOOTSTRAP) ## every benchmark against the local platform; figures to .local/bench.json
	@$(PY) -m scripts.bench

e2e: $(BOOTSTRAP) ## the end-to-end test of make demo alone (a few minutes)
	@$(PY) -m pytest -m e2e tests/e2e

demo: $(BOOTSTRAP) ## the whole platform on this machine: plan, deploy to the emulator, tenants, usage
	@$(PY) -m scripts.demo

up: $(BOOTSTRAP) ## start the local platform (PostgreSQL + moto_server) and write .local/platform.env
	@$(PY) -m scripts.local_platform up

down: $(BOOTSTRAP) ## stop the local platform
	@$(PY) -m scripts.local_platform down

clean: ## remove generated output (keeps the venv and .local data)
	@rm -rf cdktf.out build
