# The libFuzzer target of the C ABI: fuzz/jac_fuzz.c (a program of jac_* calls
# decoded from the input; see fuzz/README.md) linked with a static libjac whose
# Rust code carries sanitizer-coverage counters, so libFuzzer is guided by the
# engine's branches, not just the harness's.
#
#   make fuzz         run for FUZZ_SECONDS (default 600) or FUZZ_RUNS executions on
#                     the working corpus build/fuzz/corpus (seeded from fuzz/corpus);
#                     FUZZ_JOBS=2 runs that many processes sharing the corpus
#   make fuzz-smoke   (part of make test) 60 s from the committed fuzz/corpus on a
#                     fresh copy; any crash, timeout, leak or OOM fails it
#   make fuzz-build   only build build/fuzz/jac_fuzz
#   make fuzz-seeds   rewrite the generated seeds fuzz/corpus/gen-* and fuzz/dict
#   make fuzz-merge   add to fuzz/corpus a greedy set cover of the edges that
#                     build/fuzz/corpus reaches and fuzz/corpus does not
#
# Reproduce a finding: build/fuzz/jac_fuzz build/fuzz/artifacts/crash-...
# (JAC_FUZZ_TRACE=1 prints the call sequence). Artifacts never land in the
# source tree: everything goes under build/fuzz.
#
# clang and its sanitizer/libFuzzer runtime come from Debian's packages
# (installed once when no working clang is found; needs root or sudo).
# FUZZ_DEFS=-DJAC_FUZZ_NO_HANDLE_MIX leaves out the calls that pass a
# Jacobian handle where a tensor handle is expected (and the reverse).

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_BIN := $(FUZZ_DIR)/jac_fuzz
FUZZ_CC ?= clang-16
FUZZ_APT_PACKAGES ?= clang-16 libclang-rt-16-dev
FUZZ_DEFS ?=
FUZZ_SECONDS ?= 600
FUZZ_RUNS ?=
FUZZ_JOBS ?= 1
FUZZ_SMOKE_SECONDS ?= 60
# Per input: the target bounds its own work, so 10 s is a hang, not a slow input.
# libFuzzer's timer is wall-clock: a run that shares its cores (nice 19 behind
# builds) needs more, e.g. FUZZ_TIMEOUT=120, or starved inputs are reported.
FUZZ_TIMEOUT ?= 10
# -entropic=0: with tens of thousands of features per run, the entropic
# schedule's bookkeeping took half the time (measured: 180 vs 390 exec/s
# with the larger work limits the target had then).
FUZZ_FLAGS := -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=4096 -max_len=4096 -dict=fuzz/dict -entropic=0 \
	-artifact_prefix=$(FUZZ_DIR)/artifacts/ -print_final_stats=1
# malloc_context_size=0: no stack is recorded per allocation (a quarter of
# the time, perf); rerun a finding without it for allocation stacks.
FUZZ_ASAN_OPTIONS := allocator_may_return_null=1:detect_leaks=1:malloc_context_size=0

RUSTC ?= rustc
FUZZ_TRIPLE = $(shell $(RUSTC) -vV 2>/dev/null | sed -n 's/^host: //p')
FUZZ_TARGET_DIR := target/fuzz
FUZZ_LIB = $(FUZZ_TARGET_DIR)/$(FUZZ_TRIPLE)/release/libjac.a
# Coverage counters (8-bit inline + PC table, as clang's -fsanitize=fuzzer
# emits), comparison tracing for libFuzzer's value profile and CMP hints, and
# the checks of a debug build so overflows and assertions become findings
# (a panic reaches C as JAC_ERR_INTERNAL). --target keeps these flags off
# build scripts and proc macros, which are linked without the runtime.
FUZZ_RUSTFLAGS := -C passes=sancov-module \
	-C llvm-args=-sanitizer-coverage-level=3 \
	-C llvm-args=-sanitizer-coverage-inline-8bit-counters \
	-C llvm-args=-sanitizer-coverage-pc-table \
	-C llvm-args=-sanitizer-coverage-trace-compares \
	-C debug-assertions -C overflow-checks -C force-frame-pointers=yes
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Iinclude \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIBS := -lpthread -ldl -lm -lrt -lutil
FUZZ_SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

