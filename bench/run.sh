#!/usr/bin/env bash
# The benchmarks in one command: session-views against its peer stack and
# against a bare-hyper floor, over HTTP on loopback with wrk, loaded as users
# load a server (the server saturated, on cores of its own), with a small
# and a large session store; then the memory of a million idle sessions.
#
# Builds in release
#   examples/app.rs        the demo (ours), run three times:
#                            memory  SESSION_DRIVER=memory
#                            cookie  SESSION_DRIVER=cookie
#                            redis   SESSION_DRIVER=redis
#                            postgres SESSION_DRIVER=postgres
#   bench/harness          floor (the floor binary): the same pages on the same
#                          hyper stack and templates (compiled once, as the
#                          demo's), no sessions: the fastest reasonable server
#                          for the same bytes
#   bench/peers            peer: axum 0.8 + tower-sessions 0.14 MemoryStore +
#                          axum-messages 0.8, the same templates with MiniJinja
#                          (compiled once); peer-redis: the same on
#                          tower-sessions-redis-store; peer-postgres: on
#                          tower-sessions-sqlx-store (PostgresStore)
#
# Pinning (PIN=1, the default; needs taskset): every server runs on
# SERVER_CPUS (default 1) with one tokio worker per core there, wrk and curl
# on CLIENT_CPUS (default 0), so the load generator never takes the server's
# CPU time. wrk runs THREADS threads (default: one per client core; more on
# one core only time-slice) over CONNECTIONS connections (64). Each run
# records the server's CPU time (utime + stime from /proc): CPU per request,
# and how busy the server's cores were; a server under 90% busy was not
# saturated, and the script says so (its req/s then measures the client).
# PIN=0 runs everything unpinned, as before.
#
# For each store size in STORE_SIZES (1000 and 1000000 sessions) and each
# scenario, a fresh set of servers (no scenario inherits another's sessions;
# the Redis databases are emptied and the PostgreSQL tables dropped in between), each prefilled with that many
# sessions (logins without cookies; the floor and the cookie driver keep
# none), then logged in, checked to send byte-identical pages, warmed up
# (WARMUP s each) and driven with wrk, interleaved (floor memory cookie redis
# peer peer-redis, then again, ROUNDS times DURATION s) so that drift on the
# machine hits all alike:
#   dashboard  GET /dashboard, logged in (bench/dashboard.lua, Cookie via -H)
#   flash      POST /flash, then GET / carrying the cookies set: a flash round
#              trip per connection (bench/flash.lua; FLASH_CONNECTIONS wrk
#              threads of one connection each; it counts the pages that
#              showed the message)
#   login      a login burst: POST /login without cookies, so each request
#              makes a new session (bench/login.lua; the store grows by the
#              burst). The floor has no login; it gets the same form on its
#              POST /flash (read a form, 303).
# Prints per store size, scenario and server: median req/s, median p99
# latency, the ratio to the floor and to the peer (memory/cookie: peer;
# redis: peer-redis; postgres: peer-postgres), CPU microseconds per request
# and floor/ours of it (the req/s ratio a CPU-bound server gets), how busy the server's cores were,
# the errors, and the server's peak RSS (VmHWM) in that scenario; for
# postgres and peer-postgres, the SQL statements executed per request
# (pg_stat_statements' calls over the run, BEGIN/COMMIT included: the round
# trips to the database). Then the
# memory of FOOTPRINT_SESSIONS idle sessions in our memory driver against
# tower-sessions' MemoryStore (bench/harness's footprint, peer-footprint).
#
# Takes about an hour with the defaults once built (8 servers x 3 scenarios
# x 2 store sizes x 27 s of wrk, and the 1M prefills: those of the two
# PostgreSQL servers take minutes each, peer-postgres's about 8 at the
# ~2k logins/s seen here), plus the first release build of the workspace
# and the peers. SERVERS without postgres peer-postgres: about 30 minutes.
#
# Usage: bench/run.sh
# Settings (environment): STORE_SIZES="1000 1000000" SCENARIOS="dashboard
#   flash login" ROUNDS=5 DURATION=5 (seconds per run) WARMUP=2
#   CONNECTIONS=64 THREADS (dashboard, login) FLASH_CONNECTIONS=16
#   PIN=1 SERVER_CPUS=1 CLIENT_CPUS=0 PORT_BASE=18200
#   SERVERS="floor memory cookie redis postgres peer peer-redis peer-postgres"
#   (a subset is fine; redis and peer-redis are dropped when Redis does not
#   answer, postgres and peer-postgres when there is no PostgreSQL)
#   BENCH_DATABASE_URL (unset: a PostgreSQL cluster of the script's own, made
#   with initdb on PG_PORT=PORT_BASE+90, with pg_stat_statements loaded; a
#   server of yours needs pg_stat_statements in shared_preload_libraries for
#   the statement counts) PEER_POSTGRES_POOL=16
#   BENCH_REDIS_URL=redis://127.0.0.1:6379/11 (ours) and
#   BENCH_PEER_REDIS_URL=redis://127.0.0.1:6379/12 (the peer's): databases
#   of their own, which must be empty at the start (they are emptied between
#   scenarios and at the end) PEER_REDIS_POOL=4
#   MEMORY_MAX_SESSIONS=4000000 (the memory driver's bound: above the
#   prefill plus a login burst, so no session is evicted) PREFILL_PARALLEL=8
#   FOOTPRINT_SESSIONS=1000000 (0 skips it) BENCH_STRICT=1 (exit 1 on a
#   missed target) PEERS_TARGET_DIR (default bench/peers/target)
# Needs: cargo, curl, wrk (Debian: apt-get install wrk), taskset (util-linux);
# redis-cli for the Redis databases; psql, and initdb/pg_ctl (Debian's
# postgresql) unless BENCH_DATABASE_URL is set, for PostgreSQL. Shared shell
# (servers, prefill, login, page check): bench/lib.sh.
set -euo pipefail

