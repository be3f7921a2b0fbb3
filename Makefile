# sessionbook: `make run` serves the sandbox; `make test` runs everything CI checks.
# Dependencies install from uv.lock; uv itself lives in its own small venv (.venv-uv),
# because `uv sync` removes from .venv whatever the lock does not list.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
UV_STAMP := $(UV_VENV)/.uv-$(UV_VERSION)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
# uv uses the machine's python3 and never downloads an interpreter of its own.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install lock lock-check run test lint imports typecheck pytest format bench clean messages

$(UV_STAMP):
	rm -rf $(UV_VENV)
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'
	touch $(UV_STAMP)

# --locked: refuse to install when uv.lock no longer matches pyproject.toml (run `make lock`).
$(STAMP): pyproject.toml uv.lock $(UV_STAMP)
	$(UV) sync --locked --extra dev --python $(PYTHON)
	touch $(STAMP)

install: $(STAMP)

# After editing the dependencies in pyproject.toml: resolve them again into uv.lock.
lock: $(UV_STAMP)
	$(UV) lock --python $(PYTHON)

lock-check: $(UV_STAMP)
	$(UV) lock --check --python $(PYTHON)

run: $(STAMP)
	$(BIN)/sessionbook serve --host 127.0.0.1 --port 8000

IMPORT_CYCLES ?= ../shared/tools/import_cycles.py

lint: $(STAMP) imports
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# No import circle in src/, module or package level; the checker lives beside the repo (CI has it).
# CI sets REQUIRE_IMPORT_CHECK=1, so there a missing checker fails instead of being skipped.
imports:
	@if [ -f $(IMPORT_CYCLES) ]; then $(PYTHON) $(IMPORT_CYCLES) src; \
	elif [ "$(REQUIRE_IMPORT_CHECK)" = 1 ]; then echo "$(IMPORT_CYCLES) is missing" >&2; exit 1; \
	else echo "notice: $(IMPORT_CYCLES) not found; import circles not checked"; fi

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck pytest

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Translations: extract every gettext string of the code and pages into the template (.pot,
# kept in git so a review shows what changed), then merge it into each language's .po.
# The .po files are the catalogs themselves (read and compiled in memory at run time).
LOCALES := src/sessionbook/locales
messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file=babel.cfg --keywords=_ --keywords=ngettext:1,2 \
		--keywords=pgettext:1c,2 --keywords=npgettext:1c,2,3 --no-location --no-wrap \
		--project=sessionbook --copyright-holder=sessionbook \
		--output-file=$(LOCALES)/messages.pot src/sessionbook
	$(BIN)/pybabel update --input-file=$(LOCALES)/messages.pot --output-dir=$(LOCALES) \
		--domain=messages --locale=fr --no-wrap --ignore-obsolete --no-fuzzy-matching

bench: $(STAMP)
	$(BIN)/python -m bench.run --short

clean:
	rm -rf $(VENV) $(UV_VENV) sessionbook.db sessionbook.db-wal sessionbook.db-shm
