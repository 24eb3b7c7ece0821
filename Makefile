# Two commands matter: `make run` and `make test`. The rest are for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate demo serve worker check lint fmt types bench clean browser messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/verity migrate --noinput
	$(BIN)/verity createcachetable

demo: migrate
	$(BIN)/verity demo load --once

# Starts the web server and the background worker together; Ctrl-C stops both.
run: demo
	$(BIN)/verity collectstatic --noinput --verbosity 0
	$(BIN)/verity demo logins
	@echo "Verity is starting on http://$(HOST):$(PORT)/"
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/verity worker & \
	  $(BIN)/verity serve --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser journeys (Playwright's own download cannot work offline).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || (echo "Install Chromium (apt-get install chromium) to run the browser journeys" && exit 1)

test: install browser
	$(BIN)/pytest -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy verity config

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint types test
	$(BIN)/verity makemigrations --check --dry-run

messages: install
	cd verity && ../$(BIN)/verity compilemessages

bench: install
	$(BIN)/python benchmarks/http_load.py

clean:
	rm -rf $(VENV) var/*.sqlite3* staticfiles
