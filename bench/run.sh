#!/usr/bin/env bash
# The benchmarks of issue 6 in one command: session-views against its peer
# stack and against a bare-hyper floor, over HTTP on loopback with wrk, and
# the memory of a million idle sessions.
#
# Builds in release
#   examples/app.rs        the demo (ours), run three times:
#                            memory  SESSION_DRIVER=memory
#                            cookie  SESSION_DRIVER=cookie
#                            redis   SESSION_DRIVER=redis
#   examples/floor.rs      floor: the same pages on the same hyper stack and
#                          templates, no sessions (bench/http.sh's floor)
#   bench/peers            peer: axum 0.8 + tower-sessions 0.14 MemoryStore +
#                          axum-messages 0.8, the same templates with MiniJinja;
#                          peer-redis: the same on tower-sessions-redis-store
# starts each on a loopback port and drives them with wrk, interleaved
# (floor memory cookie redis peer peer-redis, then again, ...) so that drift
# on a busy machine hits all alike:
#   dashboard  GET /dashboard, logged in (bench/dashboard.lua, Cookie via -H)
#   flash      POST /flash, then GET / carrying the cookies set: a flash round
#              trip per connection (bench/flash.lua; it counts the pages that
#              showed the message)
#   login      a login burst: POST /login without cookies, so each request
#              makes a new session (bench/login.lua). The floor has no login;
#              it gets the same form on its POST /flash (read a form, 303).
# and prints per scenario and server: median req/s, median p99 latency, the
# ratio to the floor and to the peer (memory/cookie: peer; redis: peer-redis),
# the errors, and each server's peak RSS (VmHWM) over the whole run. Then the
# memory of FOOTPRINT_SESSIONS idle sessions in our memory driver against
# tower-sessions' MemoryStore (examples/footprint.rs, peer-footprint).
#
# Usage: bench/run.sh
# Settings (environment): ROUNDS=5 DURATION=5 (seconds per run) WARMUP=2
#   CONNECTIONS=16 THREADS=1 (dashboard, login) FLASH_CONNECTIONS=16
#   (= wrk threads for flash) PORT_BASE=18200
#   SERVERS="floor memory cookie redis peer peer-redis" (a subset is fine;
#   redis and peer-redis are dropped when Redis does not answer)
#   BENCH_REDIS_URL=redis://127.0.0.1:6379/11 (a database of its own: the
#   peer's keys have no prefix; it is emptied at the end only if it was
#   empty at the start) PEER_REDIS_POOL=4
#   MEMORY_MAX_SESSIONS=4000000 (the memory driver's bound: above what the
#   login bursts create, so the logged-in sessions are never evicted)
#   FOOTPRINT_SESSIONS=1000000 (0 skips it) BENCH_STRICT=1 (exit 1 on a
#   missed target) PEERS_TARGET_DIR (default bench/peers/target)
# Needs: cargo, curl, wrk (Debian: apt-get install wrk); redis-cli for the
# Redis database check.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
FLASH_CONNECTIONS=${FLASH_CONNECTIONS:-16}
PORT_BASE=${PORT_BASE:-18200}
SERVERS=(${SERVERS:-floor memory cookie redis peer peer-redis})
SCENARIOS=(dashboard flash login)
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/11}
PEER_REDIS_POOL=${PEER_REDIS_POOL:-4}
FOOTPRINT_SESSIONS=${FOOTPRINT_SESSIONS:-1000000}
# The login bursts create a few hundred thousand sessions; with the default
# bound (100 000) the memory driver would evict the logged-in sessions the
# other scenarios use. The peer's MemoryStore has no bound at all.
MEMORY_MAX_SESSIONS=${MEMORY_MAX_SESSIONS:-4000000}
NAME="Ada Lovelace"
MESSAGE="Saved from wrk"
SECRET="bench/run.sh: a fixed secret for the cookie driver, not for production"

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BENCH_DIR="$ROOT/bench"
PEERS_TARGET_DIR=${PEERS_TARGET_DIR:-$ROOT/bench/peers/target}

for tool in cargo curl wrk; do
  if ! command -v "$tool" >/dev/null; then
    hint=""
    [ "$tool" = wrk ] && hint=" (Debian: apt-get install wrk)"
    echo "bench/run.sh needs $tool$hint" >&2
    exit 1
  fi
done

