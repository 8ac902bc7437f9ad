# Two commands on a fresh machine: `make run` and `make test`. Everything else builds on them.
# Installs come from the lock files (exact versions and hashes); `make lock` rewrites them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
LOCK := $(BIN)/uv pip compile pyproject.toml --group pyproject.toml:build --generate-hashes \
	--universal --python-version 3.11 --quiet --custom-compile-command 'make lock' $(LOCK_ARGS)
PYTEST_WORKERS ?= auto
CODE := server client_sdk schemas journeyboard tests bench

.PHONY: run test lint check fuzz bench lock schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What the server needs, then the project itself (built by the locked backend, no download).
$(VENV)/.run: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) install --require-hashes --no-deps -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# Tests, linters and the lock tool; enough on its own for `make lock`.
$(VENV)/.tools: requirements-dev.lock | $(BIN)/python
	$(PIP) install --require-hashes --no-deps -r requirements-dev.lock
	touch $@

run: $(VENV)/.run
	$(BIN)/journeyboard serve

test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.run $(VENV)/.tools
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "the installed packages do not match pyproject.toml: run make lock"; exit 1; }
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

check: test

# The long schemathesis run; `make test` runs a fixed, smaller budget of the same tests.
fuzz: $(VENV)/.run $(VENV)/.tools
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests/test_openapi_fuzz.py

bench: $(VENV)/.run $(VENV)/.tools
	$(BIN)/python -m bench.snapshot
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.catch_up
	$(BIN)/python -m bench.evidence
	$(BIN)/python -m bench.web

# After changing dependencies in pyproject.toml; `make lock LOCK_ARGS=--upgrade` moves every pin.
lock: $(VENV)/.tools
	$(LOCK) --extra dev -o requirements-dev.lock
	$(LOCK) -c requirements-dev.lock -o requirements.lock

schemas: $(VENV)/.run $(VENV)/.tools
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
