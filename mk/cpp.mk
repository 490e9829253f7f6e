# The C++ binding: bindings/cpp/jac.hpp (header-only, C++17, over jac.h), its
# tests, the C++ seed example and the CMake package (find_package(jac)).
#
#   make cpp-tests      compile and run every bindings/cpp/tests/test_*.cpp and examples/cpp/seed.cpp
#   make cpp-valgrind   the same programs under valgrind (leaks of every kind are errors)
#   make cpp-header     jac.hpp on its own (C++17 and C++20), and in two translation units linked together
#   make cpp-consumer   `make install` into build/prefix-cpp, then a CMake project using find_package(jac)
#   make cpp-example    build and run examples/cpp/seed.cpp
#
# CMake is not assumed: cpp-consumer installs a pinned one from PyPI into
# build/venv (reused when it already has a cmake).

CPP_DIR := bindings/cpp
CPP_TESTS_DIR := $(CPP_DIR)/tests
CPP_BUILD := $(BUILD)/cpp
CPP_WARNINGS := -std=c++17 -Wall -Wextra -Wpedantic -Werror
CPP_CXXFLAGS := $(CPP_WARNINGS) -g -O1 -Iinclude -I$(CPP_DIR)
CPP_LDFLAGS := -L$(LIBDIR) -ljac -Wl,-rpath,$(abspath $(LIBDIR))
CPP_HEADERS := $(CPP_DIR)/jac.hpp include/jac.h

CPP_TEST_NAMES := $(basename $(notdir $(wildcard $(CPP_TESTS_DIR)/test_*.cpp)))
CPP_TEST_BINS := $(addprefix $(CPP_BUILD)/,$(CPP_TEST_NAMES))
CPP_EXAMPLE := $(CPP_BUILD)/seed
CPP_PROGRAMS := $(CPP_TEST_BINS) $(CPP_EXAMPLE)

CPP_VALGRIND := valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
	--error-exitcode=99 --suppressions=$(abspath tests/valgrind.supp)

CPP_PREFIX := $(abspath $(BUILD)/prefix-cpp)
CPP_VENV := $(BUILD)/venv
CPP_CMAKE := $(CPP_VENV)/bin/cmake
# Pinned: the newest 3.x on PyPI when this was written; the consumer needs >= 3.14.
CPP_CMAKE_VERSION := 3.31.6
CPP_MINOR := $(word 2,$(subst ., ,$(VERSION)))

TEST_TARGETS += cpp-tests cpp-valgrind cpp-header cpp-consumer
INSTALL_TARGETS += install-cpp

.PHONY: cpp-tests cpp-valgrind cpp-header cpp-consumer cpp-example cpp-cmake install-cpp

# The library is an order-only prerequisite: the programs load it at run
# time, so a rebuilt libjac.so needs no relink.
$(CPP_BUILD)/test_%: $(CPP_TESTS_DIR)/test_%.cpp $(CPP_TESTS_DIR)/check.hpp $(CPP_HEADERS) | lib
	@mkdir -p $(@D)
	$(CXX) $(CPP_CXXFLAGS) $< $(CPP_LDFLAGS) -o $@

$(CPP_EXAMPLE): examples/cpp/seed.cpp $(CPP_HEADERS) | lib
	@mkdir -p $(@D)
	$(CXX) $(CPP_CXXFLAGS) $< $(CPP_LDFLAGS) -o $@

# Runs every program (stopping at the first that fails or crashes), then
# sums their "<name>: N passed, N failed" lines.
cpp-tests: $(CPP_PROGRAMS)
	@: > $(CPP_BUILD)/results.txt; \
	for t in $(CPP_TEST_BINS); do \
		$$t > $$t.log 2>&1; rc=$$?; cat $$t.log; cat $$t.log >> $(CPP_BUILD)/results.txt; \
		[ $$rc -eq 0 ] || { echo "cpp-tests: $$t exited with $$rc" >&2; exit 1; }; \
	done; \
	$(CPP_EXAMPLE) > $(CPP_BUILD)/seed.out || { echo "cpp-tests: $(CPP_EXAMPLE) failed" >&2; exit 1; }; \
	awk '/: [0-9]+ passed, [0-9]+ failed$$/ { p += $$2; f += $$4 } \
		END { printf "cpp-tests: %d passed, %d failed\n", p, f; exit (f != 0) }' $(CPP_BUILD)/results.txt

cpp-example: $(CPP_EXAMPLE)
	$(CPP_EXAMPLE)

