# Developer entry points. `make test` is the command the README and CI use.

VENV   := .venv
PYTHON := $(VENV)/bin/python
# Touched after a successful install; reinstall only when pyproject.toml is newer.
# STAMP: runtime and test dependencies (make test); RUNTIME: runtime dependencies only (make run).
STAMP   := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: install run test lint worker messages screenshots clean

install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install -e '.[test]'
	touch $@

# Running needs no test extras; an environment already installed for the tests has everything.
$(RUNTIME): pyproject.toml | $(PYTHON)
	[ $(STAMP) -nt pyproject.toml ] || $(PYTHON) -m pip install -e .
	touch $@

run: $(RUNTIME)
	$(VENV)/bin/connectors run

worker: $(RUNTIME)
	$(VENV)/bin/connectors worker

test: install
	$(PYTHON) -m pytest -n 2 -q

lint: install
	$(PYTHON) -m ruff --version >/dev/null 2>&1 || $(PYTHON) -m pip install ruff
	$(PYTHON) -m ruff check core plugins voice_tools tests benchmarks
	$(VENV)/bin/lint-imports

# Extract every marked message (Python, templates, scripts) into the catalogs, then compile them.
# Translate the new entries in core/translations/fr/LC_MESSAGES/messages.po and run it again.
BABEL := $(VENV)/bin/pybabel
CATALOGS := core/translations
messages: install
	$(BABEL) extract -F babel.cfg -k _l -k N_ -k t -k tn:1,2 --no-wrap --sort-by-file --project connector-platform \
		-o $(CATALOGS)/messages.pot .
	$(BABEL) update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-wrap --ignore-obsolete
	$(BABEL) compile -d $(CATALOGS) --statistics

# The screenshots in README.md and docs/dashboard.md, taken by the browser tests (in French).
screenshots: install
	SCREENSHOTS_DIR=docs/screenshots $(PYTHON) -m pytest -q tests/web

clean:
	rm -rf build .pytest_cache .ruff_cache *.egg-info $(STAMP) $(RUNTIME)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
