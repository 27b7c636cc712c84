VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint openapi bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# `make run PORT=8001` listens on another port.
run: $(STAMP)
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

# Not part of `make test`: about 30 minutes of load on 127.0.0.1; writes docs/benchmarks.md.
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