has_server() {
  local s
  for s in "${SERVERS[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# Redis: host, port and database from the URL; the database must be ours.
redis_host=$(echo "$BENCH_REDIS_URL" | sed -E 's#^redis://([^:/]+).*#\1#')
redis_port=$(echo "$BENCH_REDIS_URL" | sed -nE 's#^redis://[^:/]+:([0-9]+).*#\1#p')
redis_port=${redis_port:-6379}
redis_db=$(echo "$BENCH_REDIS_URL" | sed -nE 's#^redis://[^/]+/([0-9]+)$#\1#p')
redis_db=${redis_db:-0}
REDIS_EMPTY_AT_START=0
if has_server redis || has_server peer-redis; then
  if ! (exec 3<>"/dev/tcp/$redis_host/$redis_port") 2>/dev/null; then
    echo "Redis does not answer at $redis_host:$redis_port: leaving out redis and peer-redis" >&2
    kept=()
    for s in "${SERVERS[@]}"; do [[ $s == redis || $s == peer-redis ]] || kept+=("$s"); done
    SERVERS=("${kept[@]}")
  elif command -v redis-cli >/dev/null; then
    keys=$(redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" dbsize)
    [ "$keys" = 0 ] && REDIS_EMPTY_AT_START=1
    echo "Redis database $redis_db holds $keys keys before the run"
  fi
fi

echo "== building (release)"
cargo build --release --example app --example floor --example footprint
TARGET=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN="$TARGET/release/examples"
CARGO_TARGET_DIR="$PEERS_TARGET_DIR" cargo build --release --manifest-path bench/peers/Cargo.toml --bins
PEER_BIN="$PEERS_TARGET_DIR/release"

WORK=$(mktemp -d)
declare -A PID PORT URL
cleanup() {
  local pid
  for pid in "${PID[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PID[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$REDIS_EMPTY_AT_START" = 1 ]; then
    redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" flushdb >/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

i=0
for server in "${SERVERS[@]}"; do
  i=$((i + 1))
  PORT[$server]=$((PORT_BASE + i))
  URL[$server]="http://127.0.0.1:${PORT[$server]}"
  if curl -s -o /dev/null "${URL[$server]}/"; then
    echo "port ${PORT[$server]} is in use; set PORT_BASE" >&2
    exit 1
  fi
done

echo "== starting ${SERVERS[*]}"
for server in "${SERVERS[@]}"; do
  port=${PORT[$server]}
  log="$WORK/$server.log"
  case $server in
    floor)
      PORT=$port FLOOR_NAME="$NAME" FLOOR_FLASH="$MESSAGE" "$BIN/floor" >"$log" 2>&1 & ;;
    memory | cookie | redis)
      PORT=$port SESSION_DRIVER=$server SESSION_SECRET="$SECRET" REDIS_URL="$BENCH_REDIS_URL" \
        SESSION_MAX_SESSIONS="$MEMORY_MAX_SESSIONS" TEMPLATE_ENGINE=minijinja \
        "$BIN/app" >"$log" 2>&1 & ;;
    peer)
      PORT=$port SESSION_STORE=memory "$PEER_BIN/peer" >"$log" 2>&1 & ;;
    peer-redis)
      PORT=$port SESSION_STORE=redis REDIS_URL="$BENCH_REDIS_URL" REDIS_POOL="$PEER_REDIS_POOL" \
        "$PEER_BIN/peer" >"$log" 2>&1 & ;;
    *)
      echo "unknown server $server" >&2
      exit 1 ;;
  esac
  PID[$server]=$!
done
for server in "${SERVERS[@]}"; do
  for _ in $(seq 100); do
    curl -s -o /dev/null "${URL[$server]}/" && break
    sleep 0.1
  done
  if ! curl -s -o /dev/null "${URL[$server]}/"; then
    echo "$server did not start:" >&2
    cat "$WORK/$server.log" >&2
    exit 1
  fi
done

# Logs in through the form, shows the dashboard once (which takes the
# welcome message) and prints the Cookie header a browser would now send.
login() {
  local url=$1 jar
  jar=$(mktemp -p "$WORK")
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "name=$NAME" "$url/login"
  curl -s -o /dev/null -c "$jar" -b "$jar" "$url/dashboard"
  # curl's jar: tab-separated, HttpOnly cookies prefixed with #HttpOnly_.
  awk -F'\t' 'NF >= 7 && ($0 ~ /^#HttpOnly_/ || $0 !~ /^#/) {
    printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$jar"
}

echo "== logging in"
declare -A DASH_COOKIE FLASH_COOKIES
for server in "${SERVERS[@]}"; do
  [ "$server" = floor ] && continue
  DASH_COOKIE[$server]=$(login "${URL[$server]}")
  if [ -z "${DASH_COOKIE[$server]}" ]; then
    echo "logging in to $server set no cookie" >&2
    exit 1
  fi
  list=""
  for _ in $(seq "$FLASH_CONNECTIONS"); do
    list+="$(login "${URL[$server]}")|"
  done
  FLASH_COOKIES[$server]=$list
