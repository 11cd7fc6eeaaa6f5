# Two commands do all the set-up on a fresh machine: `make deploy` and `make test`.
# Each creates .venv and installs the project when missing; the stamp keeps reruns fast.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPEC ?= nations.yaml
OUT ?= build
DATA ?= data
ARGS ?=

.PHONY: deploy test lint format serve clean bench infra-preview infra-up help

help:
	@echo "make deploy   build and publish every nation of $(SPEC) to $(OUT)/"
	@echo "make test     run the test suite"
	@echo "make lint     ruff and mypy"
	@echo "make serve    serve $(OUT)/sites on http://127.0.0.1:8000"
	@echo "make bench    run the benchmark (writes bench-results/)"
	@echo "make clean    remove $(OUT)/ and caches"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

deploy: $(STAMP)
	$(BIN)/provisioner deploy --spec $(SPEC) --out $(OUT) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n auto $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check provisioner tests scripts infra
	$(BIN)/ruff format --check provisioner tests scripts infra
	$(BIN)/mypy provisioner

format: $(STAMP)
	$(BIN)/ruff format provisioner tests scripts infra
	$(BIN)/ruff check --fix provisioner tests scripts infra

serve: $(STAMP)
	@echo "serving $(OUT)/sites on http://127.0.0.1:8000/<slug>/"
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory $(OUT)/sites

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)
