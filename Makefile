# Quick start: `make demo` runs the main job, `make test` runs every test.
# Each installs what it needs (Debian packages) when it is missing.
SWIFT ?= swift
# chromium: the dashboard's browser test (Tests/AbmHTTPTests) drives it headless over the DevTools protocol,
# and the report's test has it build the report's DOM; systemd: systemd-analyze rates deploy/abm.service;
# postgresql-15: the tests start a throwaway server of their own (Tests/PostgresTestSupport).
APT_PACKAGES := libzmq3-dev python3-zmq python3-jsonschema systemd chromium python3-pip python3-setuptools python3-wheel python3-venv postgresql-15
PYTHON ?= /usr/bin/python3
# The Python client is installed into this venv (Debian's pyzmq and jsonschema seen through
# --system-site-packages; setuptools from Debian, so no network is needed).
PYENV := .build/python

# Swift Testing runs every test of the process at once by default. On 2 cores, 378 tests together (each
# with servers, child processes, a PostgreSQL session) left some waiting 10 s for an ack that the starved
# machine had not computed yet; three at a time the suite passes, and sooner (63 s instead of 72–100 s).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH ?= 3

.PHONY: deps build demo test static-check screenshot python-client fuzz fuzz-smoke sanitize-address sanitize-thread bench bench-abm bench-zmq clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

demo: deps
	$(SWIFT) run -c release abm demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	for t in wire lead json template; do .build/debug/AbmFuzz --target=$$t Fuzz/corpus/$$t || exit 1; done
	$(MAKE) fuzz-smoke
	$(MAKE) python-client
	cd protocols/client/tests && ABM_BIN=$(CURDIR)/.build/debug/abm $(CURDIR)/$(PYENV)/bin/python -m unittest discover -s . -v
	$(MAKE) static-check

# `pip install ./protocols/client` as a user would, offline: into a venv, built with Debian's setuptools.
python-client: deps
	$(PYTHON) -m venv --system-site-packages $(PYENV)
	$(PYENV)/bin/python -m pip install --quiet --no-build-isolation --no-index --no-deps --force-reinstall ./protocols/client
	rm -rf protocols/client/build protocols/client/*.egg-info

# The release binary with the Swift runtime linked in runs without the toolchain (docs/operations.md).
static-check: deps
	SWIFT=$(SWIFT) sh deploy/check-static.sh

# The dashboard screenshot of the README (docs/dashboard.png), from the browser test's run.
screenshot: deps
	$(SWIFT) build --build-tests
	ABM_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(SWIFT) test --skip-build --no-parallel --filter OperatorHTTPTests/browser

# libFuzzer with AddressSanitizer on the wire decoder, the lead path, the JSON parser and templates
# (Fuzz/README.md). `make fuzz` runs each target FUZZ_SECONDS (default 10 minutes); `make test` runs
# each for 10 seconds. A finding is saved in .build/fuzz/findings/ and fails the run.
FUZZ_SECONDS ?= 600
fuzz: deps
	SWIFT=$(SWIFT) Fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke: deps
	SWIFT=$(SWIFT) Fuzz/run.sh 10

# The test suite under AddressSanitizer / ThreadSanitizer, each in a scratch path of its own (docs/sanitizers.md).
# The sanitizers' suppressions (Swift's continuations for TSan; weak-reference side tables and `Data` for
# LeakSanitizer) reach the `abm serve` children through the inherited options, hence the absolute paths.
sanitize-address: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build/asan
	LSAN_OPTIONS="suppressions=$(CURDIR)/Tests/lsan-suppressions.txt" $(SWIFT) test --skip-build --no-parallel --sanitize=address --scratch-path .build/asan

sanitize-thread: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build/tsan
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/Tests/tsan-suppressions.txt" $(SWIFT) test --skip-build --no-parallel --sanitize=thread --scratch-path .build/tsan

bench: bench-abm bench-zmq

# The server end to end: acked leads/s vs a no-op ROUTER, response→pause latency under load
# (Benchmarks/RESULTS-gateway.md). Quick run: make bench-abm BENCH_ARGS="--leads 20000 --responses 200".
BENCH_ARGS ?=
bench-abm: deps
	$(SWIFT) build -c release --product abm
	.build/release/abm bench $(BENCH_ARGS)

# ZeroMQ layer vs plain libzmq, same run (see README "Performance").
bench-zmq: deps
	$(SWIFT) build -c release --product ZeroMQBench
	mkdir -p .build/bench && cc -O2 -o .build/bench/zmq_c_bench Benchmarks/zmq-c/zmq_c_bench.c -lzmq
	.build/release/ZeroMQBench --c-bench .build/bench/zmq_c_bench

clean:
	rm -rf .build
