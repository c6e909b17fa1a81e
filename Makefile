# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test install lint format clean mutate

$(STAMP): pyproject.toml
	@if [ ! -x $(VENV)/bin/python ]; then \
		echo "Creating $(VENV)…"; \
		$(PYTHON) -m venv $(VENV); \
		echo "Installing Python packages (first run, about a minute)…"; \
	else \
		echo "Installing Python packages into $(VENV)…"; \
	fi
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@./scripts/run.sh

test: $(STAMP)
	./scripts/test.sh $(ARGS)

# Mutation testing of the rules, lifecycle, permissions and chain (~15 min).
mutate: $(STAMP)
	./scripts/mutate.sh $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=true $(VENV)/bin/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var/relapp.sqlite3 var/relapp.sqlite3-wal var/relapp.sqlite3-shm var/celery var/static var/mail
