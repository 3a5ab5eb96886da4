# Two commands set everything up on a fresh machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install system-deps demo dev test typecheck lint bench refresh clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "Installing into $(VENV) (log: $(VENV)/install.log) …"
	@$(PY) -m pip install --disable-pip-version-check --upgrade pip > $(VENV)/install.log 2>&1
	@$(PY) -m pip install --disable-pip-version-check -e '.[test]' >> $(VENV)/install.log 2>&1 \
		|| (tail -30 $(VENV)/install.log; exit 1)
	@$(PY) -c "import release_assets, dagster, github, duckdb, sigstore, mypy"
	@touch $(STAMP)

install: $(STAMP)

## The whole graph on the bundled demo snapshot (recorded real GitHub data, offline), in the
## demo's own instance and data: data/demo/.
demo: $(STAMP)
	$(VENV)/bin/release-assets demo

## The Dagster UI (location `release_assets`): the demo's instance unless GITHUB_TOKEN or
## GITHUB_API_URL is set, then the real one (DAGSTER_HOME, as `make refresh` uses).
dev: $(STAMP)
	$(VENV)/bin/release-assets dev

## Against real GitHub: GITHUB_TOKEN=… make refresh CONFIG=release_assets.yaml
refresh: $(STAMP)
	$(VENV)/bin/release-assets refresh --config $${CONFIG:-release_assets.yaml}

## What the tests need beyond Python (Debian): chromium and the PostgreSQL server binaries.
## Installed with apt-get only if missing, saying so in one line.
system-deps:
	@.ci/system-deps

## The whole suite on this machine: lint, types, then pytest (PostgreSQL: a throwaway cluster
## the tests start themselves, or the server at RELEASE_ASSETS_TEST_POSTGRES_URL).
test: $(STAMP) system-deps lint typecheck
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check release_assets release_assets_tests benchmarks

## mypy, configured in pyproject.toml ([tool.mypy]): release_assets/ type-checks clean.
typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .dagster_home data test-artifacts
