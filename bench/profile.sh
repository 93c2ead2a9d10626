#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the same servers
# and pages as bench/run.sh, but a count that does not move with the load of
# the machine (wrk's req/s does), so a change of a few per cent shows.
#
# Builds in release with line tables (CARGO_PROFILE_RELEASE_DEBUG=
# line-tables-only, so callgrind_annotate can name files and lines), into a
# target directory of its own (PROF_TARGET_DIR; the peer in
# PROF_TARGET_DIR/peers)
#   examples/app.rs        memory, cookie, redis, postgres (SESSION_DRIVER=...)
#   bench/harness          floor (the floor binary): the same pages, no sessions
#   bench/peers            peer (tower-sessions MemoryStore), peer-redis,
#                          peer-postgres (tower-sessions-sqlx-store)
# and, per scenario, starts each selected server afresh under
#   valgrind --tool=callgrind --instr-atstart=no
# (no scenario inherits another's sessions; the Redis databases are emptied
# and the PostgreSQL tables dropped in between), prefills each store with STORE_SESSIONS sessions (logins
# without cookies, as bench/run.sh; the floor and the cookie driver keep
# none), logs in, checks that all send the same pages, and then, one server
# at a time:
#   dashboard  GET /dashboard, logged in (the floor gets the same Cookie header)
#   flash      POST /flash, then GET / with the cookies the POST set: a flash
#              round trip (2 requests; curl's cookie engine carries the jar)
# sends WARMUP_REQUESTS uninstrumented, switches instrumentation on
# (callgrind_control -i on), sends N requests over one keep-alive connection
# from one curl process (a --config file of N transfers), dumps
# (callgrind_control -d) and switches it off again. The dump's total Ir over
# all threads, divided by the requests (flash: by the round trips), is the
# figure: everything the server process executed for them (hyper, tokio, the
# session layer, the templates), not curl's nor Redis's share.
#
# Prints per scenario and server: instructions per request (flash: per round
# trip), floor/ours and peer/ours (memory, cookie: peer; redis: peer-redis;
# postgres: peer-postgres); above 1.00x means fewer instructions than the
# other. For postgres and peer-postgres also the SQL statements per request
# (flash: per round trip), counted by pg_stat_statements over the same
# window: exact, since one server at a time is measured. The database's own
# instructions are not in the Ir count.
#
# Usage: bench/profile.sh
# Settings (environment): N=2000 (requests per scenario and server; flash
#   sends N/2 round trips) WARMUP_REQUESTS=50 PORT_BASE=18300
#   SERVERS="floor memory cookie peer" (also redis, peer-redis, dropped when
#   Redis does not answer; postgres, peer-postgres, dropped when there is no
#   PostgreSQL; BENCH_DATABASE_URL as in bench/run.sh: unset, a cluster of
#   the script's own with pg_stat_statements) BENCH_REDIS_URL=redis://127.0.0.1:6379/11 and
#   BENCH_PEER_REDIS_URL=redis://127.0.0.1:6379/12 (as bench/run.sh: empty
#   databases of their own) PEER_REDIS_POOL=4
#   STORE_SESSIONS=1000 (sessions in each store before measuring; the count
#   of instructions hardly depends on it, the cache misses bench/run.sh's
#   1M store shows are not instructions; under valgrind a million logins
#   take several minutes per server) PREFILL_PARALLEL=8
#   PROF_TARGET_DIR (default: target-prof beside the checkout, so that the
#   debug-info build never replaces the binaries of the usual target dir)
#   PROFILE_KEEP=DIR keeps the callgrind files of the measured windows there
#   (DIR/SCENARIO-SERVER.callgrind) and prints how to annotate them.
# Needs: cargo, curl, valgrind (Debian: apt-get install valgrind).
# Shared shell (servers, login, page check): bench/lib.sh.
set -euo pipefail

