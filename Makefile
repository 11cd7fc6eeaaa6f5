# Two commands do all the set-up on a fresh machine: `make deploy` and `make test`.
# Each creates .venv and installs the project when missing; the stamp keeps reruns fast.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
SPEC ?= nations.yaml
OUT ?= build
# The supporter export lives beside the spec: each network has its own (data/ by default).
DATA ?= $(patsubst %/,%,$(dir $(SPEC)))/data
ARGS ?=

.PHONY: deploy test lint format serve clean bench bench-intake infra-preview infra-up intake-package help

help:
	@echo "make deploy   build and publish every nation of $(SPEC) to $(OUT)/"
	@echo "make test     run the test suite"
	@echo "make lint     ruff and mypy"
	@echo "make serve    serve $(OUT)/sites and the forms' intake API on http://127.0.0.1:8000"
	@echo "make bench    run the benchmark (writes bench-results/)"
	@echo "make bench-intake   load-test the intake API on loopback (writes bench-results/)"
	@echo "make clean    remove $(OUT)/ and caches"
	@echo "make infra-preview / infra-up   Pulumi preview / up of infra/ (needs the Pulumi CLI)"
	@echo "make intake-package   the cloud intake's Lambda zip, from $(OUT)/ (after make deploy)"

# `deploy` needs only the runtime dependencies; tests, lint and bench add the dev extras.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

# The sample central export is generated once (fixed seed) and never overwritten:
# order-only, so a newer nations.yaml never replaces what may be real data.
$(DATA)/supporters.csv: | $(STAMP)
	$(BIN)/python -m provisioner.supporters.generate --spec $(SPEC) --out $(DATA)

deploy: $(STAMP) | $(DATA)/supporters.csv
	$(BIN)/provisioner deploy --spec $(SPEC) --out $(OUT) --supporters $(DATA)/supporters.csv $(ARGS)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -n auto $(ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check provisioner tests scripts infra
	$(BIN)/ruff format --check provisioner tests scripts infra
	$(BIN)/mypy provisioner

format: $(DEV_STAMP)
	$(BIN)/ruff format provisioner tests scripts infra
	$(BIN)/ruff check --fix provisioner tests scripts infra

# The sites by path and by Host, plus the forms' API; submissions go to $(DATA)/intake.db
# (source data, beside the central export), emails to $(OUT)/outbox/*.eml.
serve: $(STAMP)
	$(BIN)/provisioner serve --out $(OUT) --intake $(DATA)/intake.db $(ARGS)

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache

bench: $(DEV_STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

# Concurrent clients against a real `provisioner serve` on loopback; bounded (30 s).
bench-intake: $(DEV_STAMP)
	$(BIN)/python scripts/bench_intake.py $(ARGS)

# The cloud side (infra/, docs/aws.md) needs the Pulumi CLI, which no Python package
# ships: without it these targets say what to install and fail; they never pretend.
STACK ?= dev
PULUMI_ARGS ?=
define PULUMI_CHECK
command -v pulumi >/dev/null 2>&1 || { \
  echo "error: the Pulumi CLI is not installed: nothing was previewed or deployed." >&2; \
  echo "Install it from https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh)," >&2; \
  echo "then: cd infra && pulumi login && pulumi stack init $(STACK). Step by step: docs/aws.md" >&2; \
  exit 1; }
endef

# The Lambda function's code and the network it serves (nation.json, email templates).
intake-package: $(STAMP)
	$(BIN)/python scripts/intake_package.py --out $(OUT) --zip $(OUT)/intake-lambda.zip

# The intake function's code must exist before Pulumi can upload it.
define PACKAGE_CHECK
test -f $(OUT)/intake-lambda.zip || { \
  echo "error: $(OUT)/intake-lambda.zip is missing: run make deploy && make intake-package" >&2; \
  echo "(with another OUT, also: pulumi config set horizon:intakePackage PATH)" >&2; \
  exit 1; }
endef

infra-preview: $(DEV_STAMP)
	@$(PULUMI_CHECK)
	@$(PACKAGE_CHECK)
	cd infra && pulumi preview --stack $(STACK) --diff $(PULUMI_ARGS)

# --parallel 5: Route 53 accepts 5 requests per second per account.
infra-up: $(DEV_STAMP)
	@$(PULUMI_CHECK)
	@$(PACKAGE_CHECK)
	cd infra && pulumi up --stack $(STACK) --parallel 5 $(PULUMI_ARGS)
	cd infra && pulumi stack output --stack $(STACK) --json > stack-outputs.$(STACK).json
	@echo "stack outputs: infra/stack-outputs.$(STACK).json; publish with:"
	@echo "  $(BIN)/provisioner deploy --target s3 --stack-outputs infra/stack-outputs.$(STACK).json"
