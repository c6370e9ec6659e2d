# BuildCPG Labs — root Makefile (GNU make 3.81+, macOS and Linux).
#   make run    set everything up (installs uv if missing) and run every lab on its sample data
#   make test   the whole test matrix (tox: shared library, every lab, lint, docs)
# Each lab has its own Makefile too: cd labs/<lab> && make help

PYTHON ?= python3
BOOTSTRAP := $(CURDIR)/.buildcpg/bootstrap
UV ?= $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := $(BOOTSTRAP)/bin/uv
endif
# what `make run` says last when uv is not on PATH: `uv run dbt ...` in a lab folder would then fail
UV_HINT = command -v uv >/dev/null 2>&1 || printf '%s\n' '' \
	'uv is not on your PATH (make installed it into .buildcpg/bootstrap): `uv run dbt debug` in a lab folder fails.' \
	'Inside labs/<lab> type instead:' \
	'  make dbt ARGS=debug        any dbt command with the lab venv, profile and database' \
	'  make shell                 a shell where dbt and uv run use the lab venv (exit to leave)' \
	'  eval "$$(make -s env)"      the same in the current shell (direnv: docs/environments.md)'
# .pyc compiled at install time: dbt imports hundreds of modules (see docs/environments.md)
export UV_COMPILE_BYTECODE = 1
JOBS ?= 0
LAB ?=

.PHONY: help uv sync run test lint docs docs-serve doctor report bench bench-inspector bench-forecast bench-forecast-rolling clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/:.*## /\t/' | expand -t 14

uv: $(UV) ## install uv (from PyPI, with pip, into .buildcpg/bootstrap) if it is missing

$(BOOTSTRAP)/bin/uv:
	@echo "uv not found: installing it into $(BOOTSTRAP) (pip, from PyPI)"
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.9"

sync: uv ## root venv (CLI + dev tools) and every lab's own venv, all --locked
	$(UV) sync --locked
	$(UV) run --locked buildcpg sync

# not `run: sync`: `buildcpg run --all` syncs each stale lab venv itself, and a lab that cannot be
# synced fails alone (one line) while the other labs run (docs/troubleshooting.md)
run: uv ## run every lab (concurrently) on the data in its data/raw; each lab's venv is synced first
	$(UV) sync --locked
	@echo "$(UV) run --locked buildcpg run --all --jobs $(JOBS)"
	@$(UV) run --locked buildcpg run --all --jobs $(JOBS); status=$$?; $(UV_HINT); exit $$status

test: uv ## the whole tox matrix: buildcpg-shared, each lab in its own env, lint, docs
	$(UV) sync --locked
	$(UV) run --locked tox run

lint: uv ## ruff check and ruff format --check (as the lint env of make test)
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .

docs: uv ## build the docs site (strict)
	$(UV) run --locked mkdocs build --strict

docs-serve: uv ## serve the docs on http://127.0.0.1:8000
	$(UV) run --locked mkdocs serve

doctor: uv ## check lock, lab venvs, isolation and profiles
	$(UV) run --locked buildcpg doctor

report: uv ## write the HTML report of every lab to .buildcpg/report.html (open it from disk)
	$(UV) run --locked buildcpg report

bench: sync ## benchmarks, ratios measured side by side (BENCH_ARGS="--trials 5 --rows 1000000")
	$(UV) run --locked python tools/bench/bench_lab_runner.py $(BENCH_ARGS)
	$(UV) run --locked python tools/bench/bench_labs.py
	$(UV) run --locked python tools/bench/bench_platform.py
	$(UV) run --locked python tools/bench/bench_report.py

new-lab: uv ## a new lab from the template, locked and synced: NAME=lab<N>_<words> [FROM_DBT=dbt/project GOLD=marts]
	@test -n "$(NAME)" || { echo "usage: make new-lab NAME=lab<N>_<words> [FROM_DBT=path/to/dbt/project]"; exit 2; }
	$(UV) sync --locked
	$(UV) run --locked buildcpg new-lab $(NAME) $(if $(FROM_DBT),--from-dbt $(FROM_DBT),) $(if $(GOLD),--gold $(GOLD),)

bench-inspector: uv ## DataInspector vs a bare SQL pass, SUMMARIZE and pandas (BENCH_ARGS="--rows 10000000")
	$(UV) sync --locked
	$(UV) run --locked python tools/bench/bench_inspector.py $(BENCH_ARGS)

bench-forecast: uv ## lab 2: shipped model vs seasonal naive vs AutoETS, and 1,000 weekly series timed (lab 2's venv)
	$(UV) run --locked buildcpg sync lab2_forecast_model
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/labs/lab2_forecast_model/.venv \
		$(UV) run --locked --package lab2-forecast-model python tools/bench/bench_forecast.py $(BENCH_ARGS)

bench-forecast-rolling: uv ## lab 2: shipped vs seasonal naive over many final windows, selection rules replayed (lab 2's venv)
	$(UV) run --locked buildcpg sync lab2_forecast_model
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/labs/lab2_forecast_model/.venv \
		$(UV) run --locked --package lab2-forecast-model python tools/bench/bench_forecast_rolling.py $(BENCH_ARGS)

clean: ## remove venvs, tox envs, lab databases and dbt artifacts (never raw data)
	rm -rf .venv .tox .buildcpg labs/*/.venv labs/*/dbt/target labs/*/dbt/logs site
	rm -f labs/*/data/*.duckdb labs/*/data/*.duckdb.wal labs/*/data/last_run.json