done
# The floor ignores cookies; it gets a header of the same size.
DASH_COOKIE[floor]=${DASH_COOKIE[memory]:-session_id=0123456789abcdef0123456789abcdef}
FLASH_COOKIES[floor]=${FLASH_COOKIES[memory]:-${DASH_COOKIE[floor]}}

# Fetches SERVER's dashboard (logged in) and its home page after a flash
# into $WORK/SERVER.dashboard and $WORK/SERVER.home.
pages() {
  local server=$1 jar="$WORK/$1.flashjar"
  curl -s -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/dashboard" >"$WORK/$server.dashboard"
  printf '' >"$jar"
  curl -s -o /dev/null -c "$jar" -b "$jar" -H "Cookie: ${DASH_COOKIE[$server]}" \
    --data-urlencode level=success --data-urlencode "message=$MESSAGE" "${URL[$server]}/flash"
  curl -s -b "$jar" -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/" >"$WORK/$server.home"
}

echo "== checking that all send the same pages"
REFERENCE=${SERVERS[0]}
for server in "${SERVERS[@]}"; do pages "$server"; done
grep -q "Signed in as <strong>$NAME</strong>" "$WORK/$REFERENCE.dashboard" || {
  echo "$REFERENCE's dashboard does not show $NAME" >&2
  exit 1
}
grep -q "$MESSAGE" "$WORK/$REFERENCE.home" || {
  echo "$REFERENCE's home page does not show the flash" >&2
  exit 1
}
for server in "${SERVERS[@]}"; do
  for page in dashboard home; do
    if ! cmp -s "$WORK/$REFERENCE.$page" "$WORK/$server.$page"; then
      echo "$server's $page differs from $REFERENCE's:" >&2
      diff "$WORK/$REFERENCE.$page" "$WORK/$server.$page" >&2 || true
      exit 1
    fi
  done
done

# run SERVER SCENARIO SECONDS: one wrk run; prints its RESULT line.
run() {
  local server=$1 scenario=$2 seconds=$3
  case $scenario in
    dashboard)
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH_DIR/dashboard.lua" \
        -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}" ;;
    flash)
      FLASH_COOKIES=${FLASH_COOKIES[$server]} FLASH_MESSAGE=$MESSAGE \
        wrk -t"$FLASH_CONNECTIONS" -c"$FLASH_CONNECTIONS" -d"${seconds}s" \
        -s "$BENCH_DIR/flash.lua" "${URL[$server]}" ;;
    login)
      if [ "$server" = floor ]; then
        LOGIN_PATH=/flash LOGIN_BODY="level=success&name=Ada+Lovelace" \
          wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH_DIR/login.lua" "${URL[$server]}"
      else
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH_DIR/login.lua" "${URL[$server]}"
      fi ;;
  esac | grep '^RESULT'
}

LOAD_BEFORE=$(uptime)
echo "== warm-up (${WARMUP}s each, not counted)"
for scenario in "${SCENARIOS[@]}"; do
  for server in "${SERVERS[@]}"; do run "$server" "$scenario" "$WARMUP" >/dev/null; done
done

echo "== $ROUNDS rounds x ${DURATION}s, interleaved"
RESULTS="$WORK/results"
: >"$RESULTS"
for round in $(seq "$ROUNDS"); do
  for scenario in "${SCENARIOS[@]}"; do
    for server in "${SERVERS[@]}"; do
      line=$(run "$server" "$scenario" "$DURATION")
      echo "round $round $scenario $server: ${line#RESULT }"
      echo "$scenario $server ${line#RESULT }" >>"$RESULTS"
    done
  done
done
LOAD_AFTER=$(uptime)

# The logged-in sessions must have lived through the login bursts (a store
# that evicted them would have served the logged-out dashboard).
STILL=""
for server in "${SERVERS[@]}"; do
  [ "$server" = floor ] && continue
  if ! curl -s -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/dashboard" |
    grep -q "Signed in as <strong>$NAME</strong>"; then
    STILL+=" $server"
  fi
done

declare -A HWM
for server in "${SERVERS[@]}"; do
  HWM[$server]=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/${PID[$server]}/status")
done

# field SCENARIO SERVER KEY: the values of KEY, one a line, sorted.
field() {
  awk -v sc="$1" -v sv="$2" -v key="$3" '$1 == sc && $2 == sv {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' \
    "$RESULTS" | sort -g
}
median() { awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total() { awk '{ s += $1 } END { print s + 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
peer_of() {
  case $1 in
    memory | cookie) has_server peer && echo peer ;;
    redis) has_server peer-redis && echo peer-redis ;;
  esac
  return 0
}

