# Two commands matter: `make run` and `make test`. The rest are for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate demo serve worker check lint fmt types bench bench-search clean browser messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "Python's venv module is missing: apt-get install python3-venv (Debian/Ubuntu)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# var/ (the SQLite database, static files) is not in git; a fresh clone has to create it.
migrate: install
	@mkdir -p "$${VERITY_VAR_DIR:-var}"
	$(BIN)/verity migrate --noinput
	$(BIN)/verity createcachetable

demo: migrate
	$(BIN)/verity demo load --once

# Starts the background worker and the web server (which collects static files first),
# prints the demo logins once the server answers, and stops both on Ctrl-C.
run: demo
	@$(BIN)/verity worker & worker=$$!; \
	  $(BIN)/verity serve --host $(HOST) --port $(PORT) & server=$$!; \
	  trap 'kill $$worker $$server 2>/dev/null; wait $$worker $$server 2>/dev/null' EXIT INT TERM; \
	  for i in $$(seq 120); do \
	    $(BIN)/python -c "import urllib.request as u; u.urlopen('http://$(HOST):$(PORT)/healthz', timeout=1)" \
	      2>/dev/null && break; sleep 0.5; done; \
	  $(BIN)/verity demo logins; \
	  echo; echo "Verity is running on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"; \
	  wait $$server

# The two halves of `make run`, for running them in separate terminals.
serve: migrate
	$(BIN)/verity serve --host $(HOST) --port $(PORT)

worker: migrate
	$(BIN)/verity worker

# Debian's Chromium drives the browser journeys (Playwright's own download cannot work offline).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || (echo "Install Chromium (apt-get install chromium) to run the browser journeys" && exit 1)

# PYTEST_ARGS passes extra options, e.g. `make test PYTEST_ARGS="-k search -x"`.
test: install browser
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

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

# HTTP load benchmark (needs wrk); writes nothing into var/, see docs/benchmarks.md.
bench: install
	$(BIN)/python benchmarks/http_load.py $(BENCH_ARGS)

# Search quality against bm25s on the BEIR collections in ../shared/data/search.
bench-search: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/search_quality.py

clean:
	rm -rf $(VENV) var/*.sqlite3* staticfiles
