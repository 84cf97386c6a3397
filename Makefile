# The two commands (README.md): `make demo` runs the main job, `make test` runs the tests.
# Each sets itself up on a fresh machine: creates .venv if missing and installs what is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui install clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build on disk, so no later requirement can pull a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cem demo

test: $(STAMP)
	$(BIN)/python -m pytest

ui: $(STAMP)
	$(BIN)/cem ui

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf data/ dbt_project/target dbt_project/logs
