# Set-up and everyday targets. `make run` and `make test` create the virtual environment on first use.
PY ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/yinchuan-first-snow.yaml
PLAN ?= baseline
SEED ?= 7

.PHONY: setup browser run test validate regress tabletop lint bench clean

$(BIN)/claimsim: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench,tabletop]'
	touch $(BIN)/claimsim

setup: $(BIN)/claimsim

run: setup
	$(BIN)/claimsim run $(SCENARIO) --plan $(PLAN) --seed $(SEED)

# Debian's chromium for the tabletop page's browser test (Playwright drives it; it downloads no browser).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/python -m pytest -n 2

validate: setup
	$(BIN)/claimsim validate --workers 2

regress: setup
	$(BIN)/claimsim regress --workers 2 --junit results/regress/junit.xml --report results/regress/report.md

# The shipped exercise (docs/TABLETOP.md); EXERCISE=path/to/exercise.yaml for another.
EXERCISE ?= scenarios/exercises/city-blizzard-morning/exercise.yaml
tabletop: setup
	$(BIN)/claimsim tabletop --exercise $(EXERCISE)

lint: setup
	$(BIN)/ruff check sim tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results/*/ .pytest_cache