read -ra STORE_SIZES <<<"${STORE_SIZES:-1000 1000000}"
read -ra SCENARIOS <<<"${SCENARIOS:-dashboard flash login}"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
FLASH_CONNECTIONS=${FLASH_CONNECTIONS:-16}
PORT_BASE=${PORT_BASE:-18200}
read -ra SERVERS <<<"${SERVERS:-floor memory cookie redis postgres peer peer-redis peer-postgres}"
PEER_REDIS_POOL=${PEER_REDIS_POOL:-4}
FOOTPRINT_SESSIONS=${FOOTPRINT_SESSIONS:-1000000}
MEMORY_MAX_SESSIONS=${MEMORY_MAX_SESSIONS:-4000000}

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BENCH_DIR="$ROOT/bench"
PEERS_TARGET_DIR=${PEERS_TARGET_DIR:-$ROOT/bench/peers/target}
. "$ROOT/bench/lib.sh"

need cargo curl perl wrk
pin_setup
if [ "$PIN" = 1 ]; then
  THREADS=${THREADS:-$(cpu_count "$CLIENT_CPUS")}
else
  THREADS=${THREADS:-$(nproc)}
fi
# Drops redis and peer-redis when Redis does not answer; the databases left
# are emptied between scenarios, so they must be ours.
redis_select
redis_require_empty

echo "== building (release)"
# One cargo invocation: the demo and the floor share one set of dependency features.
cargo build --release -p session-views --example app \
  -p session-views-bench --bin floor --bin footprint
BIN="$(cargo_target_dir)/release"
if has_server peer || has_server peer-redis || [ "$FOOTPRINT_SESSIONS" -gt 0 ]; then
  CARGO_TARGET_DIR="$PEERS_TARGET_DIR" cargo build --release --manifest-path bench/peers/Cargo.toml --bins
fi
PEER_BIN="$PEERS_TARGET_DIR/release"

make_work_dir
assign_ports
# After make_work_dir, whose clean-up stops the cluster this may start.
pg_select

HZ=$(getconf CLK_TCK)
# The CPU time a process has used so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# wrk_run SERVER SCENARIO SECONDS: one wrk run (on the client's cores);
# prints its RESULT line.
wrk_run() {
  local server=$1 scenario=$2 seconds=$3
  case $scenario in
    dashboard)
      "${CLIENT_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH_DIR/dashboard.lua" \
        -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}" ;;
    flash)
      FLASH_COOKIES=${FLASH_COOKIES[$server]} FLASH_MESSAGE=$MESSAGE \
        "${CLIENT_PIN[@]}" wrk -t"$FLASH_CONNECTIONS" -c"$FLASH_CONNECTIONS" -d"${seconds}s" \
        -s "$BENCH_DIR/flash.lua" "${URL[$server]}" ;;
    login)
      if [ "$server" = floor ]; then
        LOGIN_PATH=/flash LOGIN_BODY="level=success&name=Ada+Lovelace" \
          "${CLIENT_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH_DIR/login.lua" "${URL[$server]}"
      else
        "${CLIENT_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH_DIR/login.lua" "${URL[$server]}"
      fi ;;
  esac | grep '^RESULT'
}

