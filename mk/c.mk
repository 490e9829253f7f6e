# The C test programs of tests/ against include/jac.h and build/lib/libjac.so.
#
#   make c-tests      build libjac, compile every tests/test_*.c and run it (test_oom
#                     only here: it limits the address space)
#   make c-valgrind   the same programs under valgrind (memcheck, every leak kind is an error)
#   make c-sanitize   the programs rebuilt with ASan + UBSan (the Rust library is not instrumented)
#   make c-header     header hygiene: jac.h alone as C11, C99 and C++17, and included twice
#   make install-test make install into build/prefix, build tests/install/consumer.c with
#                     pkg-config alone, run it, check the soname and the symlinks
#
# Every output goes under build/tests. The programs are small on purpose: the
# whole C part of `make test` stays within a few minutes on two cores.

C_TESTS := tensor ops grad jacobian hessian function errors threads version sparse
# Run plainly only: they limit the address space, which valgrind and ASan
# need room in for their own bookkeeping.
C_PLAIN_TESTS := oom
C_TEST_DIR := $(BUILD)/tests
C_TEST_BINS := $(C_TESTS:%=$(C_TEST_DIR)/test_%)
C_PLAIN_BINS := $(C_PLAIN_TESTS:%=$(C_TEST_DIR)/test_%)
C_ASAN_BINS := $(C_TESTS:%=$(C_TEST_DIR)/asan/test_%)
C_TEST_DEPS := tests/common.h include/jac.h

C_TEST_WARN := -Wall -Wextra -Wpedantic -Werror
C_TEST_CFLAGS := -std=c11 $(C_TEST_WARN) -O1 -g -pthread -Iinclude -Itests
C_TEST_LIBS := -L$(LIBDIR) -ljac -Wl,-rpath,$(abspath $(LIBDIR)) -pthread -lm
C_SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

VALGRIND ?= valgrind
VALGRIND_FLAGS := --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
	--error-exitcode=99 --quiet --suppressions=$(abspath tests/valgrind.supp)

INSTALL_TEST_PREFIX := $(abspath $(BUILD)/prefix)

TEST_TARGETS += c-tests c-valgrind c-sanitize c-header install-test

.PHONY: c-tests c-test-bins c-valgrind c-sanitize c-header install-test

# `lib` is phony, so the programs relink against whatever it staged.
$(C_TEST_DIR)/test_%: tests/test_%.c $(C_TEST_DEPS) lib
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) $< $(C_TEST_LIBS) -o $@

$(C_TEST_DIR)/asan/test_%: tests/test_%.c $(C_TEST_DEPS) lib
	@mkdir -p $(@D)
	$(CC) $(C_TEST_CFLAGS) $(C_SAN_FLAGS) $< $(C_TEST_LIBS) -o $@

c-test-bins: $(C_TEST_BINS) $(C_PLAIN_BINS)

c-tests: $(C_TEST_BINS) $(C_PLAIN_BINS)
	@set -e; for t in $(C_TEST_BINS) $(C_PLAIN_BINS); do echo "== $$t"; $$t; done

c-valgrind: $(C_TEST_BINS)
	@command -v $(VALGRIND) >/dev/null 2>&1 || { \
		echo "c-valgrind: '$(VALGRIND)' not found; install valgrind (e.g. apt-get install valgrind)" >&2; \
		exit 1; }
	@set -e; for t in $(C_TEST_BINS); do \
		echo "== valgrind $$t"; $(VALGRIND) $(VALGRIND_FLAGS) $$t; done

# The sanitizer runtimes must really be linked: a toolchain that silently
# dropped -fsanitize would otherwise pass vacuously. allocator_may_return_null:
# libjac asks the allocator before computing a huge output so that a refused
# allocation becomes JAC_ERR_OUT_OF_MEMORY; ASan would abort on that request
# instead of refusing it, as malloc does.
c-sanitize: $(C_ASAN_BINS)
	@set -e; for t in $(C_ASAN_BINS); do \
		nm $$t | grep -q '__asan_init' || { echo "c-sanitize: $$t lacks __asan_init" >&2; exit 1; }; \
		nm $$t | grep -q '__ubsan_handle' || { echo "c-sanitize: $$t lacks the UBSan handlers" >&2; exit 1; }; \
		ldd $$t | grep -q 'libasan' || { echo "c-sanitize: $$t is not linked to libasan" >&2; exit 1; }; \
		echo "== asan+ubsan $$t"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98:allocator_may_return_null=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $$t; done

