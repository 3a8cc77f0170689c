# Every target sets itself up: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG_DIR ?= config
PYTEST_ARGS ?=

.PHONY: help venv demo test lint format run bench clean

help:
	@echo "make demo   - offline demo: emulated Slack + scripted Gemini + demo cluster"
	@echo "make test   - lint + the whole test suite"
	@echo "make lint   - ruff check + ruff format --check"
	@echo "make run    - tarsy serve with the config in $(CONFIG_DIR)/"
	@echo "make bench  - run every benchmark in benchmarks/ (prints JSON figures)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/tarsy demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

run: $(STAMP)
	$(BIN)/tarsy serve --config-dir $(CONFIG_DIR)

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
