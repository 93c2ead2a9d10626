# shellcheck shell=bash
# The shell shared by bench/run.sh, bench/http.sh and bench/profile.sh.
# Sourced, not run: `. "$(dirname "$0")/lib.sh"`, after the script has cd'd
# to the repository root and set its settings.
#
# Provides
#   need TOOL...             exits (with an install hint) unless each is installed
#   cargo_target_dir         the workspace's target directory (cargo metadata;
#                            honours CARGO_TARGET_DIR)
#   has_server NAME          whether NAME is one of SERVERS
#   redis_select             reads BENCH_REDIS_URL into redis_host/_port/_db;
#                            drops redis and peer-redis from SERVERS when Redis
#                            does not answer; notes whether the database was
#                            empty (REDIS_EMPTY_AT_START)
#   redis_cleanup            empties that database if it was empty at the start
#   assign_ports             PORT[s] = PORT_BASE + n and URL[s] for each of
#                            SERVERS; exits if a port already answers
#   start_server NAME [WRAPPER...]
#                            starts floor, memory, cookie, redis, peer or
#                            peer-redis on PORT[NAME] (under WRAPPER, e.g.
#                            valgrind, if given), logging to $WORK/NAME.log;
#                            its pid in PID[NAME]
#   wait_for_servers [TRIES] waits (TRIES x 0.1 s, default 100) until each of
#                            SERVERS answers GET /; prints the log of one that
#                            does not and exits
#   stop_servers             ends every PID (TERM, then KILL after 10 s)
#   login URL [JAR]          logs in through the form, shows the dashboard once
#                            (taking the welcome message) and prints the Cookie
#                            header a browser would now send
#   login_servers N          DASH_COOKIE[s] and N more logins in FLASH_COOKIES[s]
#                            ("|"-separated) for each of SERVERS; the floor
#                            gets memory's (it ignores them)
#   check_pages REF LABEL    fetches each server's dashboard and its home page
#                            after a flash; REF's must show NAME and MESSAGE
#                            and all must equal REF's (LABEL names REF in errors)
#   field SCENARIO SERVER KEY, median, total, ratio A B
#                            the result helpers (field reads $RESULTS)
# Sets NAME, MESSAGE and SECRET, the same for every script so that all send
# the same pages. Uses the caller's SERVERS, PORT_BASE, WORK, BIN (the
# workspace's release directory: the demo in BIN/examples/app, the
# session-views-bench binaries such as BIN/floor), PEER_BIN and, where set,
# BENCH_REDIS_URL, PEER_REDIS_POOL and MEMORY_MAX_SESSIONS.

# The user who logs in, the flash message, and the cookie driver's secret.
NAME="Ada Lovelace"
MESSAGE="Saved from wrk"
SECRET="bench/: a fixed secret for the cookie driver, not for production"

declare -gA PID PORT URL DASH_COOKIE FLASH_COOKIES

need() {
  local tool hint
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      hint=""
      case $tool in
        wrk) hint=" (Debian: apt-get install wrk)" ;;
        valgrind | callgrind_control | callgrind_annotate) hint=" (Debian: apt-get install valgrind)" ;;
      esac
      echo "bench/${0##*/} needs $tool$hint" >&2
      exit 1
    fi
  done
}

cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}

has_server() {
  local s
  for s in "${SERVERS[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# Redis: host, port and database from the URL; the database must be ours.
REDIS_EMPTY_AT_START=0
redis_select() {
  local keys kept s
  redis_host=$(echo "$BENCH_REDIS_URL" | sed -E 's#^redis://([^:/]+).*#\1#')
  redis_port=$(echo "$BENCH_REDIS_URL" | sed -nE 's#^redis://[^:/]+:([0-9]+).*#\1#p')
  redis_port=${redis_port:-6379}
  redis_db=$(echo "$BENCH_REDIS_URL" | sed -nE 's#^redis://[^/]+/([0-9]+)$#\1#p')
  redis_db=${redis_db:-0}
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
}

redis_cleanup() {
  if [ "$REDIS_EMPTY_AT_START" = 1 ]; then
    redis-cli -h "$redis_host" -p "$redis_port" -n "$redis_db" flushdb >/dev/null || true
  fi
}

assign_ports() {
  local i=0 server
  for server in "${SERVERS[@]}"; do
    i=$((i + 1))
    PORT[$server]=$((PORT_BASE + i))
    URL[$server]="http://127.0.0.1:${PORT[$server]}"
    if curl -s -o /dev/null "${URL[$server]}/"; then
      echo "port ${PORT[$server]} is in use; set PORT_BASE" >&2
      exit 1
    fi
  done
}

# `env` execs the wrapper or the server, so PID[NAME] is the server's own
# process (bench/http.sh reads its CPU time from /proc; callgrind_control
# talks to it).
start_server() {
  local server=$1 bin vars=(PORT="${PORT[$1]}")
  shift
  case $server in
    floor)
      vars+=(FLOOR_NAME="$NAME" FLOOR_FLASH="$MESSAGE")
      bin=$BIN/floor ;;
    memory | cookie | redis)
      vars+=(SESSION_DRIVER="$server" SESSION_SECRET="$SECRET" TEMPLATE_ENGINE=minijinja)
      [ -n "${BENCH_REDIS_URL:-}" ] && vars+=(REDIS_URL="$BENCH_REDIS_URL")
      [ -n "${MEMORY_MAX_SESSIONS:-}" ] && vars+=(SESSION_MAX_SESSIONS="$MEMORY_MAX_SESSIONS")
      bin=$BIN/examples/app ;;
    peer)
      vars+=(SESSION_STORE=memory)
      bin=$PEER_BIN/peer ;;
    peer-redis)
      vars+=(SESSION_STORE=redis REDIS_URL="$BENCH_REDIS_URL" REDIS_POOL="$PEER_REDIS_POOL")
      bin=$PEER_BIN/peer ;;
    *)
      echo "unknown server $server" >&2
      exit 1 ;;
  esac
  env "${vars[@]}" "$@" "$bin" >"$WORK/$server.log" 2>&1 &
  PID[$server]=$!
}