# Beyond the required flags, warnings a careful consumer may enable.
C_HEADER_WARN := $(C_TEST_WARN) -Wundef -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wconversion -Wsign-conversion -Wcast-qual -Wredundant-decls
CXX_HEADER_WARN := -Wall -Wextra -Wpedantic -Werror -Wundef -Wshadow -Wconversion \
	-Wold-style-cast -Wzero-as-null-pointer-constant
C_HEADER_DIR := $(C_TEST_DIR)/header
c-header: lib
	@mkdir -p $(C_HEADER_DIR)
	$(CC) -std=c11 $(C_HEADER_WARN) -Iinclude -c tests/header_only.c -o $(C_HEADER_DIR)/header_c11.o
	$(CC) -std=c99 $(C_HEADER_WARN) -Iinclude -c tests/header_only.c -o $(C_HEADER_DIR)/header_c99.o
	$(CC) -std=c11 $(C_HEADER_WARN) -Iinclude tests/double_include.c $(C_TEST_LIBS) -o $(C_HEADER_DIR)/double_include
	$(CXX) -std=c++17 $(CXX_HEADER_WARN) -Iinclude tests/header_as_cxx.cpp \
		$(C_TEST_LIBS) -o $(C_HEADER_DIR)/header_as_cxx
	$(C_HEADER_DIR)/double_include
	$(C_HEADER_DIR)/header_as_cxx

# A consumer that knows nothing but `pkg-config jac`: the flags come from the
# installed jac.pc alone; the run finds the installed library by
# LD_LIBRARY_PATH (ldd confirms it is that copy).
install-test:
	rm -rf $(INSTALL_TEST_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(INSTALL_TEST_PREFIX)
	@set -e; p=$(INSTALL_TEST_PREFIX); lib=$$p/lib; \
	export PKG_CONFIG_PATH=$$lib/pkgconfig; \
	flags=$$(pkg-config --cflags --libs jac); \
	echo "pkg-config --cflags --libs jac: $$flags"; \
	echo "$$flags" | grep -q -- "-I$$p/include" || { echo "install-test: no -I$$p/include" >&2; exit 1; }; \
	echo "$$flags" | grep -q -- "-L$$lib" || { echo "install-test: no -L$$lib" >&2; exit 1; }; \
	test "$$(pkg-config --modversion jac)" = "$(VERSION)" || { echo "install-test: jac.pc version is not $(VERSION)" >&2; exit 1; }; \
	mkdir -p $(C_TEST_DIR)/install; \
	$(CC) -std=c11 $(C_TEST_WARN) tests/install/consumer.c $$flags -o $(C_TEST_DIR)/install/consumer; \
	test -f $$lib/$(REALNAME) && test ! -L $$lib/$(REALNAME) || { echo "install-test: $(REALNAME) missing" >&2; exit 1; }; \
	test "$$(readlink $$lib/$(SONAME))" = "$(REALNAME)" || { echo "install-test: $(SONAME) does not link to $(REALNAME)" >&2; exit 1; }; \
	test "$$(readlink $$lib/libjac.so)" = "$(SONAME)" || { echo "install-test: libjac.so does not link to $(SONAME)" >&2; exit 1; }; \
	test -f $$lib/libjac.a && test -f $$p/include/jac.h || { echo "install-test: libjac.a or jac.h missing" >&2; exit 1; }; \
	readelf -d $$lib/$(REALNAME) | grep -q "Library soname: \[$(SONAME)\]" || { \
		echo "install-test: the soname of $(REALNAME) is not $(SONAME)" >&2; exit 1; }; \
	readelf -d $(C_TEST_DIR)/install/consumer | grep -q "Shared library: \[$(SONAME)\]" || { \
		echo "install-test: the consumer does not need $(SONAME)" >&2; exit 1; }; \
	LD_LIBRARY_PATH=$$lib ldd $(C_TEST_DIR)/install/consumer | grep -q "$$lib/$(SONAME)" || { \
		echo "install-test: the consumer would not load the installed library" >&2; exit 1; }; \
	LD_LIBRARY_PATH=$$lib $(C_TEST_DIR)/install/consumer
