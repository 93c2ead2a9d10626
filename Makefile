# One task runner for people and CI (.ci/run calls `make ci`).
CARGO ?= cargo

.PHONY: ci setup test fmt-check clippy doc package bench bench-http bench-all bench-profile demo

ci: fmt-check clippy doc package test

# What the tests need besides Rust (chromium, chromedriver, Redis, PostgreSQL): installed or
# started when missing, with each step printed; only checks when all is there.
setup:
	scripts/test-deps.sh

# The test command the README gives.
test: setup
	$(CARGO) test --workspace --all-features

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings -D rustdoc::broken-intra-doc-links" $(CARGO) doc --workspace --all-features --no-deps

# Every published crate builds from what `cargo package` puts in it (nothing it
# needs may live outside its folder). Uncommitted files are packaged as they are.
# Cargo verifies each crate against its siblings' packages through a local
# registry, and caches both the unpacked sources and their builds by name and
# version, never checking them again; with the version unchanged between runs
# they would hold the previous run's code. So the unpacked sources are cleared
# (crates.io's own cache is left alone) and verification builds in a target
# directory of its own that starts empty.
PACKAGE_TARGET_DIR ?= target/package-verify
package:
	rm -rf "$${CARGO_HOME:-$$HOME/.cargo}"/registry/src/-* $(PACKAGE_TARGET_DIR)
	CARGO_TARGET_DIR=$(PACKAGE_TARGET_DIR) $(CARGO) package --workspace --exclude session-views-bench --allow-dirty

bench:
	$(CARGO) bench --workspace

# The demo (memory, cookie) against the floor: bench/run.sh's method with
# fewer servers.
bench-http:
	bench/http.sh

# Ours (memory, cookie, redis, postgres) against the floor and the peers under
# wrk, the server pinned to one core and wrk to the other, with 1k and 1M
# sessions in each store, fresh servers per scenario (about an hour once built).
bench-all:
	bench/run.sh

# Instructions per request under callgrind: ours, the floor and the peer,
# independent of the machine's load (needs valgrind).
bench-profile:
	bench/profile.sh

demo:
	$(CARGO) run --example app
