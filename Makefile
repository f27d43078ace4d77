# The two commands a newcomer needs: `make demo` and `make test`.
# Each builds .venv from pyproject.toml first, so a fresh Debian 12 with Python 3.11 is enough.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo serve test lint check-browser bench faults prompts schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/hotline demo

serve: install
	$(BIN)/hotline serve

# Browser tests drive Debian's Chromium; install it when missing and we may (root).
check-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing and we are not root: browser tests will be skipped"; \
	  fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install check-browser lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench

# Calls under AMI cuts, counted against the PBX simulator's own record (bench/faults.py).
faults: install
	$(BIN)/python -m bench.faults

prompts: install
	$(BIN)/python -m ivr.prompts.regenerate

# After adding a migration: rewrite database/schema.sql and add the file to migrations.lock.
schema: install
	$(BIN)/python -m database.schema

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
