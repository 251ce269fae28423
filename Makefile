# The two commands: `make run` serves the demo shop, `make test` lints and runs every test.
VENV := .venv
PYTHON := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint audit install install-dev serve bench clean

MAIL_SINK_PORT ?= 8025

# Without SHOP_MAIL_SERVER, emails go to a local SMTP sink that prints them in this terminal.
# Links in emails use SHOP_BASE_URL, by default the address served here. Emails come from
# SHOP_MAIL_DEFAULT_SENDER, by default an address of the reserved .localhost domain, under the shop's name.
run: install-dev
	$(FLASK) db upgrade
	@if $(FLASK) shop is-empty; then $(FLASK) shop seed-demo; fi
	@echo "Serving the shop on http://$(HOST):$(PORT) (Ctrl+C stops it)"
	@export SHOP_ENV="$${SHOP_ENV:-development}" SHOP_BASE_URL="$${SHOP_BASE_URL:-http://$(HOST):$(PORT)}" \
		SHOP_MAIL_DEFAULT_SENDER="$${SHOP_MAIL_DEFAULT_SENDER:-orders@shop.localhost}"; \
	if [ -z "$$SHOP_MAIL_SERVER" ]; then \
		echo "Emails are printed here (SMTP sink on 127.0.0.1:$(MAIL_SINK_PORT))"; \
		$(PYTHON) -m aiosmtpd -n -c aiosmtpd.handlers.Debugging -l 127.0.0.1:$(MAIL_SINK_PORT) & \
		trap "kill $$! 2>/dev/null" EXIT INT TERM; \
		export SHOP_MAIL_SERVER=127.0.0.1 SHOP_MAIL_PORT=$(MAIL_SINK_PORT); \
	fi; \
	$(VENV)/bin/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT)

# Style (ruff) and types (mypy on shop/), configured in pyproject.toml; make test runs it first.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The browser tests inject axe-core from npm; `npm ci` installs the locked version once per lockfile change.
AXE := tests/browser/node_modules/axe-core/axe.min.js
LIGHTHOUSE := bench/lighthouse/node_modules/.bin/lighthouse
NPM_MISSING := npm is missing: install Node.js and npm (Debian: apt-get install npm), then run make again

# Debian's Chromium and npm for the browser tests: installed with apt when make runs as root,
# otherwise make stops at once with the one command to run.
.PHONY: browser-tools
browser-tools:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing$$missing with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "The browser tests need$$missing: run  sudo apt-get install -y$$missing  then make test again"; exit 1; \
		fi; \
	fi

test: browser-tools $(AXE) lint
	@echo "== tests on SQLite =="
	TEST_DATABASE_URL= $(PYTHON) -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== tests on Postgres ($$TEST_DATABASE_URL) =="; \
		$(PYTHON) -m pytest; \
	fi

$(AXE): tests/browser/package.json tests/browser/package-lock.json | browser-tools
	cd tests/browser && npm ci --no-audit --no-fund
	touch $@

# Lighthouse (mobile) on the home, a category and a product page of a seeded demo shop served by
# gunicorn; prints the four scores per page. Needs Chromium (/usr/bin/chromium, or CHROME_PATH).
audit: $(LIGHTHOUSE) install-dev
	$(PYTHON) bench/lighthouse_audit.py

$(LIGHTHOUSE): bench/lighthouse/package.json bench/lighthouse/package-lock.json
	@command -v npm >/dev/null || { echo "$(NPM_MISSING)"; exit 1; }
	cd bench/lighthouse && npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# Storefront throughput under wrk (installed from Debian when missing, as root) as a share of a bare Flask ceiling
# app (bench/ceiling/), gunicorn 2 sync workers, anonymous, with a cart and logged in, at each catalogue size;
# prints a table per size against issue 14's targets and writes it to bench/results/speed-<db>.md.
# DB=sqlite (temporary files) or DB=postgres (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/shop_bench,
# which it empties); SIZES=1000,10000,50000 and DURATION=10 (seconds a page) by default. About 15 minutes.
bench: install-dev
	$(PYTHON) bench/speed.py --db $(or $(DB),sqlite) $(if $(SIZES),--sizes $(SIZES)) \
		$(if $(DURATION),--duration $(DURATION)) $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

# A 10,000-row catalogue CSV import on SQLite (target 30 s) and the export's memory on 50,000 rows.
.PHONY: bench-import
bench-import: install-dev
	$(PYTHON) bench/import_csv.py

# Searches with two filters, facets included, on a 50,000-product demo catalogue (target p95 50 ms):
# DB=sqlite (a temporary file) or DB=postgres (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/shop_bench,
# which it empties); PRODUCTS=50000 by default.
.PHONY: bench-search
bench-search: install-dev
	$(PYTHON) bench/search_speed.py --db $(or $(DB),sqlite) --products $(or $(PRODUCTS),50000) \
		$(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

# The admin dashboard and a 90-day sales report on 100,000 orders (target p95 300 ms): DB=sqlite (a temporary
# file) or DB=postgres (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/shop_bench, which it
# empties); ORDERS=100000 by default.
.PHONY: bench-reports
bench-reports: install-dev
	$(PYTHON) bench/reports_speed.py --db $(or $(DB),sqlite) --orders $(or $(ORDERS),100000) \
		$(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

clean:
	rm -rf $(VENV) .pytest_cache tests/browser/node_modules bench/lighthouse/node_modules

# An external web scanner against a locally served demo shop; prints each finding and exits non-zero on any.
.PHONY: scan
scan: install-dev
	$(PYTHON) bench/scan.py

# Builds the Docker image and runs `flask shop check` in it with Postgres and Redis (skips without Docker).
.PHONY: docker-check
docker-check:
	bash bench/docker_check.sh
