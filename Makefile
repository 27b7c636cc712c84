VENV := .venv
PY := $(VENV)/bin/python
# Each target installs what it needs: the server alone for `make run`, then the test and lint
# tools (and the application-side extras the tests use) for everything else.
SERVER_STAMP := $(VENV)/.installed-server
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint openapi bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(SERVER_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[server]'
	touch $(SERVER_STAMP)

# The test set includes the server's: once it is installed, so is the server's.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(SERVER_STAMP)

# `make run PORT=8001` listens on another port.
run: $(SERVER_STAMP)
	$(VENV)/bin/hookline serve --dev $(if $(PORT),--port $(PORT))

test: $(STAMP)
	$(PY) -m pytest -q

# The edit loop: unit and integration tests on SQLite only (no PostgreSQL, no server processes).
test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit tests/integration -m "not postgres and not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check hookline tests
	$(VENV)/bin/ruff format --check hookline tests
	$(VENV)/bin/mypy

# Not part of `make test`: about 15 minutes of load on 127.0.0.1; writes docs/benchmarks.md.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	BENCH_COMMAND="make bench" $(PY) -m bench --out docs/benchmarks.md

openapi: $(STAMP)
	$(PY) -m hookline.api.openapi > docs/openapi.json

clean:
	rm -rf $(VENV) .hookline .pytest_cache .mypy_cache .ruff_cache
