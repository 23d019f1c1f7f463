# The two set-up commands: `make run` and `make test`. Each installs what is
# missing, builds, then serves or tests.
BUILD_DIR ?= build
JOBS      ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: deps build run test bench clean

deps:
	@scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	@scripts/run-default $(BUILD_DIR)/bellhop

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600

bench: build
	BELLHOP_BENCH=1 scripts/install-deps
	bench/run-all $(BUILD_DIR)/bellhop

clean:
	rm -rf $(BUILD_DIR)
