# boxoffice - GNU Makefile. `make` builds build/boxoffice; `make test` runs
# every suite; `make help` lists the targets.
#
# Two stages, so that a fresh machine's first `make` (or `make test`) passes:
# this file reads nothing from any package. It runs scripts/install-deps
# (Debian packages, installed only when one is missing: a few dpkg-query
# calls when all are there), then every goal in ONE sub-make of mk/build.mk,
# the real build, which reads the packages' flags (pkg-config) only then.
# Variables given on the command line (SANITIZE=..., FUZZ_SECONDS=...) and
# -j reach the sub-make through MAKEFLAGS. `make help` and `make clean` need
# no package and run here.

# Node.js 20 from the npm registry, where scripts/install-deps put it because
# the system's is older (Debian 12 ships 18): first on every recipe's PATH.
export PATH := $(CURDIR)/.deps/node/bin:$(PATH)

GOALS   := $(or $(MAKECMDGOALS),all)
LOCAL   := help clean deps
FORWARD := $(filter-out $(LOCAL),$(GOALS))

.DEFAULT_GOAL := all
.PHONY: $(GOALS) deps build-goals

ifneq ($(FORWARD),)
$(FORWARD): build-goals
	@:

# After clean when both are asked for: `make clean all` rebuilds.
build-goals: deps $(filter clean,$(GOALS))
	@$(MAKE) --no-print-directory -f mk/build.mk $(FORWARD)
endif

deps:
	@scripts/install-deps

clean:
	rm -rf build

help:
	@echo "make              build build/boxoffice and build/boxoffice-paysim"
	@echo "make run          build and serve the demo"
	@echo "make test         every test suite (build, unit, model, stress, crash, fault, tsan, asan, fuzz, system, browser)"
	@echo "make test-unit    the unit suites"
	@echo "make test-layers  folders include downwards only (scripts/check-layers)"
	@echo "make test-build   a fresh machine's first make (tests/build/fresh_machine.sh)"
	@echo "make test-system  the HTTP system tests (node --test tests/system/)"
	@echo "make test-browser the web UI in headless Chromium (tests/browser/)"
	@echo "make test-tsan    the threaded suites and the server under ThreadSanitizer"
	@echo "make test-asan    the unit suites and the server under AddressSanitizer and UBSan"
	@echo "make test-fuzz    the libFuzzer harnesses, FUZZ_SECONDS each"
	@echo "make test-long    the engine model test with 10,000,000 operations"
	@echo "make bench        every benchmark (engine, store, best, http, checkout, web, memory, connections, compare)"
	@echo "make bench-compare  boxoffice beside PostgreSQL and Redis designs, one run (docs/benchmarks.md)"
	@echo "make format       clang-format every C file"
	@echo "make SANITIZE=address,undefined test   run the suites under sanitizers"
