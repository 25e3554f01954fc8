# Two commands do all set-up on a fresh machine (Python >= 3.10 and nothing else):
#   make demo   builds .venv and runs the three-stage demo on the embedded synthetic data
#   make test   builds .venv (with test tools and a browser), lints, builds the docs and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export SARTAIL_CACHE_DIR ?= $(CURDIR)/data/cache

.PHONY: demo test test-fast lint lab bench env env-dev browser docs docs-build clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

env: $(VENV)/.installed
env-dev: $(VENV)/.installed-dev

# Debian's Chromium for the real-browser notebook test (skipped, saying why, where it is absent)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the real-browser test will be skipped"; fi; }

demo: env
	$(BIN)/sartail demo --overwrite

# `lint` first (ruff, mypy, import-linter: the layers of sartail/, see ARCHITECTURE.md), then the strict docs
# build (its site/ is what the browser test opens), then the suite
test: env-dev browser lint docs-build
	$(BIN)/python -m pytest

# The documentation site (mkdocs.yml, docs/). `docs` serves it on http://127.0.0.1:8000 and rebuilds it on every
# edit (executed notebooks are cached in .cache/ until they change); `docs-build` builds site/ with --strict (a
# broken link, anchor or notebook fails it), executing every notebook afresh at its shipped settings.
# SARTAIL_DOCS_EXECUTE=false renders the notebooks without running them.
docs: env-dev
	SARTAIL_DOCS_CACHE=true $(BIN)/mkdocs serve

docs-build: env-dev
	$(BIN)/mkdocs build --strict

# lint and types (the same as .pre-commit-config.yaml): ruff (lint only), mypy on sartail/, the layers
lint: env-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test-fast: env-dev
	$(BIN)/python -m pytest -m "not slow and not browser"

lab: env
	$(BIN)/jupyter lab notebooks/

bench: env-dev
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_accuracy.py

clean:
	rm -rf $(VENV) runs data/cache site
