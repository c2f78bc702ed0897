# The two commands of the README: `make run` (try it locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test install install-test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

## Install, migrate an SQLite database, load demo data and serve on http://127.0.0.1:$(PORT) (make run PORT=8600)
PORT ?= 8000
HOST ?= 127.0.0.1
run: install
	$(BIN)/yumiao quickstart --host $(HOST) --port $(PORT)

## Install the test extras and run the whole suite against PostgreSQL (YUMIAO_TEST_DATABASE_URL)
test: install-test
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## mypy over app/: strict on the pure engines, elsewhere no error beyond .ci/mypy-baseline.txt
typecheck: install-test
	$(BIN)/python .ci/mypy_baseline.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