# run SERVER SCENARIO SECONDS: wrk_run's line plus the server's CPU
# microseconds per request (cpu_us) and how busy its cores were (busy, %).
run() {
  local server=$1 scenario=$2 seconds=$3 before after start end line requests stmts=""
  case $server in postgres | peer-postgres) pg_stats_reset ;; esac
  before=$(cpu_ticks "${PID[$server]}")
  start=$(date +%s.%N)
  line=$(wrk_run "$server" "$scenario" "$seconds")
  end=$(date +%s.%N)
  after=$(cpu_ticks "${PID[$server]}")
  requests=${line##*requests=}
  requests=${requests%% *}
  case $server in
    postgres | peer-postgres)
      [ "$PG_STATS" = 1 ] && stmts=" stmts_per_req=$(awk -v s="$(pg_statements)" -v n="$requests" \
        'BEGIN { printf "%.3f", n ? s / n : 0 }')" ;;
  esac
  echo "$line$stmts $(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" -v wall="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" \
    -v cores="$SERVER_CORES" \
    'BEGIN { printf "cpu_us=%.2f busy=%.0f", n ? t * 1e6 / hz / n : 0, 100 * t / hz / wall / cores }')"
}

# run_scenario STORE SCENARIO: fresh servers with STORE sessions each, then the
# rounds; appends "STORE/SCENARIO SERVER key=value..." lines to $RESULTS.
run_scenario() {
  local store=$1 scenario=$2 key="$1/$2" server round line start
  echo
  echo "== $scenario, store of $store sessions: starting ${SERVERS[*]}"
  [ "${#REDIS_DBS[@]}" -gt 0 ] && redis_flush
  pg_flush
  for server in "${SERVERS[@]}"; do start_server "$server" "${SERVER_PIN[@]}"; done
  wait_for_servers 100
  for server in "${SERVERS[@]}"; do
    case $server in floor | cookie) continue ;; esac
    start=$(date +%s.%N)
    prefill "$server" "$store"
    echo "   $server: $store sessions in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  done
  if [ "$scenario" = flash ]; then login_servers "$FLASH_CONNECTIONS"; else login_servers 0; fi
  check_pages "${SERVERS[0]}" "${SERVERS[0]}"
  for server in "${SERVERS[@]}"; do run "$server" "$scenario" "$WARMUP" >/dev/null; done
  for round in $(seq "$ROUNDS"); do
    for server in "${SERVERS[@]}"; do
      line=$(run "$server" "$scenario" "$DURATION")
      echo "   round $round $server: ${line#RESULT }"
      echo "$key $server ${line#RESULT }" >>"$RESULTS"
    done
  done
  for server in "${SERVERS[@]}"; do
    echo "$key $server rss_mib=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/${PID[$server]}/status")" >>"$RESULTS"
    # The logged-in session must have lived through the scenario (a store
    # that evicted it would have served the logged-out dashboard).
    [ "$server" = floor ] && continue
    if ! curl -s -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/dashboard" |
      grep -q "Signed in as <strong>$NAME</strong>"; then
      echo "WARNING: $server's logged-in session was gone after $scenario with $store sessions (evicted?)" |
        tee -a "$WORK/warnings" >&2
    fi
  done
  stop_servers
}

RESULTS="$WORK/results"
: >"$RESULTS"
: >"$WORK/warnings"
LOAD_BEFORE=$(uptime)
for store in "${STORE_SIZES[@]}"; do
  for scenario in "${SCENARIOS[@]}"; do run_scenario "$store" "$scenario"; done
done
LOAD_AFTER=$(uptime)
[ "${#REDIS_DBS[@]}" -gt 0 ] && redis_flush
pg_flush

declare -A RPS CPU
for store in "${STORE_SIZES[@]}"; do
  for scenario in "${SCENARIOS[@]}"; do
    for server in "${SERVERS[@]}"; do
      RPS[$store/$scenario.$server]=$(field "$store/$scenario" "$server" rps | median)
      CPU[$store/$scenario.$server]=$(field "$store/$scenario" "$server" cpu_us | median)
    done
  done
done

