# mk/build.mk - the real build of boxoffice, run by ../Makefile in a
# sub-make once scripts/install-deps has run: only then are the packages'
# flags read (pkg-config), so a fresh machine's first `make` links with
# them. Run through `make` (which installs what is missing first), not
# alone; its recursive makes come back to this file, not to ../Makefile.

CC       ?= cc
PKGS     := jansson sqlite3 libsodium libh2o-evloop openssl libcurl libqrencode zlib libpq
TESTPKGS := criterion
SANITIZE ?=

# Each sanitizer build gets its own tree so objects never mix.
ifeq ($(SANITIZE),)
BUILD    ?= build
SANFLAGS :=
else
BUILD    ?= build/san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
comma := ,

OPT      ?= -O2
# BO_ASSERT on (1) or compiled out (0); 2 adds the per-element checks of
# the engine's hot path (BO_ASSERT_EACH), on in the sanitizer and fuzz
# builds: src/util/assert.h says why. Objects do not rebuild when it
# changes: measure another level in its own tree (make ASSERTS=0
# BUILD=build/noassert).
ifeq ($(SANITIZE),)
ASSERTS  ?= 1
else
ASSERTS  ?= 2
endif
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -DBO_ASSERTS=$(ASSERTS) -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -Iinclude -Isrc -pthread -MMD -MP $(SANFLAGS)
LDFLAGS  += $(SANFLAGS)

# The packages' flags: a package pkg-config cannot find stops the build here
# (the install step runs before this file is read: ../Makefile).
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_STATUS := $(.SHELLSTATUS)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
PKG_STATUS += $(.SHELLSTATUS)
TESTLIBS   := $(shell pkg-config --libs $(TESTPKGS))
PKG_STATUS += $(.SHELLSTATUS)
ifneq ($(strip $(PKG_STATUS)),0 0 0)
$(error pkg-config does not find every package of $(PKGS) $(TESTPKGS): run scripts/install-deps (make does))
endif
CFLAGS   += $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -pthread -lm
SUBMAKE  := $(MAKE) --no-print-directory -f $(lastword $(MAKEFILE_LIST))

