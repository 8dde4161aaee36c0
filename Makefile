# Developer entry points. `make test` is the command the README and CI use.

VENV   := .venv
PYTHON := $(VENV)/bin/python
# Touched after a successful install; reinstall only when pyproject.toml is newer.
# STAMP: runtime and test dependencies (make test); RUNTIME: runtime dependencies only (make run).
STAMP   := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: install run test lint worker clean

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

clean:
	rm -rf build .pytest_cache .ruff_cache *.egg-info $(STAMP) $(RUNTIME)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
