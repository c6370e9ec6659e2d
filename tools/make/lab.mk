# Shared rules for every lab's Makefile (included by labs/<lab>/Makefile; GNU make 3.81+).
# Works from the lab folder: the lab's own venv at .venv, synced from the root uv.lock.

LAB := $(notdir $(CURDIR))
ROOT := $(abspath $(CURDIR)/../..)
VENV := $(CURDIR)/.venv
PACKAGE := $(shell sed -n 's/^name *= *"\(.*\)"/\1/p' pyproject.toml | head -n 1)
UV ?= $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := $(ROOT)/.buildcpg/bootstrap/bin/uv
endif
export UV_COMPILE_BYTECODE = 1
ARGS ?=

.PHONY: help sync run test inspect dbt env shell clean

help: ## show this help
	@echo "make targets for $(LAB) (pass extra arguments with ARGS=\"...\"):"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/:.*## /\t/' | expand -t 10

$(ROOT)/.buildcpg/bootstrap/bin/uv:
	$(MAKE) -C $(ROOT) uv

sync: $(UV) ## this lab's own venv (.venv), exactly as uv.lock says
	cd $(ROOT) && UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --package $(PACKAGE)

run: sync ## Check → Load → Transform → Test → Inspect (ARGS="--full-refresh", "--steps check,load")
	$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) run $(ARGS)

test: sync ## this lab's pytest suite (runs the pipeline on a temporary copy)
	$(VENV)/bin/python -m pytest tests $(ARGS)

inspect: ## tables and row counts, or ARGS="gold.<table>" for a column profile
	$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) inspect $(ARGS)

dbt: ## any dbt command on this lab's database, e.g. make dbt ARGS="ls --select marts"
	$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) dbt -- $(ARGS)

env: sync ## exports for `uv run`/`dbt` in your shell to use this lab's venv: eval "$(make -s env)"
	@$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) env

shell: sync ## a shell where `uv run dbt debug` and `dbt ...` use this lab's venv and database
	@eval "$$($(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) env)"; \
	echo "$(LAB): uv run and dbt now use $(VENV) (exit to leave)"; \
	exec "$${SHELL:-/bin/sh}"

clean: ## remove the database and dbt artifacts (never the raw data)
	rm -rf dbt/target dbt/logs
	rm -f data/*.duckdb data/*.duckdb.wal data/last_run.json