LIB_SRC   := $(sort $(shell find src -name '*.c' ! -name main.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELP := $(sort $(wildcard tests/unit/helpers/*.c))
TEST_HOBJ := $(TEST_HELP:%.c=$(BUILD)/obj/%.o)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# Keep intermediate objects (test and bench objects, helpers): no rebuilds.
.SECONDARY:

.PHONY: all test test-unit test-system-pg test-tsan test-long bench bench-engine bench-store bench-best bench-http bench-checkout bench-memory bench-connections bench-onsale bench-compare run format \
        format-check test-build
.DEFAULT_GOAL := all

all: $(BUILD)/boxoffice $(BUILD)/boxoffice-paysim

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libboxoffice.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/boxoffice: $(BUILD)/obj/src/main.o $(BUILD)/libboxoffice.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The payment gateway simulator (tools/paysim/), its own process.
PAYSIM_SRC := $(sort $(wildcard tools/paysim/*.c))
PAYSIM_OBJ := $(PAYSIM_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/boxoffice-paysim: $(PAYSIM_OBJ) $(BUILD)/libboxoffice.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Criterion suites link libcriterion; plain test programs (the threaded ones
# run under ThreadSanitizer, which Criterion cannot start under: its issue
# #274) have their own main() and do not.
$(BUILD)/libtesthelpers.a: $(TEST_HOBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libtesthelpers.a $(BUILD)/libboxoffice.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(if $(shell grep -l 'criterion/criterion.h' tests/unit/$*.c),$(TESTLIBS))

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libboxoffice.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench_peers, the peer designs' client (PostgreSQL and Redis), alone links
# libpq and hiredis: their flags are read for it only, when it is built.
PEER_PKGS := libpq hiredis
$(BUILD)/obj/bench/bench_peers.o: CFLAGS += $(shell pkg-config --cflags $(PEER_PKGS))
$(BUILD)/bench/bench_peers: LDLIBS += $(shell pkg-config --libs $(PEER_PKGS))

# The build itself on a fresh machine (below), formatting, the layers, the
# docs' cited numbers, every unit suite, the threaded suites under
# ThreadSanitizer, then the system tests over HTTP.
test: test-build format-check test-layers test-docs lint-openapi test-unit test-tsan $(if $(SANITIZE),,test-asan) test-fuzz test-system test-system-pg test-browser
	@echo "make test: all suites passed"

# A fresh copy of the tree on a machine made to look as if no package were
# installed (fake dpkg-query, apt-get and pkg-config on PATH): its first
# `make` must install before it reads any flag, and link a Criterion suite.
test-build:
	@tests/build/fresh_machine.sh

# The store's suite runs on both backends (test_store_pg: PostgreSQL, on a
# private cluster that scripts/with-pg starts and stops by its PID).
test-unit: all $(TEST_BIN)
	@scripts/with-pg scripts/run-tests $(TEST_BIN)

# Folders depend downwards only: every #include "..." of src/, the public
# headers and paysim against the table atop scripts/check-layers (known
# exceptions in scripts/check-layers.allow).
.PHONY: test-layers
test-layers:
	@scripts/check-layers

# Numbers in the docs cite the code that sets them ("64 (`path:NAME`)"):
# each cited constant's value against the doc's number (docs/*.md, README.md).
.PHONY: test-docs
test-docs:
	@scripts/check-doc-numbers

# The threaded test programs (tests/unit/test_*stress*.c, plain main()s)
# again, built with -fsanitize=thread.
TSAN_TESTS := $(patsubst tests/unit/%.c,build/san-thread/tests/%,$(wildcard tests/unit/test_*stress*.c))
# Then the server itself under ThreadSanitizer through the payment load
# test (100 buyers scaled down to 40): payment workers, the reconciler,
# the committer and the loops all at once; and through the API's system
# tests (the seat map's render thread, SSE, HTTP/2 streams); a race stops
# the server and fails the test.
test-tsan: node_modules/.package-lock.json all
	@$(SUBMAKE) SANITIZE=thread OPT=-O1 $(TSAN_TESTS) build/san-thread/boxoffice
	@BOXOFFICE_STRESS_SCALE=tsan TSAN_OPTIONS=halt_on_error=1 scripts/run-tests $(TSAN_TESTS)
	TSAN_OPTIONS=halt_on_error=1 BOXOFFICE_CHECKOUT_LOAD_SECONDS=8 BOXOFFICE_CHECKOUT_LOAD_BUYERS=40 \
	    BOXOFFICE_BIN=build/san-thread/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim \
	    node --test --test-concurrency=1 --test-timeout=300000 tests/system/checkout_load.test.mjs \
	    tests/system/api.test.mjs

# The unit suites and the server again under AddressSanitizer and UBSan
# (their own tree, build/san-address-undefined): the server through the
# system tests of the API, the bad input, the payment half, HTTPS and the
# command line. A report stops the server (-fno-sanitize-recover, ASan
# aborts) and fails them; a leak at exit fails their graceful-exit checks.
ASAN_SYSTEM := $(addprefix tests/system/,api.test.mjs badinput.test.mjs checkout.test.mjs tls.test.mjs cli.test.mjs)
.PHONY: test-asan
test-asan: node_modules/.package-lock.json all
	@$(SUBMAKE) SANITIZE=address,undefined test-unit
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    BOXOFFICE_BIN=build/san-address-undefined/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim \
	    node --test --test-concurrency=1 --test-timeout=300000 $(ASAN_SYSTEM)

# System tests: node's test runner against a real `boxoffice serve` on an
# ephemeral port with a temporary SQLite file (tests/system/); one file at a
# time, since the load tests need the machine to themselves.
.PHONY: test-system
test-system: all node_modules/.package-lock.json
	BOXOFFICE_BIN=$(BUILD)/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim node --test --test-concurrency=1 --test-timeout=180000 tests/system/

# The system suites that matter for a store, again on PostgreSQL (issue 15):
# each server of them gets a fresh database in a private cluster
# (BOXOFFICE_TEST_DB=pg, tests/system/lib/server.mjs). pg_outage.test.mjs,
# PostgreSQL stopped and resumed under load, runs in test-system already.
PG_SUITES := api concurrency restart checkout checkout_load abuse limits queue
test-system-pg: all node_modules/.package-lock.json
	BOXOFFICE_TEST_DB=pg BOXOFFICE_BIN=$(BUILD)/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim node --test --test-concurrency=1 --test-timeout=180000 $(PG_SUITES:%=tests/system/%.test.mjs)

# Browser tests: playwright-core (npm) drives Debian's Chromium, headless,
# through the web UI (web/) of a real server and paysim (tests/browser/);
# one file at a time. Screenshots go to test-results/.
.PHONY: test-browser
test-browser: all node_modules/.package-lock.json
	BOXOFFICE_BIN=$(BUILD)/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim node --test --test-concurrency=1 --test-timeout=180000 tests/browser/

# libFuzzer harnesses (tests/fuzz/fuzz_*.c) for every parser of outside
# input, built with clang under ASan+UBSan in their own tree; each runs
# FUZZ_SECONDS from its corpus (tests/fuzz/corpus/NAME/, kept in the repo;
# new finds go to build/fuzz/new/NAME so the tree stays clean).
FUZZ_SECONDS ?= 20
FUZZ_CC      := clang
FUZZ_FLAGS   := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_LIBOBJ  := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_CFLAGS   = $(filter-out -O2 -g -DBO_ASSERTS=% $(SANFLAGS),$(CFLAGS)) -DBO_ASSERTS=2 $(FUZZ_FLAGS)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/libboxoffice.a: $(FUZZ_LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

# paysim's form decoder is paysim's own, outside the library (it uses the
# library's util/pct.c: objects link before the archive)
build/fuzz/fuzz_paysim_form: build/fuzz/obj/tools/paysim/form.o

build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o build/fuzz/libboxoffice.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

.PHONY: test-fuzz
test-fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	    mkdir -p tests/fuzz/corpus/$$n build/fuzz/new/$$n; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -close_fd_mask=3 \
	        build/fuzz/new/$$n tests/fuzz/corpus/$$n 2>build/fuzz/$$n.log \
	        || { tail -50 build/fuzz/$$n.log; exit 1; }; done
	@echo "fuzz: $(words $(FUZZ_BIN)) harnesses passed"

# The long model run: >= 10,000,000 random operations.
test-long: all $(BUILD)/tests/test_model
	BOXOFFICE_MODEL_OPS=10000000 $(BUILD)/tests/test_model

bench: bench-engine bench-store bench-best bench-http bench-checkout bench-web bench-memory bench-connections bench-onsale bench-compare

bench-engine: all $(BUILD)/bench/bench_engine
	$(BUILD)/bench/bench_engine

bench-store: all $(BUILD)/bench/bench_store
	$(BUILD)/bench/bench_store

bench-best: all $(BUILD)/bench/bench_best
	$(BUILD)/bench/bench_best

bench-http: all
	bench/bench_http.sh

# Whole purchase flows (hold -> checkout -> confirm, paysim at zero
# latency) per second and their p99, after a hold -> release baseline in
# the same run (bench/checkout.mjs).
bench-checkout: all
	BOXOFFICE_BIN=$(BUILD)/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim node bench/checkout.mjs

# Memory that traffic and a long life cost (issue 12): RSS per abandoned
# checkout, RSS after a flood of refused holds with distinct
# Idempotency-Keys, start-up time and RSS with 1,000,000 paid orders in the
# store (bench/bench_memory.mjs); last line rss_per_abandoned_order_b=...
bench-memory: all
	BOXOFFICE_BIN=$(BUILD)/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim node bench/bench_memory.mjs

# 10,000 waiting visitors on one server (issue 14): keep-alive connections
# polling every 5 s and SSE streams, each from an X-Forwarded-For address
# of its own, over 2 client processes; p50/p99 of the polls while all are
# open, RSS per connection, CPU of server and clients (bench/connections.mjs);
# last line connections=... conn_poll_p99_ms=... bytes_per_connection=...
# The clients' soft open-file limit is raised to the hard one first.
.PHONY: bench-connections
bench-connections: all
	ulimit -Sn $$(ulimit -Hn) && BOXOFFICE_BIN=$(BUILD)/boxoffice node bench/connections.mjs

# An on-sale behind a waiting room (issue 14): 20,000 visitors, a fifth of
# them bots, a 12,800-place event through paysim (bench/onsale.mjs); last
# line onsale_sellout_s=... honest_share=... bot_share=... ...
bench-onsale: all node_modules/.package-lock.json
	ulimit -Sn $$(ulimit -Hn) && BOXOFFICE_BIN=$(BUILD)/boxoffice PAYSIM_BIN=$(BUILD)/boxoffice-paysim node bench/onsale.mjs

# The hot-event hold workload against boxoffice (HTTP, on SQLite and on
# PostgreSQL) and the designs a user would pick instead (PostgreSQL SELECT
# ... FOR UPDATE and a conditional UPDATE in a function, Redis Lua with AOF
# always and without persistence), same machine, same run, same clients
# (bench/bench_compare.sh, bench/bench_peers.c; docs/benchmarks.md); the
# plot docs/img/bench-compare.png; last line boxoffice_sqlite_holds_per_s=...
.PHONY: bench-compare
bench-compare: all $(BUILD)/bench/bench_peers
	BUILD=$(BUILD) bench/bench_compare.sh

# The web UI's seat map of a 100,000-seat venue in headless Chromium: time
# from navigation until it is drawn and a click selects a seat
# (bench/bench_web.mjs); last line seatmap_100k_interactive_ms=...
.PHONY: bench-web
bench-web: all node_modules/.package-lock.json
	BOXOFFICE_BIN=$(BUILD)/boxoffice node bench/bench_web.mjs

# The demo: seeds a venue and events into ./boxoffice.db on first start and
# reuses them after; the admin token is kept in ./boxoffice.admin-token.
# make run DB=postgresql://...: the demo on that store (BOXOFFICE_DB)
run: all
	BUILD=$(BUILD) $(if $(DB),BOXOFFICE_DB='$(DB)') scripts/run-demo

FORMAT_FILES = $(shell find include src tests bench tools -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES)

# The API reference docs/openapi.yaml, linted by Redocly CLI (npm, pinned in
# package-lock.json; config redocly.yaml). `npm ci` runs only when
# node_modules is missing or older than package-lock.json.
.PHONY: lint-openapi
lint-openapi: node_modules/.package-lock.json
	@npm run --silent lint:openapi

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

-include $(shell find $(BUILD)/obj build/fuzz/obj build/san-*/obj -name '*.d' 2>/dev/null)
