# rspkit: the two set-up commands are `make demo` and `make test` (see README.md).
# Everything else here is a building block of those two.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 8

.PHONY: all deps build asan fuzz test test-unit test-asan test-fuzz demo format clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRSPKIT_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRSPKIT_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

# The storage tests need a real PostgreSQL: with-postgres.sh starts a throw-away server for the
# run and stops it afterwards. The PC/SC test starts its own pcscd (scripts/pcsc-test.sh).
test-unit: build
	@cd $(BUILD) && sh $(CURDIR)/scripts/with-postgres.sh ctest --output-on-failure -j$(JOBS)

test-asan: asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		sh $(CURDIR)/scripts/with-postgres.sh ctest --output-on-failure -j$(JOBS)

test-fuzz: fuzz
	@sh scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Every test: the normal build, the ASan+UBSan build, and a bounded run of each fuzzer.
test: test-unit test-asan test-fuzz
	@echo "make test: all suites passed"

demo: build
	@sh scripts/demo.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