wait_for_servers() {
  local tries=${1:-100} server
  for server in "${SERVERS[@]}"; do
    for _ in $(seq "$tries"); do
      curl -s -o /dev/null "${URL[$server]}/" && break
      sleep 0.1
    done
    if ! curl -s -o /dev/null "${URL[$server]}/"; then
      echo "$server did not start:" >&2
      cat "$WORK/$server.log" >&2
      exit 1
    fi
  done
}

stop_servers() {
  local pid
  for pid in "${PID[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A server under valgrind takes a moment to write its last dump.
  for pid in "${PID[@]}"; do
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  for pid in "${PID[@]}"; do wait "$pid" 2>/dev/null || true; done
}

login() {
  local url=$1 jar=${2:-}
  [ -n "$jar" ] || jar=$(mktemp -p "$WORK")
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "name=$NAME" "$url/login"
  curl -s -o /dev/null -c "$jar" -b "$jar" "$url/dashboard"
  # curl's jar: tab-separated, HttpOnly cookies prefixed with #HttpOnly_.
  awk -F'\t' 'NF >= 7 && ($0 ~ /^#HttpOnly_/ || $0 !~ /^#/) {
    printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$jar"
}

login_servers() {
  local n=$1 server list
  for server in "${SERVERS[@]}"; do
    [ "$server" = floor ] && continue
    DASH_COOKIE[$server]=$(login "${URL[$server]}")
    if [ -z "${DASH_COOKIE[$server]}" ]; then
      echo "logging in to $server set no cookie" >&2
      exit 1
    fi
    list=""
    for _ in $(seq "$n"); do
      list+="$(login "${URL[$server]}")|"
    done
    FLASH_COOKIES[$server]=$list
  done
  # The floor ignores cookies; it gets a header of the same size.
  DASH_COOKIE[floor]=${DASH_COOKIE[memory]:-session_id=0123456789abcdef0123456789abcdef}
  FLASH_COOKIES[floor]=${FLASH_COOKIES[memory]:-${DASH_COOKIE[floor]}}
}

# Fetches SERVER's dashboard (logged in) and its home page after a flash
# into $WORK/SERVER.dashboard and $WORK/SERVER.home.
fetch_pages() {
  local server=$1 jar="$WORK/$1.flashjar"
  curl -s -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/dashboard" >"$WORK/$server.dashboard"
  printf '' >"$jar"
  curl -s -o /dev/null -c "$jar" -b "$jar" -H "Cookie: ${DASH_COOKIE[$server]}" \
    --data-urlencode level=success --data-urlencode "message=$MESSAGE" "${URL[$server]}/flash"
  curl -s -b "$jar" -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/" >"$WORK/$server.home"
}

check_pages() {
  local reference=$1 label=$2 server page
  for server in "${SERVERS[@]}"; do fetch_pages "$server"; done
  grep -q "Signed in as <strong>$NAME</strong>" "$WORK/$reference.dashboard" || {
    echo "$label's dashboard does not show $NAME" >&2
    exit 1
  }
  grep -q "$MESSAGE" "$WORK/$reference.home" || {
    echo "$label's home page does not show the flash" >&2
    exit 1
  }
  for server in "${SERVERS[@]}"; do
    for page in dashboard home; do
      if ! cmp -s "$WORK/$reference.$page" "$WORK/$server.$page"; then
        echo "$server's $page differs from $label's:" >&2
        diff "$WORK/$reference.$page" "$WORK/$server.$page" >&2 || true
        exit 1
      fi
    done
  done
}

# field SCENARIO SERVER KEY: the values of KEY in $RESULTS, one a line, sorted.
field() {
  awk -v sc="$1" -v sv="$2" -v key="$3" '$1 == sc && $2 == sv {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' \
    "$RESULTS" | sort -g
}
median() { awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total() { awk '{ s += $1 } END { print s + 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

# peer_of SERVER: the peer ours is compared with (none for the floor or a
# peer that is not running).
peer_of() {
  case $1 in
    memory | cookie) has_server peer && echo peer ;;
    redis) has_server peer-redis && echo peer-redis ;;
  esac
  return 0
}

# make_work_dir: a fresh temporary directory in WORK, removed when the
# script ends (Ctrl-C and kill too), after the servers are stopped and the
# Redis benchmark database is emptied if it was empty at the start.
make_work_dir() {
  WORK=$(mktemp -d)
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}

bench_cleanup() {
  stop_servers
  redis_cleanup
  rm -rf "$WORK"
}