N=${N:-2000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-50}
PORT_BASE=${PORT_BASE:-18300}
read -ra SERVERS <<<"${SERVERS:-floor memory cookie peer}"
SCENARIOS=(dashboard flash)
PEER_REDIS_POOL=${PEER_REDIS_POOL:-4}
STORE_SESSIONS=${STORE_SESSIONS:-1000}
MEMORY_MAX_SESSIONS=${MEMORY_MAX_SESSIONS:-4000000}
PROFILE_KEEP=${PROFILE_KEEP:-}
COMMAND="bench/profile.sh (N=$N WARMUP_REQUESTS=$WARMUP_REQUESTS STORE_SESSIONS=$STORE_SESSIONS SERVERS=\"${SERVERS[*]}\")"
# Directories given relative to where the script was started.
PROF_TARGET_DIR=${PROF_TARGET_DIR:-}
[ -n "$PROF_TARGET_DIR" ] && [ "${PROF_TARGET_DIR#/}" = "$PROF_TARGET_DIR" ] && PROF_TARGET_DIR=$PWD/$PROF_TARGET_DIR
[ -n "$PROFILE_KEEP" ] && [ "${PROFILE_KEEP#/}" = "$PROFILE_KEEP" ] && PROFILE_KEEP=$PWD/$PROFILE_KEEP

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PROF_TARGET_DIR=${PROF_TARGET_DIR:-$(dirname "$ROOT")/target-prof}
. "$ROOT/bench/lib.sh"

need cargo curl perl valgrind callgrind_control
if [ "$N" -lt 2 ] || [ $((N % 2)) != 0 ] || [ $((WARMUP_REQUESTS % 2)) != 0 ]; then
  echo "N and WARMUP_REQUESTS must be even, N at least 2 (flash sends round trips)" >&2
  exit 1
fi
redis_select
redis_require_empty

echo "== building (release, line tables) into $PROF_TARGET_DIR"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
# One cargo invocation, so the demo and the floor share one set of dependency
# features (the same MiniJinja, hyper and tokio).
CARGO_TARGET_DIR="$PROF_TARGET_DIR" cargo build --release \
  -p session-views --example app -p session-views-bench --bin floor
BIN="$PROF_TARGET_DIR/release"
if has_server peer || has_server peer-redis || has_server peer-postgres; then
  CARGO_TARGET_DIR="$PROF_TARGET_DIR/peers" \
    cargo build --release --manifest-path bench/peers/Cargo.toml --bin peer
fi
PEER_BIN="$PROF_TARGET_DIR/peers/release"

GIT=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
# What the build may include beyond that commit.
DIRTY=$(git status --short -- crates src examples templates bench/harness bench/peers Cargo.toml Cargo.lock 2>/dev/null |
  awk '{ printf "%s%s", sep, $2; sep = " " }' || true)

make_work_dir

assign_ports
# After make_work_dir, whose clean-up stops the cluster this may start.
pg_select

# curl_config SERVER SCENARIO COUNT FILE: a curl --config file of COUNT
# requests (flash: COUNT/2 round trips) for one curl process, so one
# connection. Each transfer writes "HTTP-code connects" to stdout; the bodies
# go to /dev/null, or to DIR/1, DIR/2, ... with BODIES=DIR.
curl_config() {
  local server=$1 scenario=$2 count=$3 file=$4 i cookie body
  if [ "$server" = floor ] || [ "$scenario" = dashboard ]; then
    cookie="header = \"Cookie: ${DASH_COOKIE[$server]}\""
  else
    cookie="cookie = \"$WORK/$server.jar\""$'\n'"cookie-jar = \"$WORK/$server.jar\""
  fi
  {
    for i in $(seq "$count"); do
      [ "$i" -gt 1 ] && echo next
      body=/dev/null
      [ -n "${BODIES:-}" ] && body="$BODIES/$i"
      case $scenario in
        dashboard) echo "url = \"${URL[$server]}/dashboard\"" ;;
        flash)
          if [ $((i % 2)) = 1 ]; then
            echo "url = \"${URL[$server]}/flash\""
            echo "data = \"level=success&message=${MESSAGE// /+}\""
          else
            echo "url = \"${URL[$server]}/\""
          fi ;;
      esac
      echo "$cookie"
      echo silent
      echo "output = \"$body\""
      # (the \n is for curl)
      printf '%s\n' 'write-out = "%{http_code} %{num_connects}\n"'
    done
  } >"$file"
}

