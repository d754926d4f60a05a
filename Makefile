# Set-up and everyday targets. `make run` and `make test` create the virtual environment on first use.
PY ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/yinchuan-first-snow.yaml
PLAN ?= baseline
SEED ?= 7

.PHONY: setup run test validate lint bench clean

$(BIN)/claimsim: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench]'
	touch $(BIN)/claimsim

setup: $(BIN)/claimsim

run: setup
	$(BIN)/claimsim run $(SCENARIO) --plan $(PLAN) --seed $(SEED)

test: setup
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/python -m pytest -n 2

validate: setup
	$(BIN)/claimsim validate --workers 2

lint: setup
	$(BIN)/ruff check sim tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results/*/ .pytest_cache
