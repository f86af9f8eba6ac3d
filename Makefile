# The commands a newcomer needs. Everything else is in scripts/.
.PHONY: demo test build deps up down status unit test-debug clean bench chaos fuzz

PRESET ?= release

demo:
	scripts/local/demo.sh

# Unit, integration (real three-broker Kafka, started and stopped by CTest) and end-to-end tests.
test: build
	ctest --preset $(PRESET) --timeout 600

deps:
	scripts/install-deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)

# Unit tests only: no broker, seconds.
unit: build
	ctest --preset $(PRESET) -L unit

# The same suite built with AddressSanitizer and UBSan.
test-debug:
	$(MAKE) test PRESET=debug

# The fault tests in full (make test runs them shortened): each prints its reconciliation line. Root: five run
# on test hosts of their own (network namespaces, nftables; tests/chaos/hosts.py), then the 30-minute soak of
# all faults at random (README, "The soak"; CHAOS_ARGS="--soak-minutes 10" shortens it).
chaos: build
	KD_BIN=$(CURDIR)/build/$(PRESET)/bin tests/chaos/chaos.py $(CHAOS_ARGS)

# The libFuzzer targets (clang, ASan + UBSan), FUZZ_SECONDS each; `make test` runs them for 15 s each.
FUZZ_SECONDS ?= 300
fuzz: deps
	scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

up: build
	scripts/kafka/cluster.sh start
	scripts/local/services.sh start

down:
	scripts/local/services.sh stop
	scripts/kafka/cluster.sh stop

status:
	scripts/kafka/cluster.sh status
	scripts/local/services.sh status

clean:
	rm -rf build

# Benchmark: its own fresh cluster and services, measured, then stopped; report in bench/results/.
bench:
	bench/run.py

# Settings compared by turns on one cluster (bench/ab.py: the machine's speed drifts, so A/B alternate), e.g.
#   make bench-ab AB="linger5:PRODUCER_LINGER_MS=5 linger0:PRODUCER_LINGER_MS=0"
.PHONY: bench-ab
bench-ab:
	bench/ab.py $(AB)

# Bounded state: 2,000,000 orders through one partition, then each consumer restarted on its state
# (restart time, peak memory, state on disk); report in bench/results/soak.{json,md}.
.PHONY: soak
soak:
	bench/soak.py

# Issue 14's proof (root, about half an hour): a bare Debian bookworm root from debootstrap, the checkout copied
# in, then make demo, ctest -L unit and ctest -L deploy in it (tests/bare/run.sh); removed afterwards.
.PHONY: bare-debian
bare-debian:
	cmake --preset $(PRESET) >/dev/null
	KD_BARE_DEBIAN=1 ctest --preset $(PRESET) -L bare --verbose
