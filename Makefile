# thidua-sync — the two commands of a fresh machine are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_STAMP := $(VENV)/.lint-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo test test-unit wheel-check lint services-up services-down services-env schemas-check vendor-docs-ui clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP) ## Create/refresh the virtualenv .venv with the project and its test tools

run: $(STAMP) ## Run the node on the embedded default (SQLite under ./var, projections in-process)
	$(BIN)/thidua db upgrade
	$(BIN)/thidua serve --host $(HOST) --port $(PORT)

demo: $(STAMP) ## Load the simulated year into the node's own database (empty); `make run` shows it (before or after)
	$(BIN)/thidua db upgrade
	$(BIN)/thidua demo --into-node

test: $(STAMP) ## Whole suite; starts local PostgreSQL + Kafka for the run unless THIDUA_* say where they are
	bash infra/with-services.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP) ## Unit and contract tests only (no services)
	$(BIN)/python -m pytest -m "unit or contract" $(PYTEST_ARGS)

wheel-check: ## Build the wheel, install it into a fresh virtualenv outside the checkout and check it works (CI)
	$(PYTHON) infra/wheel_check.py

$(LINT_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e ".[test,dev]"
	touch $(LINT_STAMP)

lint: $(LINT_STAMP) ## ruff (rules in pyproject.toml; the formatter's check), mypy --strict, and the layer check (import-linter; CI runs it)
	$(BIN)/ruff check services projections bench tests
	$(BIN)/ruff format --check services projections bench tests infra setup.py
	$(BIN)/mypy --strict services projections bench
	$(BIN)/lint-imports --no-cache

services-up: $(STAMP) ## Start local PostgreSQL + Kafka (no Docker) and print the THIDUA_* variables
	bash infra/services.sh up

services-down: ## Stop what services-up started
	bash infra/services.sh down

services-env: ## Print the THIDUA_* variables of running local services
	bash infra/services.sh env

schemas-check: $(STAMP) ## Compatibility of every Avro contract with its history
	$(BIN)/thidua schemas check

vendor-docs-ui: ## Refresh the offline /docs and /redoc assets from npm (versions: infra/vendor-docs-ui.sh)
	bash infra/vendor-docs-ui.sh

clean: ## Remove the virtualenv, build outputs and local data
	rm -rf $(VENV) var infra/kafka/target infra/avro-java/target .pytest_cache .hypothesis

.PHONY: bench-quick
bench-quick: $(STAMP) ## A small version of every benchmark in under two minutes (services as for make test)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	bash infra/with-services.sh bash bench/quick.sh
