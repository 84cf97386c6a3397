# The two commands (README.md): `make demo` runs the main job, `make test` runs the tests.
# Each sets itself up on a fresh machine: creates .venv if missing and installs what is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui install clean bench bi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build on disk, so no later requirement can pull a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The Spark engine (optional extra `.[spark]`: pyspark and dbt-spark); `make test` adds it for the Spark leg.
SPARK_STAMP := $(VENV)/.spark-installed

$(SPARK_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

# The BI layer (bi/, Streamlit dashboards as code) and its browser test's driver. A failed install only
# skips the browser test (it prints why); it never fails `make test`.
BI_STAMP := $(VENV)/.bi-installed
BI_FILE ?= data/bi/cem_bi.duckdb
BI_PORT ?= 8501

$(BI_STAMP): bi/requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r bi/requirements.txt && touch $(BI_STAMP) || \
		echo "BI dependencies not installed (bi/requirements.txt): the browser test will be skipped."

# `python -m cem_cli`, not the `cem` script: the installed script may point at an older entry point.
# The daily job includes the ml group: the first demo builds the sentiment model (minutes on CPU).
# CEM_ENGINE=spark make demo adds the Spark extra first.
demo: $(STAMP) $(if $(filter spark,$(CEM_ENGINE)),$(SPARK_STAMP))
	$(BIN)/python -m cem_cli demo

test: $(STAMP) $(BI_STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest

# `make bi`: the CX dashboards on http://127.0.0.1:$(BI_PORT) against $(BI_FILE) (run `make demo` first).
bi: $(BI_STAMP)
	@test -f "$(BI_FILE)" || { echo "No BI file at $(BI_FILE). Run 'make demo' first (it publishes data/bi/cem_bi.duckdb), or pass BI_FILE=path."; exit 1; }
	@echo "CX dashboards on http://127.0.0.1:$(BI_PORT) (reading $(abspath $(BI_FILE))); Ctrl-C to stop."
	cd bi && CEM_BI_FILE="$(abspath $(BI_FILE))" ../$(BIN)/streamlit run app.py \
		--server.address 127.0.0.1 --server.port $(BI_PORT) --server.headless true --browser.gatherUsageStats false

ui: $(STAMP)
	$(BIN)/python -m cem_cli ui

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf data/ dbt_project/target dbt_project/logs
