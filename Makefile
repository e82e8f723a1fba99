# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean ui ui-screenshots bench-ui

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -c constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m mainsail.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache  # the layers: .importlinter

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (the CI machine has 2 cores; most tests wait on servers and subprocesses);
# a test file stays on one worker, so module fixtures (a seeded server, a fleet) start once.
pytest: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/tracking.py

# The web UI: its sources are in ui/, the bundle in src/mainsail/ui/static is committed (so
# `make demo` and `make test` need no Node); rebuild it after changing ui/ (needs npm).
ui:
	cd ui && npm ci --no-audit --no-fund && node build.mjs

ui-screenshots: $(STAMP)
	MAINSAIL_UI_SCREENSHOTS=docs/ui $(BIN)/pytest -q tests/ui/test_pages.py -k renders

bench-ui: $(STAMP)
	$(BIN)/python bench/ui.py

clean:
	rm -rf $(VENV) .mainsail .pytest_cache .mypy_cache .ruff_cache ui/node_modules
