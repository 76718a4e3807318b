# Catalog maintenance (Babel). English is the source: message ids are the
# English texts in app/; each language's translations are
# app/i18n/locales/<lang>/LC_MESSAGES/messages.po, compiled in memory when
# the service first uses them (nothing compiled is committed).
PYBABEL ?= .venv/bin/pybabel
LOCALES = app/i18n/locales
POT = $(LOCALES)/messages.pot
# The virtual environment's tools (`python3 -m venv .venv && .venv/bin/pip install -e '.[test]'`).
BIN ?= .venv/bin

.PHONY: test lint types bench serve messages check-messages mutate

# The suite, as CI runs it: SQLite, and PostgreSQL too when
# TEST_DATABASE_URL is set. ARGS narrows it: make test ARGS=tests/routing
test:
	$(BIN)/pytest $(ARGS)

# What CI checks before any test: ruff's lint and format (`ruff format .` fixes the format).
lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy as CI runs it ([tool.mypy] in pyproject.toml: strict for rotas/,
# app/routing/ and app/inbound/, the defaults elsewhere).
types:
	$(BIN)/mypy

# The quick benchmarks at low priority (the full run: `$(BIN)/python
# benchmarks/run.py`); what each figure means is in benchmarks/README.md.
bench:
	nice $(BIN)/python benchmarks/run.py --quick

# A demo team (once; it is kept), then the service and its worker on
# http://127.0.0.1:8000.
serve:
	$(BIN)/crisisroute demo
	$(BIN)/crisisroute serve

# Extract every marked text and merge the new ids into each catalog
# (new ones arrive empty: translate them, then `make check-messages`).
messages:
	$(PYBABEL) extract -F babel.cfg --no-default-keywords -k _:2 -k N_ \
		--add-comments=TRANSLATORS: --sort-output --no-location --no-wrap \
		--project=crisisroute --omit-header -o $(POT) app
	$(PYBABEL) update -i $(POT) -d $(LOCALES) --no-wrap --ignore-obsolete

# What CI checks too: every id translated, placeholders kept (tests/i18n).
check-messages:
	.venv/bin/pytest -q tests/i18n

# Mutation testing of the safety-critical modules ([tool.mutmut] in
# pyproject.toml), in a copy of the committed tree (.mutate/), niced, one
# child; hours on 2 cores, so not part of CI. One module at a time:
#   make mutate PATHS=app/routing/ TESTS=tests/routing
# Record what survives, and why, in tests/MUTATION.md.
PATHS ?=
TESTS ?=
mutate:
	.venv/bin/python tests/mutation_run.py $(PATHS) $(if $(TESTS),--tests $(TESTS))