TEST_TARGETS += fuzz-smoke

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-lib fuzz-toolchain fuzz-seeds fuzz-merge

# Idempotent: a clang that links a libFuzzer+ASan+UBSan program is all it needs.
fuzz-toolchain:
	@mkdir -p $(FUZZ_DIR)
	@printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
		> $(FUZZ_DIR)/probe.c
	@if $(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe >/dev/null 2>&1; then \
		echo "fuzz-toolchain: $(FUZZ_CC) links libFuzzer + ASan + UBSan"; \
	else \
		echo "fuzz-toolchain: installing $(FUZZ_APT_PACKAGES)"; \
		$(FUZZ_SUDO) apt-get update && $(FUZZ_SUDO) apt-get install -y $(FUZZ_APT_PACKAGES) && \
		$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe; \
	fi

# Cargo decides whether anything needs rebuilding.
fuzz-lib:
	@test -n "$(FUZZ_TRIPLE)" || { echo "fuzz-lib: cannot read the host triple from '$(RUSTC) -vV'" >&2; exit 1; }
	CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) RUSTFLAGS="$(FUZZ_RUSTFLAGS)" \
		$(CARGO) rustc --release -p jac-capi --target $(FUZZ_TRIPLE) --crate-type staticlib

# The Rust code must really be instrumented: without its counters libFuzzer
# would only see the harness's branches.
fuzz-build: fuzz-toolchain fuzz-lib
	@nm $(FUZZ_LIB) 2>/dev/null | grep -q '__sanitizer_cov_8bit_counters_init' || { \
		echo "fuzz-build: $(FUZZ_LIB) has no coverage counters" >&2; exit 1; }
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS) fuzz/jac_fuzz.c $(FUZZ_LIB) $(FUZZ_LIBS) -o $(FUZZ_BIN)

# FUZZ_JOBS > 1: that many independent processes (-jobs/-workers) sharing the
# working corpus, each running FUZZ_RUNS/FUZZ_JOBS inputs (or FUZZ_SECONDS).
# Measured here: one plain process 1372 exec/s, -fork=2 about 540 exec/s in
# total (each fork job restarts and reloads the corpus). libFuzzer writes
# fuzz-<job>.log into the current directory, so the jobs run in $(FUZZ_DIR);
# the total executed is summed from those logs at the end.
FUZZ_ABS_FLAGS = -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=4096 -max_len=4096 -dict=$(abspath fuzz/dict) -entropic=0 \
	-artifact_prefix=$(abspath $(FUZZ_DIR))/artifacts/ -print_final_stats=1
fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
ifeq ($(FUZZ_JOBS),1)
	ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) \
		$(FUZZ_BIN) $(FUZZ_FLAGS) \
		$(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) \
		$(FUZZ_DIR)/corpus fuzz/corpus
else
	@rm -f $(FUZZ_DIR)/fuzz-*.log
	cd $(FUZZ_DIR) && ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) \
		./jac_fuzz $(FUZZ_ABS_FLAGS) -jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS) \
		$(if $(FUZZ_RUNS),-runs=$$(( $(FUZZ_RUNS) / $(FUZZ_JOBS) )),-max_total_time=$(FUZZ_SECONDS)) \
		corpus $(abspath fuzz/corpus); \
		status=$$?; \
		awk '/stat::number_of_executed_units/ { n += $$2 } END { printf "fuzz: %d executions in total over $(FUZZ_JOBS) jobs\n", n }' fuzz-*.log; \
		grep -l -E 'FINDING|ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error|deadly signal|detected memory leaks' fuzz-*.log \
			&& { echo "fuzz: a finding is in the log(s) above" >&2; exit 1; }; \
		exit $$status
endif

fuzz-smoke: fuzz-build
	@rm -rf $(FUZZ_DIR)/smoke-corpus && mkdir -p $(FUZZ_DIR)/smoke-corpus $(FUZZ_DIR)/artifacts
	ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) \
		$(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SMOKE_SECONDS) \
		$(FUZZ_DIR)/smoke-corpus fuzz/corpus

fuzz-seeds:
	python3 fuzz/gen_seeds.py fuzz/corpus fuzz/dict

fuzz-merge: fuzz-build
	@mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_BIN) $(FUZZ_FLAGS) -set_cover_merge=1 -use_counters=0 fuzz/corpus $(FUZZ_DIR)/corpus
