# The Julia binding (bindings/julia/Jac).
#
#   julia-check  checks the package's C calls against include/jac.h and the
#                built libjac.so without Julia (tools/check_julia_ccalls), then
#                proves the checker catches breakage (its --self-test), and
#                parses every .jl file (tree-sitter-julia, pinned, installed
#                into build/venv-julia) so syntax errors are caught without Julia
#   julia-tests  runs the package's tests and the examples (seed.jl,
#                function.jl) with Julia when `julia` is on PATH; otherwise says
#                plainly that it skipped them
#
# Julia is not installed by `make test`: the static check is what always runs.

PYTHON ?= python3
JULIA ?= julia
JULIA_PROJECT_DIR := bindings/julia/Jac
JULIA_LIB := $(abspath $(LIBDIR))/libjac.so
JULIA_VENV := $(BUILD)/venv-julia
JULIA_PARSER_PINS := tree-sitter==0.26.1 tree-sitter-julia==0.23.1

.PHONY: julia-check julia-parse julia-tests
julia-check: lib julia-parse
	$(PYTHON) tools/check_julia_ccalls --lib $(LIBDIR)/libjac.so
	$(PYTHON) tools/check_julia_ccalls --self-test --lib $(LIBDIR)/libjac.so

julia-parse:
	@mkdir -p $(BUILD)
	@flock $(BUILD)/venv-julia.lock sh -ec '\
		[ -x $(JULIA_VENV)/bin/pip ] || $(PYTHON) -m venv $(JULIA_VENV); \
		$(JULIA_VENV)/bin/pip install --disable-pip-version-check -q $(JULIA_PARSER_PINS)'
	$(JULIA_VENV)/bin/python bindings/julia/parse_check.py bindings/julia examples/julia

julia-tests: julia-check
	@if command -v $(JULIA) >/dev/null 2>&1; then \
		echo "JAC_LIB=$(JULIA_LIB) $(JULIA) --project=$(JULIA_PROJECT_DIR) -e 'using Pkg; Pkg.test()'"; \
		JAC_LIB=$(JULIA_LIB) $(JULIA) --project=$(JULIA_PROJECT_DIR) -e 'using Pkg; Pkg.test()' && \
		JAC_LIB=$(JULIA_LIB) $(JULIA) --project=$(JULIA_PROJECT_DIR) examples/julia/seed.jl && \
		JAC_LIB=$(JULIA_LIB) $(JULIA) --project=$(JULIA_PROJECT_DIR) examples/julia/function.jl; \
	else \
		echo "julia not on PATH: skipping the Julia package tests (the ccall check ran)"; \
	fi

TEST_TARGETS += julia-check julia-tests
