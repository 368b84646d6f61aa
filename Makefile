# libcrm: `make demo` and `make test` work from a fresh clone; nothing else needs installing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
SCALE ?= small
PROFILE ?= default
DAYS ?= 3

export OPENBLAS_NUM_THREADS := 1

.PHONY: install demo serve test lint bench lock clean

install: $(VENV)/.installed

# Re-installs only when the lock or the project metadata change; a second run is a no-op.
$(VENV)/.installed: requirements.lock pyproject.toml
	@echo "==> installing pinned dependencies into $(VENV) (first time: about a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

demo: install
	@$(BIN)/python -m libcrm demo --scale $(SCALE) --days $(DAYS) --profile $(PROFILE)

# The librarians' workspace on 127.0.0.1:$${LIBCRM_WORKSPACE_PORT:-8080}, on the demo's warehouse
# unless LIBCRM_DATABASE_URL names another.
serve: install
	@$(BIN)/python -m libcrm serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest

# BENCH_SCALES=small,medium,large adds the large library (tens of minutes).
BENCH_SCALES ?= small,medium
bench: install
	@$(BIN)/python -m libcrm bench --scales $(BENCH_SCALES)

# After editing requirements.in: recompute the exact versions of the whole tree.
lock: install
	$(BIN)/uv pip compile --quiet --python-version 3.11 --no-header requirements.in -o requirements.lock

clean:
	@$(BIN)/python -m libcrm db stop 2>/dev/null || true
	rm -rf $(VENV) .local data
