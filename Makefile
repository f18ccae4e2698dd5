# Makefile for the ATL06 tutorial (GNU make). Run `make` or `make help` for the list of targets.

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
DATA_DIR ?= $(or $(IS2_DATA_DIR),data)
BUILD    := build

# Recipes (and the notebooks they run) find the data through IS2_DATA_DIR, as an absolute path.
override IS2_DATA_DIR := $(abspath $(DATA_DIR))
export IS2_DATA_DIR

STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv sample tutorial book linkcheck lab test test-unit lint bench images clean distclean

help:
	@echo "ATL06 tutorial - make targets:"
	@echo "  tutorial   create .venv, generate the sample, execute every notebook into $(BUILD)/tutorial/"
	@echo "  test       create .venv and run the test suite (extra pytest options: PYTEST_ARGS=...)"
	@echo "  test-unit  run the fast unit layer only (tests/unit and the docstring examples, seconds)"
	@echo "  book       build the tutorial as a website into $(BUILD)/book/ (reuses $(BUILD)/tutorial/)"
	@echo "  linkcheck  list the website's external links (FETCH=1: also check them, online)"
	@echo "  venv       create .venv and install the project with its test and book tools (no-op when up to date)"
	@echo "  sample     generate the synthetic ATL06 sample into $(DATA_DIR)/"
	@echo "  lab        open JupyterLab on notebooks/"
	@echo "  lint       run ruff on the Python code and mypy on helpers/ (make test runs both too)"
	@echo "  bench      run the benchmarks in bench/"
	@echo "  images     regenerate the figures in images/"
	@echo "  clean      remove $(BUILD)/, caches and *.egg-info"
	@echo "  distclean  clean, then also remove .venv and the data folder ($(DATA_DIR))"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "error: $(PYTHON) is older than Python 3.11; run e.g. make PYTHON=python3.12" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[book]'
	# Test tools go in against the versions just resolved: resolved together with them, moto's
	# boto3 and s3fs's aiobotocore pin botocore apart and pip backtracks for many minutes.
	$(PY) -m pip freeze --exclude-editable > $(VENV)/resolved.txt
	$(PY) -m pip install -e '.[test,book]' -c $(VENV)/resolved.txt
	$(PY) -m ipykernel install --sys-prefix --name atl06-tutorial --display-name "ATL06 tutorial (.venv)"
	touch $@

sample: venv
	$(PY) -m helpers.sample --out "$(DATA_DIR)"

tutorial: venv sample
	$(PY) -m helpers.devtools.tutorial --out $(BUILD)/tutorial

book: venv sample
	$(PY) -m helpers.devtools.book --out $(BUILD)/book --executed $(BUILD)/tutorial

linkcheck: book
	$(PY) -m helpers.devtools.book links --out $(BUILD)/book $(if $(FETCH),--fetch)

lab: venv sample
	$(VENV)/bin/jupyter lab notebooks/

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest -m unit -q $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

bench: venv
	@set -e; found=0; \
	for f in bench/bench_*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; $(PY) "$$f"; \
	done; \
	[ $$found = 1 ] || echo "No benchmarks yet (bench/bench_*.py)."

images: venv
	$(PY) -m helpers.devtools.images --out images

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
	@case "$(IS2_DATA_DIR)" in \
	  /|"$(HOME)"|"$(CURDIR)") echo "refusing to remove data folder $(IS2_DATA_DIR)" >&2; exit 1;; \
	esac
	rm -rf "$(IS2_DATA_DIR)"