echo
echo "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $(nproc) cores, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "command:   bench/run.sh (STORE_SIZES=\"${STORE_SIZES[*]}\" ROUNDS=$ROUNDS DURATION=${DURATION}s, interleaved ${SERVERS[*]})"
if [ "$PIN" = 1 ]; then
  echo "pinning:   servers on CPU $SERVER_CPUS (taskset, TOKIO_WORKER_THREADS=$SERVER_WORKERS), wrk and curl on CPU $CLIENT_CPUS"
else
  echo "pinning:   none (PIN=0)"
fi
wrk_cmd="${CLIENT_PIN[*]}${CLIENT_PIN[*]:+ }wrk"
echo "dashboard: $wrk_cmd -t$THREADS -c$CONNECTIONS -d${DURATION}s -s bench/dashboard.lua -H 'Cookie: ...' URL"
echo "flash:     $wrk_cmd -t$FLASH_CONNECTIONS -c$FLASH_CONNECTIONS -d${DURATION}s -s bench/flash.lua URL"
echo "login:     $wrk_cmd -t$THREADS -c$CONNECTIONS -d${DURATION}s -s bench/login.lua URL"
echo "load before: ${LOAD_BEFORE#*load average: }   after: ${LOAD_AFTER#*load average: }"
for store in "${STORE_SIZES[@]}"; do
  echo
  echo "store of $store sessions per server (fresh servers per scenario):"
  echo
  printf '| %-9s | %-13s | %11s | %7s | %8s | %8s | %10s | %10s | %6s | %6s | %11s | %8s |\n' \
    scenario server "req/s (med)" "p99 ms" "vs floor" "vs peer" "CPU us/req" "CPU fl/our" busy errors "flash shown" "RSS MiB"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- --------------- ------------: --------: \
    ---------: ---------: -----------: -----------: -------: -------: ------------: ---------:
  for scenario in "${SCENARIOS[@]}"; do
    k="$store/$scenario"
    for server in "${SERVERS[@]}"; do
      rps=${RPS[$k.$server]}
      cpu=${CPU[$k.$server]}
      p99=$(field "$k" "$server" p99_us | median)
      busy=$(field "$k" "$server" busy | median)
      errors=$(($(field "$k" "$server" status_errors | total) + $(field "$k" "$server" socket_errors | total)))
      vs_floor="-"
      cpu_floor="-"
      if [ "$server" != floor ] && has_server floor; then
        vs_floor=$(ratio "$rps" "${RPS[$k.floor]}")
        cpu_floor=$(ratio "${CPU[$k.floor]}" "$cpu")
      fi
      peer=$(peer_of "$server")
      vs_peer="-"
      [ -n "$peer" ] && vs_peer=$(ratio "$rps" "${RPS[$k.$peer]}")
      flash="-"
      if [ "$scenario" = flash ]; then
        flash="$(field "$k" "$server" shown | total)/$(($(field "$k" "$server" shown | total) + $(field "$k" "$server" missing | total)))"
      fi
      printf '| %-9s | %-13s | %11.0f | %7.2f | %8s | %8s | %10.1f | %10s | %5s%% | %6d | %11s | %8s |\n' \
        "$scenario" "$server" "$rps" "$(awk -v us="$p99" 'BEGIN { print us / 1000 }')" "$vs_floor" "$vs_peer" \
        "$cpu" "$cpu_floor" "$busy" "$errors" "$flash" "$(field "$k" "$server" rss_mib | median)"
      if awk -v b="$busy" 'BEGIN { exit !(b < 90) }'; then
        echo "note: $server on $scenario ($store sessions) kept its cores only ${busy}% busy: not saturated, so its req/s measures the client; compare CPU per request" >>"$WORK/warnings"
      fi
    done
  done
done
if [ "$PG_STATS" = 1 ] && { has_server postgres || has_server peer-postgres; }; then
  echo
  echo "SQL statements per request (pg_stat_statements calls / wrk requests, median over the rounds):"
  echo
  printf '| %-7s | %-9s | %-13s | %10s |\n' store scenario server "stmts/req"
  printf '|%s|%s|%s|%s|\n' --------- ----------- --------------- -----------:
  for store in "${STORE_SIZES[@]}"; do
    for scenario in "${SCENARIOS[@]}"; do
      for server in postgres peer-postgres; do
        has_server "$server" || continue
        printf '| %-7s | %-9s | %-13s | %10s |\n' "$store" "$scenario" "$server" \
          "$(field "$store/$scenario" "$server" stmts_per_req | median)"
      done
    done
  done
  echo
fi
echo "(CPU us/req: the server's utime + stime per request; CPU fl/our: floor/ours of it, the req/s"
echo " ratio when both are CPU-bound; busy: the server's CPU time over the run's wall time and its"
echo " $SERVER_CORES core(s), median over the rounds; RSS: the server's peak (VmHWM) in that scenario)"
if [ -s "$WORK/warnings" ]; then
  echo
  cat "$WORK/warnings"
fi

# The targets, as ratios within this run: ours near the floor (the cost of
# sessions), the redis driver ahead of the peer on Redis, and half the
# peer's memory per idle session.
VERDICT="$WORK/verdict"
: >"$VERDICT"
verdict=0
check() { # STORE SCENARIO SERVER AGAINST MIN: SERVER's req/s >= MIN x AGAINST's (MIN "ahead" = strictly more)
  local store=$1 scenario=$2 server=$3 against=$4 min=$5 r what
  has_server "$server" && has_server "$against" || return 0
  [[ " ${SCENARIOS[*]} " == *" $scenario "* ]] || return 0
  r=$(awk -v a="${RPS[$store/$scenario.$server]}" -v b="${RPS[$store/$scenario.$against]}" 'BEGIN { printf "%.2f", a / b }')
  what="$server is ${r}x $against on $scenario, $store sessions"
  if [ "$min" = ahead ]; then
    if awk -v r="$r" 'BEGIN { exit !(r > 1) }'; then
      echo "  met:    $what (target: ahead)" >>"$VERDICT"
    else
      echo "  MISSED: $what (target: ahead)" >>"$VERDICT"
      verdict=1
    fi
  elif awk -v r="$r" -v m="$min" 'BEGIN { exit !(r >= m) }'; then
    echo "  met:    $what (target >= ${min}x)" >>"$VERDICT"
  else
    echo "  MISSED: $what (target >= ${min}x)" >>"$VERDICT"
    verdict=1
  fi
}
for store in "${STORE_SIZES[@]}"; do
  check "$store" dashboard memory floor 0.95
  check "$store" flash memory floor 0.9
  check "$store" dashboard cookie floor 0.9
  check "$store" flash cookie floor 0.85
  check "$store" dashboard redis peer-redis ahead
  check "$store" flash redis peer-redis ahead
  check "$store" dashboard postgres peer-postgres ahead
  check "$store" flash postgres peer-postgres ahead
done

if [ "$FOOTPRINT_SESSIONS" -gt 0 ]; then
  echo
  echo "== $FOOTPRINT_SESSIONS idle sessions (a user map + one flash message each), VmRSS growth"
  ours=$("$BIN/footprint" "$FOOTPRINT_SESSIONS" | grep '^RESULT')
  theirs=$("$PEER_BIN/peer-footprint" "$FOOTPRINT_SESSIONS" | grep '^RESULT')
  per() { echo "$1" | sed -E 's/.*bytes_per_session=([0-9]+).*/\1/'; }
  mib() { echo "$1" | sed -E 's/.*rss_after_kib=([0-9]+).*/\1/' | awk '{ printf "%.0f", $1 / 1024 }'; }
  printf '| %-28s | %14s | %14s |\n' store "bytes/session" "RSS after MiB"
  printf '|%s|%s|%s|\n' ------------------------------ ---------------: ---------------:
  printf '| %-28s | %14s | %14s |\n' "session-views MemoryDriver" "$(per "$ours")" "$(mib "$ours")"
  printf '| %-28s | %14s | %14s |\n' "tower-sessions MemoryStore" "$(per "$theirs")" "$(mib "$theirs")"
  r=$(awk -v a="$(per "$ours")" -v b="$(per "$theirs")" 'BEGIN { printf "%.2f", a / b }')
  if awk -v r="$r" 'BEGIN { exit !(r <= 0.5) }'; then
    echo "  met:    memory per idle session is ${r}x tower-sessions' MemoryStore (target <= 0.5x)" >>"$VERDICT"
  else
    echo "  MISSED: memory per idle session is ${r}x tower-sessions' MemoryStore (target <= 0.5x)" >>"$VERDICT"
    verdict=1
  fi
fi

echo
echo "targets:"
cat "$VERDICT"
# Informational by default; BENCH_STRICT=1 makes a missed target an error.
if [ "${BENCH_STRICT:-0}" = 1 ]; then exit "$verdict"; fi