# send SERVER SCENARIO COUNT CONFIG: runs the config; exits unless every
# answer has the expected status (flash: 303, 200, ...) and all went over one
# connection.
send() {
  local server=$1 scenario=$2 count=$3 config=$4 out
  out=$(curl --config "$config")
  if ! echo "$out" | awk -v sc="$scenario" -v n="$count" '
      { want = (sc == "flash" && NR % 2 == 1) ? 303 : 200
        if ($1 != want) bad++; connects += $2 }
      END { exit !(NR == n && !bad && connects == 1) }'; then
    echo "$server $scenario: unexpected answers (want $count, one connection; count, code, connects):" >&2
    echo "$out" | sort | uniq -c >&2
    exit 1
  fi
}

# start_scenario SCENARIO: fresh servers under callgrind, prefilled, logged
# in, their pages checked (and, for flash, the round trip).
start_scenario() {
  local scenario=$1 server start i
  [ "${#REDIS_DBS[@]}" -gt 0 ] && redis_flush
  pg_flush
  echo "== $scenario: starting ${SERVERS[*]} under callgrind"
  for server in "${SERVERS[@]}"; do
    start_server "$server" valgrind --tool=callgrind --instr-atstart=no \
      --callgrind-out-file="$WORK/$scenario-$server.callgrind"
  done
  # Starting under valgrind takes a while.
  wait_for_servers 300
  for server in "${SERVERS[@]}"; do
    case $server in floor | cookie) continue ;; esac
    start=$(date +%s.%N)
    prefill "$server" "$STORE_SESSIONS"
    echo "   $server: $STORE_SESSIONS sessions in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  done
  login_servers 0
  check_pages "${SERVERS[0]}" "${SERVERS[0]}"
  [ "$scenario" = flash ] || return 0
  # The flash round trips start from a logged-in jar of their own; the
  # floor, which sets no cookies, gets memory's Cookie header (as in
  # bench/run.sh).
  for server in "${SERVERS[@]}"; do
    [ "$server" = floor ] && continue
    login "${URL[$server]}" "$WORK/$server.jar" >/dev/null
  done
  for server in "${SERVERS[@]}"; do
    mkdir -p "$WORK/bodies.$server"
    BODIES="$WORK/bodies.$server" curl_config "$server" flash 6 "$WORK/check.curl"
    send "$server" flash 6 "$WORK/check.curl"
    for i in 2 4 6; do
      if ! grep -q "$MESSAGE" "$WORK/bodies.$server/$i"; then
        echo "$server: GET / after POST /flash does not show the message (round trip $((i / 2)))" >&2
        exit 1
      fi
    done
  done
}

# callgrind_control, quiet unless it fails (its exit status is 0 even then;
# it answers "OK." when the command was done).
control() {
  local out
  if ! out=$(callgrind_control "$@" 2>&1) || ! echo "$out" | grep -q 'OK\.$'; then
    echo "callgrind_control $* failed:" >&2
    echo "$out" >&2
    exit 1
  fi
}

# measure SERVER SCENARIO: sets IR to the total Ir of N requests; it is the
# dump number DUMPS[SCENARIO-SERVER] of that server (one per call).
declare -A DUMPS
measure() {
  local server=$1 scenario=$2 pid=${PID[$1]} n f files out="$WORK/$2-$1.callgrind"
  curl_config "$server" "$scenario" "$N" "$WORK/run.curl"
  if [ "$WARMUP_REQUESTS" -gt 0 ]; then
    curl_config "$server" "$scenario" "$WARMUP_REQUESTS" "$WORK/warmup.curl"
    send "$server" "$scenario" "$WARMUP_REQUESTS" "$WORK/warmup.curl"
  fi
  pg_stats_reset
  control -i on "$pid"
  send "$server" "$scenario" "$N" "$WORK/run.curl"
  STMTS=""
  case $server in postgres | peer-postgres) [ "$PG_STATS" = 1 ] && STMTS=$(pg_statements) ;; esac
  control -d "$pid"
  control -i off "$pid"
  n=$((${DUMPS[$scenario-$server]:-0} + 1))
  DUMPS[$scenario-$server]=$n
  # One file per dump (per thread with --separate-threads=yes: sum them).
  files=("$out.$n" "$out.$n"-*)
  IR=0
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    IR=$(awk -v s="$IR" '/^totals:/ { s += $2 } END { printf "%.0f", s }' "$f")
    if [ -n "$PROFILE_KEEP" ]; then
      cp "$f" "$PROFILE_KEEP/$scenario-$server.callgrind${f#"$out.$n"}"
    fi
  done
  if [ "$IR" = 0 ]; then
    echo "no callgrind dump for $server $scenario (looked for ${files[0]}):" >&2
    ls "$WORK" >&2
    exit 1
  fi
}

