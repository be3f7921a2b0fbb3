# sessionbook: `make run` serves the sandbox; `make test` runs everything CI checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install run test lint imports typecheck pytest format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sessionbook serve --host 127.0.0.1 --port 8000

IMPORT_CYCLES ?= ../shared/tools/import_cycles.py

lint: $(STAMP) imports
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# No import circle in src/, module or package level; the checker lives beside the repo (CI has it).
imports:
	@if [ -f $(IMPORT_CYCLES) ]; then $(PYTHON) $(IMPORT_CYCLES) src; \
	else echo "notice: $(IMPORT_CYCLES) not found; import circles not checked"; fi

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck pytest

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.run --short

clean:
	rm -rf $(VENV) sessionbook.core.db sessionbook.core.db-wal sessionbook.core.db-shm