declare -A RPS
for scenario in "${SCENARIOS[@]}"; do
  for server in "${SERVERS[@]}"; do
    RPS[$scenario.$server]=$(field "$scenario" "$server" rps | median)
  done
done

echo
echo "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $(nproc) cores, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "command:   bench/run.sh (ROUNDS=$ROUNDS DURATION=${DURATION}s, interleaved ${SERVERS[*]})"
echo "dashboard: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s -s bench/dashboard.lua -H 'Cookie: ...' URL"
echo "flash:     wrk -t$FLASH_CONNECTIONS -c$FLASH_CONNECTIONS -d${DURATION}s -s bench/flash.lua URL"
echo "login:     wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s -s bench/login.lua URL"
echo "load before: ${LOAD_BEFORE#*load average: }   after: ${LOAD_AFTER#*load average: }"
echo
printf '| %-9s | %-10s | %11s | %10s | %8s | %8s | %6s | %11s | %13s |\n' \
  scenario server "req/s (med)" "p99 ms" "vs floor" "vs peer" errors "flash shown" "peak RSS MiB"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- ------------ -------------: ------------: \
  ----------: ----------: --------: -------------: ---------------:
for scenario in "${SCENARIOS[@]}"; do
  for server in "${SERVERS[@]}"; do
    rps=${RPS[$scenario.$server]}
    p99=$(field "$scenario" "$server" p99_us | median)
    errors=$(($(field "$scenario" "$server" status_errors | total) + $(field "$scenario" "$server" socket_errors | total)))
    vs_floor="-"
    [ "$server" != floor ] && has_server floor && vs_floor=$(ratio "$rps" "${RPS[$scenario.floor]}")
    peer=$(peer_of "$server")
    vs_peer="-"
    [ -n "$peer" ] && vs_peer=$(ratio "$rps" "${RPS[$scenario.$peer]}")
    flash="-"
    if [ "$scenario" = flash ]; then
      flash="$(field flash "$server" shown | total)/$(( $(field flash "$server" shown | total) + $(field flash "$server" missing | total) ))"
    fi
    printf '| %-9s | %-10s | %11.0f | %10.2f | %8s | %8s | %6d | %11s | %13s |\n' "$scenario" "$server" "$rps" \
      "$(awk -v us="$p99" 'BEGIN { print us / 1000 }')" "$vs_floor" "$vs_peer" "$errors" "$flash" "${HWM[$server]}"
  done
done
echo "(peak RSS: the process's VmHWM over the whole run, all scenarios; the login bursts add sessions)"
if [ -n "$STILL" ]; then
  echo "WARNING: the logged-in session was gone after the run on:$STILL (evicted?); their dashboard figures may include logged-out pages"
fi

# The targets of issue 6 (ratios within this run).
VERDICT="$WORK/verdict"
: >"$VERDICT"
verdict=0
check() { # SCENARIO SERVER AGAINST MIN: SERVER's req/s >= MIN x AGAINST's (MIN "ahead" = strictly more)
  local scenario=$1 server=$2 against=$3 min=$4 r
  has_server "$server" && has_server "$against" || return 0
  r=$(awk -v a="${RPS[$scenario.$server]}" -v b="${RPS[$scenario.$against]}" 'BEGIN { printf "%.2f", a / b }')
  if [ "$min" = ahead ]; then
    if awk -v r="$r" 'BEGIN { exit !(r > 1) }'; then
      echo "  met:    $server is ${r}x $against on $scenario (target: ahead)" >>"$VERDICT"
    else
      echo "  MISSED: $server is ${r}x $against on $scenario (target: ahead)" >>"$VERDICT"
      verdict=1
    fi
  elif awk -v r="$r" -v m="$min" 'BEGIN { exit !(r >= m) }'; then
    echo "  met:    $server is ${r}x $against on $scenario (target >= ${min}x)" >>"$VERDICT"
  else
    echo "  MISSED: $server is ${r}x $against on $scenario (target >= ${min}x)" >>"$VERDICT"
    verdict=1
  fi
}
check dashboard memory floor 0.95
check flash memory floor 0.9
check dashboard cookie floor 0.85
check flash cookie floor 0.8
check dashboard redis peer-redis ahead
check flash redis peer-redis ahead

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
echo "targets (issue 6):"
cat "$VERDICT"
# Informational by default; BENCH_STRICT=1 makes a missed target an error.
if [ "${BENCH_STRICT:-0}" = 1 ]; then exit "$verdict"; fi
