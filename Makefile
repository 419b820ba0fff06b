# Every target creates the virtual environment on first use, from the pinned requirements.
STACK ?= dev
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: plan test lint serve smoke release bench clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

## plan: run the real program for STACK (default dev) under Pulumi's mocks; no cloud needed
plan: $(STAMP)
	$(PY) -m tools.plan --stack $(STACK)

## test: the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .

## serve: the service on 127.0.0.1:$${PORT:-8080} over an embedded DynamoDB fake
serve: $(STAMP)
	$(PY) -m tools.serve

## smoke: post-deploy smoke test against URL with TOKEN (write scope), or STACK's outputs with OUTPUTS=1
## (tokens from its Cognito client); default: a local server it starts itself
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

clean:
	rm -rf build .pytest_cache .benchmarks

## report: one self-contained HTML page of STACK's plan (dashboard, alarm routing, resources, cost,
## policy verdict) at build/report-$(STACK).html
.PHONY: report
report: $(STAMP)
	$(PY) -m tools.plan --stack $(STACK) --no-policy
	$(PY) -m tools.report --stack $(STACK)
