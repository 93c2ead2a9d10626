# One task runner for people and CI (.ci/run calls `make ci`).
CARGO ?= cargo

.PHONY: ci test fmt-check clippy doc bench demo

ci: fmt-check clippy doc test

# The test command the README gives.
test:
	$(CARGO) test --workspace --all-features

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings -D rustdoc::broken-intra-doc-links" $(CARGO) doc --workspace --all-features --no-deps

bench:
	$(CARGO) bench --workspace

demo:
	$(CARGO) run --example app
