# Two entry points for a fresh machine with Python 3.11+, pip and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
READY := $(VENV)/.kanalytics-ready

.PHONY: demo test lint typecheck unit docs clean

$(READY): pyproject.toml uv.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv sync --frozen --inexact --quiet --all-extras
	@touch $@

demo: $(READY)  ## generate a synthetic month, ingest it, run the catalog, write the report
	$(VENV)/bin/kanalytics demo

test: lint typecheck unit  ## everything CI runs

lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(READY)
	$(VENV)/bin/mypy

unit: $(READY)
	$(VENV)/bin/pytest -n 2 -q

docs: $(READY)  ## regenerate docs/cli.md and docs/queries.md (tests check they are current)
	$(VENV)/bin/python -m kanalytics.docgen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache kanalytics-demo
