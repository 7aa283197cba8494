# The two commands: `make run` and `make test`. The rest serve them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Tests run with debug off, as in production; these values are for tests only
# (the test client speaks plain http; tests that check the https redirect turn it on).
TEST_ENV := DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-tests-only-not-a-secret} \
	DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,testserver} \
	DJANGO_SECURE_SSL_REDIRECT=0

.PHONY: venv run test lint format messages serve pg-tools fault-test soak

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

run: venv
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DJANGO_DEBUG=1 $(BIN)/python manage.py load_seed
	@echo
	@echo "Serving on http://127.0.0.1:8000/ (admin: http://127.0.0.1:8000/admin/)."
	@echo "To sign in to the admin, first create a user in another terminal:"
	@echo "    DJANGO_DEBUG=1 $(BIN)/python manage.py createsuperuser"
	@echo "A task worker runs beside it for the imports confirmed in the admin and the figures"
	@echo "round's e-mails, which it prints here (restart make run after changing a task's code:"
	@echo "the worker does not reload)."
	@echo
	DJANGO_DEBUG=1 $(BIN)/python manage.py db_worker --no-reload --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy's Django plugin imports registry.settings: give it the key they require, and the same
# settings (SQLite, no replica, local cache) whatever this shell's environment holds.
LINT_ENV := DJANGO_SECRET_KEY=lint-only-not-a-secret DJANGO_DEBUG=0 \
	DATABASE_URL= DATABASE_REPLICA_URL= DJANGO_CACHE_URL=

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_ENV) $(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: venv
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l fr -l es --no-obsolete --no-wrap \
		--ignore '.venv/*' --ignore 'tests/*' --ignore 'staticfiles/*' --ignore 'node_modules/*' --ignore 'docs/*'
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv/*'

# Production mode on this machine: PostgreSQL, static files collected, gunicorn.
# Plain http on 127.0.0.1, so no https redirect and cookies that travel over http;
# a random key per start (sessions end when it stops).
SERVE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/registry
SERVE_ENV := DATABASE_URL=$${DATABASE_URL:-$(SERVE_DATABASE_URL)} \
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')} \
	DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1} \
	DJANGO_SECURE_SSL_REDIRECT=$${DJANGO_SECURE_SSL_REDIRECT:-0} DJANGO_SECURE_COOKIES=$${DJANGO_SECURE_COOKIES:-0}

serve: venv
	@test -n "$$DATABASE_URL" || createdb -h 127.0.0.1 -U postgres registry 2>/dev/null || true
	$(SERVE_ENV) $(BIN)/python manage.py migrate --no-input
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(SERVE_ENV) $(BIN)/python manage.py load_seed
	@echo "Serving in production mode on http://127.0.0.1:8000/ (health: /healthz, /readyz),"
	@echo "with one task worker (manage.py db_worker) for the imports confirmed in the admin."
	$(SERVE_ENV) $(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(SERVE_ENV) $(BIN)/gunicorn -c registry/gunicorn.py registry.wsgi

# Both build a PostgreSQL cluster of their own on another port (Debian's
# pg_createcluster, so they run as root or postgres) and drop it afterwards; the
# server they start runs in production mode, the command itself only drives it.
pg-tools:
	@command -v pg_createcluster >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql)

# The benchmark and operations commands live in the development-only app tests/devtools/,
# which only its own settings install; the servers they start use the production settings.
DEVTOOLS_SETTINGS := DJANGO_SETTINGS_MODULE=tests.devtools.settings

fault-test: venv pg-tools
	$(DEVTOOLS_SETTINGS) DJANGO_DEBUG=1 $(BIN)/python manage.py fault_test $(FAULT_ARGS)

soak: venv pg-tools
	$(DEVTOOLS_SETTINGS) DJANGO_DEBUG=1 $(BIN)/python manage.py soak --duration $${SOAK_SECONDS:-600} $(SOAK_ARGS)

# About a minute: 10 clients reading /data/register.json a few KB a second (and one that stops
# reading) from gunicorn in production mode on 127.0.0.1, while /healthz and the directory are
# timed (p99 < 200 ms). A synthetic register of 2,000 organisations in SLOW_CLIENTS_DATABASE_URL
# (created if missing, kept between runs). SLOW_CLIENTS_ARGS="--worker-class sync" to compare.
SLOW_CLIENTS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/registry_slow_clients
.PHONY: slow-clients
slow-clients: venv
	@test -n "$$SLOW_CLIENTS_DATABASE_URL" || createdb -h 127.0.0.1 -U postgres registry_slow_clients 2>/dev/null || true
	$(DEVTOOLS_SETTINGS) DJANGO_DEBUG=1 $(BIN)/python manage.py slow_clients \
		--database-url $(SLOW_CLIENTS_DATABASE_URL) $(SLOW_CLIENTS_ARGS)

# A synthetic register (made up, marked as such) in the database of DATABASE_URL, db.sqlite3
# by default: SYNTHETIC_ARGS="--organisations 10000"; SYNTHETIC_ARGS=--clear removes it.
.PHONY: synthetic
synthetic: venv
	$(DEVTOOLS_SETTINGS) DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --no-input
	$(DEVTOOLS_SETTINGS) DJANGO_DEBUG=1 $(BIN)/python manage.py generate_synthetic $(SYNTHETIC_ARGS)

# The benchmark, not part of `make test`: synthetic registers of 1,000 and 100,000
# organisations in two PostgreSQL databases (registry_bench_1k, registry_bench_100k),
# measured in one run; the table goes to the screen and to bench-results/.
# BENCH_PREFIX names the databases (PREFIX_1k, PREFIX_100k…); BENCH_ARGS="--sizes 1k,100k,1m"
# adds a register of a million organisations; BENCH_CACHE_URL=redis://… (a Redis database the
# bench may empty) lets it measure the time from a change to the refreshed page.
BENCH_PREFIX ?= registry_bench
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/$(BENCH_PREFIX)_1k
.PHONY: bench
bench: venv
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-bench-only-not-a-secret} \
	DJANGO_ALLOWED_HOSTS=testserver,127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 \
	DJANGO_STATIC_ROOT=$(CURDIR)/var/bench-static $(DEVTOOLS_SETTINGS) \
	$(BIN)/python manage.py bench --database-prefix $(BENCH_PREFIX) $(if $(BENCH_CACHE_URL),--cache-url $(BENCH_CACHE_URL)) $(BENCH_ARGS)

# What a production install has: a throwaway virtualenv of requirements.txt alone (no test
# or benchmark tools), in which every module of members/ and registry/ must import and the
# deploy checklist (debug off, production settings) must pass without a warning.
.PHONY: prod-check
prod-check:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt; \
	key=$$("$$tmp/venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))'); \
	for step in "manage.py check --deploy --fail-level WARNING" "-m tests.devtools.prod_check"; do \
		env -i PATH="$$PATH" HOME="$$HOME" DJANGO_SETTINGS_MODULE=registry.settings DJANGO_DEBUG=0 \
			DJANGO_SECRET_KEY="$$key" DJANGO_ALLOWED_HOSTS=register.example.org \
			"$$tmp/venv/bin/python" $$step; \
	done

# The Nu HTML Checker over every public page type in the three languages
# (tests/test_html_validity.py): vnu.jar from npm (tests/vnu/package-lock.json) on the machine's
# Java (apt-get install default-jre-headless). --ignore-scripts: the package's install script
# would download a Java of its own.
VNU_JAR := tests/vnu/node_modules/vnu-jar/build/dist/vnu.jar
.PHONY: vnu vnu-install
$(VNU_JAR): tests/vnu/package.json tests/vnu/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix tests/vnu
	touch $@

vnu-install: $(VNU_JAR)

vnu: venv vnu-install
	$(TEST_ENV) $(BIN)/python -m pytest tests/test_html_validity.py $(PYTEST_ARGS)
