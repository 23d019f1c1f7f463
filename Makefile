# The two set-up commands: `make run` and `make test`. Each installs what is
# missing, builds, then serves or tests.
BUILD_DIR ?= build
JOBS      ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
# Fuzzing (docs/fuzzing.md): clang + libFuzzer in their own build dir.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SHORT_SECONDS ?= 10
# AddressSanitizer and UndefinedBehaviorSanitizer over every test.
SANITIZE_BUILD_DIR ?= build-sanitize

.PHONY: deps build run test sanitize bench clean fuzz-build fuzz

deps:
	@scripts/install-deps

# After deps (order-only, so that `make -j` never configures before the
# packages are there). The build files, not the cache, mark a configured
# tree: a configure that failed leaves a cache but no Makefile, and is run
# again.
$(BUILD_DIR)/Makefile: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/Makefile
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	@scripts/run-default $(BUILD_DIR)/bellhop

test: build fuzz-build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600
	fuzz/run -b $(FUZZ_BUILD_DIR) -t $(FUZZ_SHORT_SECONDS)

$(FUZZ_BUILD_DIR)/Makefile: | deps
	cmake -S fuzz -B $(FUZZ_BUILD_DIR) -DCMAKE_CXX_COMPILER=clang++

fuzz-build: deps $(FUZZ_BUILD_DIR)/Makefile
	cmake --build $(FUZZ_BUILD_DIR) -j$(JOBS)

# Each target for FUZZ_SECONDS on a scratch copy of tests/fuzz-corpus/.
fuzz: fuzz-build
	fuzz/run -b $(FUZZ_BUILD_DIR) -t $(FUZZ_SECONDS)

# The whole test suite again, built with ASan and UBSan (gcc).
sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBELLHOP_SANITIZE=address,undefined
	cmake --build $(SANITIZE_BUILD_DIR) -j$(JOBS)
	scripts/test-sanitized $(SANITIZE_BUILD_DIR)

bench: build
	BELLHOP_BENCH=1 scripts/install-deps
	bench/run-all $(BUILD_DIR)/bellhop

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR) $(SANITIZE_BUILD_DIR)
