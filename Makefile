# The two commands: `make run` and `make test`. The rest serve them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Tests run with debug off, as in production; these values are for tests only
# (the test client speaks plain http; tests that check the https redirect turn it on).
TEST_ENV := DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-tests-only-not-a-secret} \
	DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,testserver} \
	DJANGO_SECURE_SSL_REDIRECT=0

.PHONY: venv run test lint format messages

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
	@echo
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: venv
	cd members && DJANGO_DEBUG=1 ../$(BIN)/python ../manage.py makemessages -l fr -l es --ignore 'tests/*'
	cd members && DJANGO_DEBUG=1 ../$(BIN)/python ../manage.py compilemessages
