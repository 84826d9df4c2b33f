# The two set-up commands (README): `make run` and `make test`. Each creates .venv and installs
# everything first, on a fresh machine with nothing but Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint-imports browser bench bench-batching load soak eval clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lexiflow serve

lint-imports: $(STAMP)
	$(BIN)/lint-imports

# The web page's browser tests drive Debian's headless Chromium; installed here when missing and
# this user may (root, or password-less sudo). Without it those tests skip and say why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	    if [ "$$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	        echo "chromium/chromedriver missing and not root: the browser tests (tests/web) will skip"; exit 0; fi; \
	    command -v apt-get >/dev/null || { echo "no apt-get: the browser tests (tests/web) will skip"; exit 0; }; \
	    echo "installing chromium, chromium-driver and fonts-liberation for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    $$SUDO apt-get update -qq && \
	    $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null \
	        || echo "chromium install failed: the browser tests (tests/web) will skip"; \
	fi

test: $(STAMP) lint-imports browser
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/bench_api.py

bench-batching: $(STAMP)
	$(BIN)/python bench/bench_batching.py

load: $(STAMP)
	$(BIN)/python bench/load_test.py

soak: $(STAMP)
	$(BIN)/python bench/load_test.py --soak

eval: $(STAMP)
	$(BIN)/lexiflow eval classifier --model artifacts/classifier/trec-cnn
	$(BIN)/lexiflow eval classifier --model artifacts/classifier/mr-cnn
	$(BIN)/lexiflow eval seq2seq artifacts/seq2seq/en-es-attn --beam 1,5
	$(BIN)/lexiflow eval word2vec --shared-vocab --markdown
	$(BIN)/lexiflow eval senses

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache *.egg-info
