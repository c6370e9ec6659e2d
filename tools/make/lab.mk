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
# After the root `make run` bootstrapped uv into .buildcpg/bootstrap there is no `uv` on your PATH:
# `make env` / `make shell` then also put a folder holding only that uv on PATH (not the bootstrap's
# bin/, whose python and pip would come first), so `uv run dbt debug` works in this lab's shell.
UV_DIR := $(ROOT)/.buildcpg/uv-bin
UV_EXPORT = command -v uv >/dev/null 2>&1 || { mkdir -p "$(UV_DIR)" && ln -sf "$(UV)" "$(UV_DIR)/uv" && \
	echo "export PATH='$(UV_DIR)':\"\$$PATH\""; }

.PHONY: help sync run test inspect dbt dbt-debug env shell clean

help: ## show this help
	@echo "make targets for $(LAB) (pass extra arguments with ARGS=\"...\"):"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/:.*## /\t/' | expand -t 11
	@echo ""
	@echo "dbt by hand here: make dbt ARGS=debug, or make shell (or eval \"\$$(make -s env)\") and then"
	@echo "dbt debug / uv run dbt debug use this lab's venv. A bare \`uv run\` here without them would use the"
	@echo "workspace root venv (no dbt; see docs/environments.md)."

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

dbt: ## any dbt command on this lab's database, e.g. make dbt ARGS=debug, ARGS="ls --select marts"
	$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) dbt -- $(ARGS)

dbt-debug: sync ## dbt debug with this lab's venv, profile and database (what `uv run dbt debug` means here)
	$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) dbt -- debug

env: sync ## exports for `uv run`/`dbt` in your shell to use this lab's venv: eval "$(make -s env)"
	@$(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) env
	@$(UV_EXPORT)

shell: sync ## a shell where `uv run dbt debug` and `dbt ...` use this lab's venv and database
	@eval "$$($(VENV)/bin/buildcpg-lab --lab-dir $(CURDIR) env)"; eval "$$($(UV_EXPORT))"; \
	echo "$(LAB): uv run and dbt now use $(VENV) (exit to leave)"; \
	exec "$${SHELL:-/bin/sh}"

clean: ## remove the database and dbt artifacts (never the raw data)
	rm -rf dbt/target dbt/logs
	rm -f data/*.duckdb data/*.duckdb.wal data/last_run.json
