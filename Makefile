# Two commands on a fresh machine: `make run` and `make test`. Everything else builds on them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint check bench schemas clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/journeyboard serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check server client_sdk schemas journeyboard tests bench
	$(BIN)/ruff format --check server client_sdk schemas journeyboard tests bench
	$(BIN)/mypy

check: lint test

bench: $(STAMP)
	$(BIN)/python -m bench.snapshot
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.catch_up
	$(BIN)/python -m bench.evidence

schemas: $(STAMP)
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
