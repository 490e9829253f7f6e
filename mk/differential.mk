# The differential test of tests/differential/: random programs from seeds,
# built through the C ABI (Python + ctypes against build/lib/libjac.so) and
# checked against an independent numpy interpreter (values), central
# differences (Jacobians) and differences of a complex-step gradient
# (Hessians), full and through random index reads on fresh Jacobian objects
# (values, shapes, rows evaluated, caching). See tests/differential/README.md.
#
#   make differential-tests   the fixed seed list below (part of make test)
#   python3 tests/differential/run.py --seeds 0:10000 --jobs 2
#                             a longer run (re-runs itself under build/venv's
#                             python when python3 has no numpy)
#
# numpy is the pin of bench/peers/requirements.txt, in build/venv: reused when
# it already has that numpy, else installed there (under the lock mk/cpp.mk
# takes, as other areas use the same venv).

DIFF_VENV := $(BUILD)/venv
DIFF_PYTHON := $(DIFF_VENV)/bin/python
DIFF_NUMPY := $(shell sed -n 's/^numpy==//p' bench/peers/requirements.txt)
# The fixed list: about 20 s on the 2-core machine this was written on
# (one worker; DIFF_JOBS=2 halves it).
DIFF_SEEDS ?= 0:3000
DIFF_JOBS ?= 1

TEST_TARGETS += differential-tests

.PHONY: differential-tests differential-venv

differential-venv:
	@mkdir -p $(BUILD)
	@flock $(BUILD)/venv.lock sh -ec '\
		if [ -x $(DIFF_PYTHON) ] && $(DIFF_PYTHON) -c "import sys, numpy; sys.exit(numpy.__version__ != sys.argv[1])" \
			$(DIFF_NUMPY) 2>/dev/null; then exit 0; fi; \
		[ -x $(DIFF_VENV)/bin/pip ] || python3 -m venv $(DIFF_VENV); \
		$(DIFF_VENV)/bin/pip install --disable-pip-version-check -q numpy==$(DIFF_NUMPY)'

differential-tests: lib differential-venv
	$(DIFF_PYTHON) tests/differential/run.py --seeds $(DIFF_SEEDS) --jobs $(DIFF_JOBS) --lib $(LIBDIR)/libjac.so
