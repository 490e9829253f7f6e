# libjac: the two commands a newcomer runs are `make demo` and `make test`.
# `.ci/run` runs `make test` and nothing less.

CARGO ?= cargo

.PHONY: demo test lint rust-tests

demo:
	$(CARGO) run --quiet -p jac-core --example seed

test: lint rust-tests

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-tests:
	$(CARGO) test --workspace