[ -n "$PROFILE_KEEP" ] && mkdir -p "$PROFILE_KEEP"
echo "== $N requests per scenario and server ($WARMUP_REQUESTS before, not counted)"
declare -A PER STMT
for scenario in "${SCENARIOS[@]}"; do
  start_scenario "$scenario"
  for server in "${SERVERS[@]}"; do
    start=$(date +%s.%N)
    measure "$server" "$scenario"
    per=$N
    [ "$scenario" = flash ] && per=$((N / 2))
    PER[$scenario.$server]=$(awk -v ir="$IR" -v n="$per" 'BEGIN { printf "%.0f", ir / n }')
    STMT[$scenario.$server]="-"
    [ -n "$STMTS" ] && STMT[$scenario.$server]=$(awk -v s="$STMTS" -v n="$per" 'BEGIN { printf "%.2f", s / n }')
    printf '%s %s: %s Ir in %s s\n' "$scenario" "$server" "$IR" \
      "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  done
  stop_servers
done
[ "${#REDIS_DBS[@]}" -gt 0 ] && redis_flush
pg_flush

echo
echo "command:   $COMMAND"
echo "git $GIT${DIRTY:+, uncommitted: $DIRTY}; $(valgrind --version), $(curl --version | head -1 | awk '{ print $1, $2 }')"
echo "dashboard: GET /dashboard x $N, one connection, Cookie header of a logged-in session"
echo "flash:     (POST /flash, GET /) x $((N / 2)), one connection, curl's cookie jar"
echo "(Ir: instructions the server process executed, all threads, counted by callgrind;"
echo " vs floor = floor/ours, vs peer = peer/ours: above 1.00x means fewer instructions)"
echo
printf '| %-9s | %-13s | %14s | %8s | %8s | %9s |\n' scenario server "Ir/request" "vs floor" "vs peer" "SQL/req"
printf '|%s|%s|%s|%s|%s|%s|\n' ----------- --------------- ---------------: ---------: ---------: ----------:
for scenario in "${SCENARIOS[@]}"; do
  for server in "${SERVERS[@]}"; do
    per=${PER[$scenario.$server]}
    vs_floor="-"
    [ "$server" != floor ] && has_server floor && vs_floor=$(ratio "${PER[$scenario.floor]}" "$per")
    peer=$(peer_of "$server")
    vs_peer="-"
    [ -n "$peer" ] && vs_peer=$(ratio "${PER[$scenario.$peer]}" "$per")
    printf '| %-9s | %-13s | %14s | %8s | %8s | %9s |\n' "$scenario" "$server" "$per" "$vs_floor" "$vs_peer" \
      "${STMT[$scenario.$server]}"
  done
done
echo "(flash: Ir and SQL statements per round trip, POST /flash + GET /; SQL/req: statements"
echo " the database executed, pg_stat_statements calls with BEGIN/COMMIT, for postgres and peer-postgres)"

if [ -n "$PROFILE_KEEP" ]; then
  echo
  echo "callgrind files of the measured windows in $PROFILE_KEEP; for example:"
  for f in "$PROFILE_KEEP"/*.callgrind*; do
    echo "  callgrind_annotate --inclusive=yes $f | head -60"
  done
fi
