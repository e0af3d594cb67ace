# facetag developer commands. Every target creates the virtualenv first if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-eventual test-burst test-properties check stack bench \
	bench-webhook bench-burst bench-bulk bench-backfill package clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m scripts.demo

test: $(STAMP)
	$(PY) -m pytest

# The unit tests alone: in-memory fakes, no server, a few seconds.
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -q

# The end-to-end flows again with Rekognition eventually consistent: the local server's searches
# lag its writes by a second, as AWS's have been seen to (docs/local-stack-rekognition.md).
test-eventual: $(STAMP)
	FACETAG_STANDIN_CONSISTENCY_DELAY_MS=1000 $(PY) -m pytest tests/e2e/test_flows.py -q

# The hostile-notification properties on the local stack at full size: 110 cases per test, 550
# in all (make test runs 50 per test: the same properties on fewer cases, a minute less).
test-properties: $(STAMP)
	FACETAG_PROPERTY_EXAMPLES=$${FACETAG_PROPERTY_EXAMPLES:-110} $(PY) -m pytest tests/e2e/test_hostile_properties.py -q

# The fault-and-burst acceptance run: 200 uploads under faults, three seeds (make test runs one).
test-burst: $(STAMP)
	FACETAG_BURST_SEEDS=$${FACETAG_BURST_SEEDS:-101,202,303} $(PY) -m pytest tests/e2e/test_fault_burst.py -q -s -k burst_under

# Type-check (strict) what ships to Lambda and the operator's command package; lint that and
# the code around it: the tests, the scripts and the local stand-ins. Both always run, so one
# pass shows every error; either one failing fails the target.
CHECKED := app.py chalicelib $(wildcard facetag_cli)
LINTED := $(CHECKED) tests scripts emulators

check: $(STAMP)
	$(PY) -m ruff check $(LINTED); lint=$$?; $(PY) -m mypy $(CHECKED) && exit $$lint

stack: $(STAMP)
	$(PY) -m scripts.stack

# Offline deployability check: chalice package, then what the zip holds and weighs.
package: $(STAMP)
	$(PY) -m scripts.check_package --stage prod

# A few minutes: latency, throughput, calls per asset, bulk removal; out/bench.json.
bench: $(STAMP)
	$(PY) -m scripts.bench

# The acceptance runs, each adding its figures to out/bench.json (the README says how long).
N ?= 1000
TPS ?= 5
bench-burst: $(STAMP)
	$(PY) -m scripts.bench_burst --n $(N) --tps $(TPS)

REPEATS ?= 200
bench-webhook: $(STAMP)
	$(PY) -m scripts.bench_webhook --repeats $(REPEATS)

bench-bulk: $(STAMP)
	$(PY) -m scripts.bench_bulk

ASSETS ?= 5000
BACKFILL_TPS ?= 20
bench-backfill: $(STAMP)
	$(PY) -m scripts.bench_backfill --assets $(ASSETS) --tps $(BACKFILL_TPS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
