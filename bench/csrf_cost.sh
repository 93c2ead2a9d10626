#!/usr/bin/env bash
# What the CSRF protection costs a page, in instructions counted by
# callgrind (independent of the machine's load): bench/harness's csrf_cost
# (see its doc comment) run for each mode with N and 2N requests; the
# difference over N is the instructions per request, start-up and log-in
# cancelled out. Prints per mode the Ir per request, then
#   CSRF check on a GET: csrf - layer (the demo's stack with and without it)
#   one csrf_field():    one-field - no-field (the request's first token)
#   each further field:  two-fields - one-field
#
# Usage: bench/csrf_cost.sh   Settings: N=2000, PROF_TARGET_DIR (as
# bench/profile.sh: default target-prof beside the checkout).
# Needs: cargo, valgrind.
set -euo pipefail
N=${N:-2000}
PROF_TARGET_DIR=${PROF_TARGET_DIR:-}
[ -n "$PROF_TARGET_DIR" ] && [ "${PROF_TARGET_DIR#/}" = "$PROF_TARGET_DIR" ] && PROF_TARGET_DIR=$PWD/$PROF_TARGET_DIR
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PROF_TARGET_DIR=${PROF_TARGET_DIR:-$(dirname "$ROOT")/target-prof}
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_TARGET_DIR="$PROF_TARGET_DIR" \
  cargo build --release -p session-views-bench --bin csrf_cost
BIN="$PROF_TARGET_DIR/release/csrf_cost"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# total_ir MODE COUNT: the instructions of one whole run.
total_ir() {
  valgrind --tool=callgrind --callgrind-out-file="$WORK/out" "$BIN" "$1" "$2" 2>"$WORK/log" ||
    { cat "$WORK/log" >&2; exit 1; }
  awk '/^(summary|totals):/ { print $2; exit }' "$WORK/out"
}

declare -A PER
for mode in layer csrf no-field one-field two-fields; do
  one=$(total_ir "$mode" "$N")
  two=$(total_ir "$mode" $((2 * N)))
  PER[$mode]=$(awk -v a="$one" -v b="$two" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }')
  printf '%-10s %8s Ir/request\n' "$mode" "${PER[$mode]}"
done
echo
echo "command: bench/csrf_cost.sh (N=$N), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(valgrind --version)"
printf 'CSRF check on a logged-in GET /dashboard (csrf - layer): %+d Ir/request\n' $((PER[csrf] - PER[layer]))
printf 'one csrf_field(), the first token of a request (one-field - no-field): %+d Ir\n' $((PER[one-field] - PER[no-field]))
printf 'each further csrf_field() (two-fields - one-field): %+d Ir\n' $((PER[two-fields] - PER[one-field]))
