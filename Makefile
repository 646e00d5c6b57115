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

CATALOGS := $(wildcard stickerreg/translations/*/LC_MESSAGES/messages.po)

.PHONY: run test test-fast test-scale bench bench-web lint extract translations install install-test chromium nginx clean kiosk-pair

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
install-test: $(VENV)/.installed-test translations chromium nginx

# Compiled catalogs are rebuilt only when their .po changed.
translations: $(CATALOGS:.po=.mo)

stickerreg/translations/%/LC_MESSAGES/messages.mo: stickerreg/translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel -q compile -l $* -i $< -o $@

chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# The scale-out test's front proxy (tests/scale); only its binary is used, on a port of its own.
nginx:
	@test -x /usr/sbin/nginx || command -v nginx >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y nginx; }

$(INSTANCE)/secret_key:
	@mkdir -p $(INSTANCE)
	@$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@
	@chmod 600 $@

# Every `flask` command finds instance/secret_key by itself when SECRET_KEY is unset.
run: install $(INSTANCE)/secret_key
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty
	$(FLASK) serve --host 127.0.0.1 --port 5000

# A one-time pairing link (15 minutes) for the demo desk that `make run` seeds.
kiosk-pair: install $(INSTANCE)/secret_key
	@$(FLASK) kiosk pair --desk "Hittegods Centralstationen"

# Lint first: a broken layer contract fails the run before any test starts.
test: lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

test-fast: lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup -m "not e2e"

# The scale-out proof on its own (make test runs it too; about 15 s): nginx in front of two
# gunicorn instances and two workers on PostgreSQL and Redis, one instance and one worker
# killed mid-load; prints the counts (requests, messages, emails, duplicates, errors).
test-scale: install-test
	$(BIN)/python -m pytest tests/scale -m scale -s -q

# Print-shop speed against naive baselines measured in the same run: the PDF engine
# (reportlab drawing every module) and minting (an ORM loop flushing every row); and
# whether a password-reset request for a known email is slower than for an unknown one;
# and what a kiosk photo and an oversized anonymous upload cost; and the outbox worker against
# a bare smtplib loop, one worker against two, and no email sent twice by two workers.
bench: install-test
	$(BIN)/python bench/bench_pdf.py --count 10000
	$(BIN)/python bench/bench_mint.py --count 10000
	$(BIN)/python bench/bench_reset_timing.py --requests 1000
	$(BIN)/python bench/bench_photo.py
	$(BIN)/python bench/bench_outbox.py --count 1000

# The finder's pages and messages under load (gunicorn, 2 sync workers, 8 clients, rate limits
# on) against bare Flask endpoints in the same run, on SQLite and on PostgreSQL when it answers;
# reads the messages back (none lost or doubled). See bench/README.md.
bench-web: install-test
	$(BIN)/python bench/bench_web.py

# ruff, and the import-linter contracts in pyproject.toml (layers, no cycles, no Flask
# in services, blueprints independent, the kiosk only through the app factory).
lint: install-test
	$(BIN)/ruff check stickerreg kiosk migrations tests bench deploy
	$(BIN)/lint-imports --no-cache

# Refresh the message catalogs after adding or changing user-facing text.
extract: | $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o stickerreg/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i stickerreg/translations/messages.pot -d stickerreg/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
