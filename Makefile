# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
UV_VERSION ?= 0.13.9
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test check lint bench bench-alerts clean focus-validator

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

demo: install
	$(BIN)/orusage demo

# Everything CI checks: lint, types, layering, then the whole test suite.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

# The fast tier, while working: lint, types, contracts, and every test not marked browser or slow, on every
# core (pytest-xdist), in a random order (pytest-randomly prints its seed; replay an order with
# `make check PYTEST_ARGS=--randomly-seed=N`). About 9 minutes on 2 cores; `make test` stays what CI and the README run.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -m "not browser and not slow" -n auto -p randomly $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

# The official FOCUS validator in a virtualenv of its own (.venv-focus/); the tests make it when missing.
focus-validator: install
	$(BIN)/python -m tests.focus_validator

# `make bench SIZE=100M` adds a run at 100 M generation rows (it checks the free disk first).
bench: install
	$(BIN)/python -m bench $(if $(SIZE),--size $(SIZE))

bench-alerts: install  # the forecast's error and the anomaly detector's recall and false alerts, into the docs
	$(BIN)/python -m bench.alerts

clean:
	rm -rf $(VENV) .uv .venv-focus .pytest_cache .mypy_cache .ruff_cache
