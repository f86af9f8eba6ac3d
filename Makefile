# The commands a newcomer needs. Everything else is in scripts/.
.PHONY: demo test build deps up down status unit test-debug clean

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
