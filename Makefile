# Two commands do all set-up: `make run` (the service on its embedded default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes (idempotent).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/papermail up

demo: $(STAMP)
	$(BIN)/papermail demo

# Types first: a type error fails the test command (and so CI) before any test runs.
typecheck: $(STAMP)
	$(BIN)/mypy

test: typecheck
	$(BIN)/python -m tests.browser_setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/match.py

clean:
	rm -rf $(VENV) var .pytest_cache
