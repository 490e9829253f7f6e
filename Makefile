# libjac. A newcomer runs two commands:
#
#   make demo   builds libjac and runs the seed example (examples/c/seed.c)
#   make test   runs every test: lint, Rust tests, header drift, C tests
#               (plain, valgrind, ASan+UBSan), C++ and Julia binding checks,
#               benchmark smoke run, install + pkg-config/CMake consumers,
#               the differential test, a 60 s libFuzzer run of the C ABI
#
# `.ci/run` runs `make test` and nothing less. Each area adds its targets to
# TEST_TARGETS (and INSTALL_TARGETS) from its file under mk/.

CARGO ?= cargo
CC ?= cc
CXX ?= c++
PREFIX ?= /usr/local
DESTDIR ?=

BUILD := build
VERSION := $(shell sed -n 's/^version = "\([0-9.]*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))

TEST_TARGETS :=
INSTALL_TARGETS :=

.PHONY: all demo test lint rust-tests header install
all: lib

include mk/lib.mk
-include mk/c.mk
-include mk/cpp.mk
-include mk/julia.mk
-include mk/bench.mk
-include mk/fuzz.mk
-include mk/differential.mk

# After the includes: make fixes a rule's prerequisites when it reads it.
install: install-c $(INSTALL_TARGETS)

demo: lib
	$(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude examples/c/seed.c \
		-L$(LIBDIR) -ljac -Wl,-rpath,$(abspath $(LIBDIR)) -o $(BUILD)/seed
	$(BUILD)/seed

test: lint rust-tests $(TEST_TARGETS)
	@echo "make test: every check passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Includes the header drift check (crates/jac-capi/tests/header.rs).
rust-tests:
	$(CARGO) test --workspace

# Regenerates include/jac.h from crates/jac-capi with the pinned cbindgen.
header:
	JAC_BLESS_HEADER=1 $(CARGO) test -p jac-capi --test header
