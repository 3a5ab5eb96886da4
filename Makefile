# Two commands set everything up on a fresh machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DEMO_DB := $(CURDIR)/data/demo/release_assets.duckdb

.PHONY: install demo dev test lint bench refresh clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "Installing into $(VENV) (log: $(VENV)/install.log) …"
	@$(PY) -m pip install --disable-pip-version-check --upgrade pip > $(VENV)/install.log 2>&1
	@$(PY) -m pip install --disable-pip-version-check -e '.[test]' >> $(VENV)/install.log 2>&1 \
		|| (tail -30 $(VENV)/install.log; exit 1)
	@$(PY) -c "import release_assets, dagster, github, duckdb, sigstore"
	@touch $(STAMP)

install: $(STAMP)

## The whole graph on the bundled demo snapshot (recorded real GitHub data, offline).
demo: $(STAMP)
	RELEASE_ASSETS_DB=$${RELEASE_ASSETS_DB:-$(DEMO_DB)} $(VENV)/bin/release-assets demo

## The Dagster UI on the same instance and data (demo replay server unless GITHUB_TOKEN is set).
dev: $(STAMP)
	RELEASE_ASSETS_DB=$${RELEASE_ASSETS_DB:-$(DEMO_DB)} $(VENV)/bin/release-assets dev

## Against real GitHub: GITHUB_TOKEN=… make refresh CONFIG=release_assets.yaml
refresh: $(STAMP)
	$(VENV)/bin/release-assets refresh --config $${CONFIG:-release_assets.yaml}

test: $(STAMP)
	$(VENV)/bin/ruff check release_assets release_assets_tests benchmarks
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check release_assets release_assets_tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .dagster_home data test-artifacts