cpp-valgrind: $(CPP_PROGRAMS)
	@set -e; for t in $(CPP_PROGRAMS); do \
		echo "valgrind $$t"; $(CPP_VALGRIND) $$t > /dev/null; \
	done; echo "cpp-valgrind: $(words $(CPP_PROGRAMS)) programs, no errors, no leaks"

# jac.hpp must compile as the only include of a translation unit, under
# C++17 and C++20 and the warnings a careful consumer may add, refuse C++14
# with its own message, and link when two translation units include it.
CPP_HEADER_WARNINGS := -Wundef -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast \
	-Wzero-as-null-pointer-constant -Wcast-qual -Wnon-virtual-dtor -Woverloaded-virtual
cpp-header: $(CPP_HEADERS) | lib
	@mkdir -p $(CPP_BUILD)
	$(CXX) $(CPP_WARNINGS) $(CPP_HEADER_WARNINGS) -Iinclude -I$(CPP_DIR) \
		-c $(CPP_TESTS_DIR)/standalone_header.cpp -o $(CPP_BUILD)/standalone17.o
	$(CXX) $(subst c++17,c++20,$(CPP_WARNINGS)) $(CPP_HEADER_WARNINGS) -Iinclude -I$(CPP_DIR) \
		-c $(CPP_TESTS_DIR)/standalone_header.cpp -o $(CPP_BUILD)/standalone20.o
	$(CXX) -std=c++14 -fsyntax-only -Iinclude -I$(CPP_DIR) $(CPP_TESTS_DIR)/standalone_header.cpp 2>&1 \
		| grep -q 'jac.hpp needs C++17 or later'
	$(CXX) $(CPP_WARNINGS) $(CPP_HEADER_WARNINGS) -Iinclude -I$(CPP_DIR) $(CPP_TESTS_DIR)/double_include_a.cpp \
		$(CPP_TESTS_DIR)/double_include_b.cpp $(CPP_LDFLAGS) -o $(CPP_BUILD)/double_include
	$(CPP_BUILD)/double_include

# ---------------------------------------------------------------- install + CMake

install-cpp: $(CPP_DIR)/jac.hpp $(CPP_DIR)/cmake/jacConfig.cmake.in $(CPP_DIR)/cmake/jacConfigVersion.cmake.in
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/cmake/jac
	install -m 644 $(CPP_DIR)/jac.hpp $(DESTDIR)$(PREFIX)/include/jac.hpp
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' $(CPP_DIR)/cmake/jacConfig.cmake.in \
		> $(DESTDIR)$(PREFIX)/lib/cmake/jac/jacConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@MINOR@|$(CPP_MINOR)|g' \
		$(CPP_DIR)/cmake/jacConfigVersion.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/jac/jacConfigVersion.cmake

# A CMake in build/venv: reuse one that is there, else install the pin (under
# a lock, as other areas may use the same venv).
cpp-cmake:
	@mkdir -p $(BUILD)
	@flock $(BUILD)/venv.lock sh -ec '\
		if [ -x $(CPP_CMAKE) ]; then exit 0; fi; \
		[ -x $(CPP_VENV)/bin/pip ] || python3 -m venv $(CPP_VENV); \
		$(CPP_VENV)/bin/pip install --disable-pip-version-check -q cmake==$(CPP_CMAKE_VERSION)'
	@$(CPP_CMAKE) --version | head -n 1

cpp-consumer: cpp-cmake
	rm -rf $(CPP_PREFIX) $(CPP_BUILD)/consumer
	$(MAKE) --no-print-directory install PREFIX=$(CPP_PREFIX)
	$(CPP_CMAKE) -DJAC_CONFIG_DIR=$(CPP_PREFIX)/lib/cmake/jac -DJAC_VERSION=$(VERSION) \
		-P $(CPP_TESTS_DIR)/consumer/version_check.cmake
	$(CPP_CMAKE) -S $(CPP_TESTS_DIR)/consumer -B $(CPP_BUILD)/consumer -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_CXX_COMPILER=$(CXX) -DCMAKE_PREFIX_PATH=$(CPP_PREFIX) > $(CPP_BUILD)/consumer-configure.log \
		|| { cat $(CPP_BUILD)/consumer-configure.log; exit 1; }
	$(CPP_CMAKE) --build $(CPP_BUILD)/consumer
	$(CPP_BUILD)/consumer/jac_consumer
	$(CPP_BUILD)/consumer/jac_consumer_c
