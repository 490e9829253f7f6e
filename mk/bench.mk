# Benchmarks: the workloads of BENCHMARKS.md (sizes in bench/workloads.json)
# through the Rust API (jac-bench) and the C ABI (jac-bench-c).
#
#   make bench        every workload, full size, both drivers, one JSON line each,
#                     then the per-op micro-benchmark (bench/c/micro.c)
#   make bench-smoke  (part of make test) tiny sizes; checksums must match the
#                     numpy reference with hand-derived Jacobians; no timing asserted
#   python3 bench/peers/run.py   the side-by-side table with the peers (installs them)

BENCH_DIR := $(BUILD)/bench
BENCH_C := $(BENCH_DIR)/jac-bench-c
BENCH_MICRO := $(BENCH_DIR)/jac-bench-micro
BENCH_RUST := target/release/jac-bench
BENCH_VENV := $(BUILD)/venv-bench
NUMPY_PIN := $(shell sed -n 's/^numpy==//p' bench/peers/requirements.txt)
WORKLOADS := W1 W2 W3rows W3cols W3full W4 W5 W6 W6replay W7rebuild W7replay W8rebuild W8replay W9rebuild W9replay \
	W10denseRebuild W10denseReplay W10batchedRebuild W10batchedReplay W11rebuild W11replay M1rebuild M1replay

TEST_TARGETS += bench-smoke

.PHONY: bench bench-smoke bench-drivers
bench-drivers: lib
	$(CARGO) build --release -p jac-bench
	mkdir -p $(BENCH_DIR)
	python3 bench/c/gen_workloads.py bench/workloads.json $(BENCH_DIR)/workloads.h
	$(CC) -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -Iinclude -I$(BENCH_DIR) bench/c/bench.c \
		-L$(LIBDIR) -ljac -lm -Wl,-rpath,$(abspath $(LIBDIR)) -o $(BENCH_C)
	$(CC) -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -Iinclude bench/c/micro.c \
		-L$(LIBDIR) -ljac -lm -Wl,-rpath,$(abspath $(LIBDIR)) -o $(BENCH_MICRO)

bench: bench-drivers
	@for w in $(WORKLOADS); do $(BENCH_RUST) --mode full --workload $$w; $(BENCH_C) --mode full --workload $$w; done
	$(BENCH_MICRO)

$(BENCH_VENV)/bin/python:
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet numpy==$(NUMPY_PIN)

bench-smoke: bench-drivers $(BENCH_VENV)/bin/python
	python3 bench/check_smoke.py $(BENCH_VENV)/bin/python $(BENCH_RUST) $(abspath $(BENCH_C))
	@# The micro-benchmark's gradient against dual numbers, at a tiny size.
	$(BENCH_MICRO) --steps 50 --runs 1
