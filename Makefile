# `make` (or `make help`) lists the targets. Every target creates the virtual environment on first use,
# from the hashed lock requirements-dev.txt, with the Python that .python-version names.
.DEFAULT_GOAL := help
STACK ?= dev
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACK_STAMP := policies/venv/.installed
PYTHON_VERSION := $(strip $(file < .python-version))
# The CLI release that matches the SDK the lock pins (Pulumi versions the two together).
PULUMI_VERSION := $(shell sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' requirements.txt)
FIRST_RUN := First run (or the lock changed): creating $(VENV)/ with Python $(PYTHON_VERSION) from the hashed lock \
	requirements-dev.txt (Pulumi SDK, pulumi-aws, moto, test and lint tools): about a minute, 800 MB...
# What `pip-compile` is told for every lock; its header then names `make lock` as the way to rebuild it.
LOCK := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: help plan test test-fast lint typecheck check serve smoke release bench preview up lock audit clean report python-version pulumi-ready stack-named

## help: this list (also what a bare `make` prints)
help:
	@echo "make <target> [STACK=<a Pulumi.<stack>.yaml>]   (STACK defaults to dev; Python $(PYTHON_VERSION), Pulumi CLI v$(PULUMI_VERSION))"
	@awk '/^## [a-z-]+: / { line = substr($$0, 4); i = index(line, ": "); \
		printf "  %-9s %s\n", substr(line, 1, i - 1), substr(line, i + 2) }' \
		$(MAKEFILE_LIST)

python-version:
	@$(PYTHON) -c 'import sys; want = "$(PYTHON_VERSION)"; have = "%d.%d" % sys.version_info[:2]; \
		sys.exit(0 if have == want else f"this project runs Python {want} (.python-version, the Lambda runtime); " \
		f"$(PYTHON) is {have}: install {want} (pyenv install {want}) or pass PYTHON=python{want}")'

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt .python-version
	@$(MAKE) --no-print-directory python-version
	@echo "$(FIRST_RUN)"
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.txt
	touch $(STAMP)

# The policy pack's own virtual environment, as Pulumi would create it from policies/requirements.txt.
$(PACK_STAMP): policies/requirements.txt .python-version
	@$(MAKE) --no-print-directory python-version
	$(PYTHON) -m venv --clear policies/venv
	policies/venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r policies/requirements.txt
	touch $(PACK_STAMP)

## plan: run the real program for STACK under Pulumi's mocks, then the policy pack; no cloud needed
plan: $(STAMP)
	$(PY) -m tools.plan --stack $(STACK)

## test: the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q

## test-fast: the inner loop: unit, component, stack and policy tests, without those marked slow, on every core
test-fast: $(STAMP)
	$(PY) -m pytest -q -n auto -m "not slow" tests/unit tests/component tests/stack tests/policy

## lint: ruff over the code
lint: $(STAMP)
	$(PY) -m ruff check .

# One run gives each file one module name, so three: the program's side reads the functions' pure modules as
# app.service.* (pyproject.toml has it skip them), the functions run from app/ as service, traffic_hooks, ...,
# and the pack's entry point is a second __main__.
## typecheck: mypy over the program, components, tools, the Lambda functions and the policy pack
typecheck: $(STAMP)
	$(PY) -m mypy __main__.py components tools policies/prodready_policy
	$(PY) -m mypy app/service app/pre_traffic app/post_traffic app/traffic_hooks app/restore_check
	$(PY) -m mypy policies/__main__.py

## check: everything CI's offline job runs (.ci/run): tests, plans, ruff, mypy, workflow and dependency checks
check:
	bash .ci/run

## serve: the service on 127.0.0.1:8080 (PORT=... to change) over an embedded DynamoDB fake
serve: $(STAMP)
	$(PY) -m tools.serve

## smoke: smoke test: a local server; URL=... TOKEN=... for a deployment, OUTPUTS=1 for STACK's outputs
smoke: $(STAMP)
ifdef URL
	$(PY) -m tools.smoke --url $(URL) --token "$(TOKEN)" $(if $(READ_TOKEN),--read-token "$(READ_TOKEN)")
else ifdef OUTPUTS
	pulumi stack output --json -s $(STACK) | $(PY) -m tools.smoke --outputs -
else
	$(PY) -m tools.smoke --local
endif

## release: the last release of STACK, its alarms and what is live (tools.release stop|rollback for more)
release: $(STAMP)
	$(PY) -m tools.release status --stack $(STACK)

## bench: benchmarks (numbers for the notes, never assertions)
bench: $(STAMP)
	$(PY) -m pytest -q tests/bench --benchmark-only --benchmark-enable

# The real engine, always with the policy pack and STACK's policy config (its profile's, from
# `python -m tools.stacks`): a laptop `pulumi up` runs the same rules CI does.
PULUMI_WITH_PACK = pulumi $(1) --stack $(STACK) --policy-pack policies --policy-pack-config "$$($(PY) -m tools.stacks --policy-config $(STACK))"

pulumi-ready: $(STAMP) $(PACK_STAMP)
	@$(PY) -m tools.stacks --policy-config $(STACK) >/dev/null || { echo "no stack file Pulumi.$(STACK).yaml with a valid profile"; exit 1; }
	@command -v pulumi >/dev/null || { echo "the Pulumi CLI is not installed: install v$(PULUMI_VERSION) (https://www.pulumi.com/docs/install/)"; exit 1; }
	@pulumi version | grep -qx "v$(PULUMI_VERSION)" || echo "warning: Pulumi CLI $$(pulumi version), the lock's SDK is $(PULUMI_VERSION); CI runs v$(PULUMI_VERSION)"

## preview: `pulumi preview` of STACK with the policy pack and its config (needs the CLI and credentials)
preview: pulumi-ready
	$(call PULUMI_WITH_PACK,preview --diff)

## up: `pulumi up` of STACK with the policy pack and its config; STACK must be given (make up STACK=prod)
up: stack-named pulumi-ready
	$(call PULUMI_WITH_PACK,up)

# A deployment never falls back to the default stack.
stack-named:
ifeq ($(origin STACK),file)
	@echo "make up deploys: name the stack, make up STACK=<one of: $$(ls Pulumi.*.yaml | sed 's/Pulumi.//; s/.yaml//' | tr '\n' ' ')>"; exit 1
endif

## lock: recompile the hashed locks from requirements*.in after changing a pin (needs the package index)
lock: $(STAMP)
	$(LOCK) -o requirements-dev.txt requirements-dev.in
	@# pip-compile keeps the pins it finds in its output file: seeded with the dev lock, the program's and
	@# the pack's locks take exactly its versions.
	cp requirements-dev.txt requirements.txt && $(LOCK) -o requirements.txt requirements.in
	cp requirements-dev.txt policies/requirements.txt && $(LOCK) -o policies/requirements.txt policies/requirements.in

## audit: known vulnerabilities in the locked dependencies (pip-audit; needs the advisory service)
audit: $(STAMP)
	$(VENV)/bin/pip-audit --strict --disable-pip --require-hashes -r requirements-dev.txt -r policies/requirements.txt

## clean: build output and caches (not the venvs)
clean:
	rm -rf build .pytest_cache .benchmarks .mypy_cache

## report: one self-contained HTML page of STACK's plan (dashboard, alarm routing, resources, cost,
## policy verdict) at build/report-$(STACK).html
report: $(STAMP)
	$(PY) -m tools.plan --stack $(STACK) --no-policy
	$(PY) -m tools.report --stack $(STACK)
