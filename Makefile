# Two commands on a fresh machine: `make run` and `make test`. Everything else follows.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app stickerreg
INSTANCE := instance
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pytest-xdist workers; two cores here, so two workers.
WORKERS ?= auto

.PHONY: run test test-fast bench lint extract translations install install-test chromium clean kiosk-pair

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres,redis]'
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres,redis]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations chromium

translations: | $(BIN)/python
	$(BIN)/pybabel -q compile -d stickerreg/translations

chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

$(INSTANCE)/secret_key:
	@mkdir -p $(INSTANCE)
	@$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@
	@chmod 600 $@

run: install $(INSTANCE)/secret_key
	SECRET_KEY=$$(cat $(INSTANCE)/secret_key) $(FLASK) init-db
	SECRET_KEY=$$(cat $(INSTANCE)/secret_key) $(FLASK) seed-demo --if-empty
	SECRET_KEY=$$(cat $(INSTANCE)/secret_key) $(FLASK) serve --host 127.0.0.1 --port 5000

# A one-time pairing link (15 minutes) for the demo desk that `make run` seeds.
kiosk-pair: install $(INSTANCE)/secret_key
	@SECRET_KEY=$$(cat $(INSTANCE)/secret_key) $(FLASK) kiosk pair --desk "Hittegods Centralstationen"

test: install-test
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

test-fast: install-test
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup -m "not e2e"

# Print-shop export speed against a naive reportlab baseline measured in the same run.
bench: install-test
	$(BIN)/python bench/bench_pdf.py --count 10000

lint: install-test
	$(BIN)/ruff check stickerreg kiosk migrations tests

# Refresh the message catalogs after adding or changing user-facing text.
extract: | $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o stickerreg/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i stickerreg/translations/messages.pot -d stickerreg/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
