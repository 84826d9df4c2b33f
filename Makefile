# The two set-up commands (README): `make run` and `make test`. Each creates .venv and installs
# everything first, on a fresh machine with nothing but Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint-imports bench eval clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lexiflow serve

lint-imports: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP) lint-imports
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/bench_api.py

eval: $(STAMP)
	$(BIN)/lexiflow eval classifier --data trec
	$(BIN)/lexiflow eval seq2seq

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache *.egg-info
