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
#   redis_select             the Redis databases of ours (BENCH_REDIS_URL) and
#                            the peer (BENCH_PEER_REDIS_URL); drops redis and
#                            peer-redis from SERVERS when theirs does not
#                            answer; notes which databases were empty
#   redis_require_empty      exits unless every database in use was empty at
#                            the start (bench/run.sh empties them between
#                            scenarios)
#   redis_flush              empties the databases in use
#   redis_cleanup            empties those that were empty at the start
#   pg_select                the PostgreSQL of postgres (ours) and
#                            peer-postgres: BENCH_DATABASE_URL, or (unset) a
#                            cluster of the script's own (initdb + pg_ctl from
#                            pg_config --bindir, on PG_PORT, as the postgres
#                            user when root, pg_stat_statements loaded);
#                            drops both from SERVERS when there is none; sets
#                            PG_STATS=1 when statements can be counted
#   pg_flush                 drops the two servers' session tables (each
#                            server creates its own at start-up)
#   pg_stats_reset, pg_statements
#                            zero / read the count of statements executed
#                            (pg_stat_statements' calls, BEGIN/COMMIT
#                            included), for statements per request
#   pg_cleanup               drops the tables, stops the script's own cluster
#   pin_setup                from PIN, SERVER_CPUS and CLIENT_CPUS: SERVER_PIN
#                            and CLIENT_PIN (taskset prefixes, empty with
#                            PIN=0), SERVER_CORES (the cores the server may
#                            use) and SERVER_WORKERS (its tokio worker threads)
#   assign_ports             PORT[s] = PORT_BASE + n and URL[s] for each of
#                            SERVERS; exits if a port already answers
#   start_server NAME [WRAPPER...]
#                            starts floor, memory, cookie, redis, postgres,
#                            peer, peer-redis or peer-postgres on PORT[NAME] (under WRAPPER, e.g.
#                            valgrind or taskset, if given), logging to
#                            $WORK/NAME.log; its pid in PID[NAME]; with
#                            SERVER_WORKERS set, that many tokio workers
#   wait_for_servers [TRIES] waits (TRIES x 0.1 s, default 100) until each of
#                            SERVERS answers GET /; prints the log of one that
#                            does not and exits
#   stop_servers             ends every PID (TERM, then KILL after 10 s)
#   prefill SERVER N         N logins without cookies (N new sessions in the
#                            server's store); nothing for the floor and the
#                            cookie driver, which keep no sessions
#   login URL [JAR]          logs in through the form, shows the dashboard once
#                            (taking the welcome message) and prints the Cookie
#                            header a browser would now send
#   login_servers N          DASH_COOKIE[s] and N more logins in FLASH_COOKIES[s]
#                            ("|"-separated) for each of SERVERS; the floor
#                            gets memory's (it ignores them)
#   check_pages REF LABEL    fetches each server's dashboard and its home page
#                            after a flash; REF's must show NAME and MESSAGE
#                            and all must equal REF's (LABEL names REF in
#                            errors), once the CSRF tokens, which differ per
#                            render, are masked (mask_tokens: their lengths
#                            must still match)
#   field SCENARIO SERVER KEY, median, total, ratio A B
#                            the result helpers (field reads $RESULTS)
# Sets NAME, MESSAGE and SECRET, the same for every script so that all send
# the same pages. Uses the caller's SERVERS, PORT_BASE, WORK, BIN (the
# workspace's release directory: the demo in BIN/examples/app, the
# session-views-bench binaries such as BIN/floor), PEER_BIN and, where set,
# BENCH_REDIS_URL, BENCH_PEER_REDIS_URL, PEER_REDIS_POOL,
# BENCH_DATABASE_URL, PG_PORT, PEER_POSTGRES_POOL, MEMORY_MAX_SESSIONS, PIN,
# SERVER_CPUS and CLIENT_CPUS.

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

# Redis: ours in BENCH_REDIS_URL's database, the peer's (whose keys have no
# prefix) in BENCH_PEER_REDIS_URL's, so that each server's store holds only
# its own sessions.
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/11}
BENCH_PEER_REDIS_URL=${BENCH_PEER_REDIS_URL:-redis://127.0.0.1:6379/12}
# The databases in use, as "host port db", and those that were empty.
REDIS_DBS=()
declare -gA REDIS_WAS_EMPTY

# redis_parts URL: "host port db" of a redis:// URL.
redis_parts() {
  local host port db
  host=$(echo "$1" | sed -E 's#^redis://([^:/]+).*#\1#')
  port=$(echo "$1" | sed -nE 's#^redis://[^:/]+:([0-9]+).*#\1#p')
  db=$(echo "$1" | sed -nE 's#^redis://[^/]+/([0-9]+)$#\1#p')
  echo "$host ${port:-6379} ${db:-0}"
}

redis_select() {
  local server url host port db keys kept=() dropped=()
  for server in "${SERVERS[@]}"; do
    case $server in
      redis) url=$BENCH_REDIS_URL ;;
      peer-redis) url=$BENCH_PEER_REDIS_URL ;;
      *) kept+=("$server"); continue ;;
    esac
    read -r host port db <<<"$(redis_parts "$url")"
    if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
      dropped+=("$server")
      continue
    fi
    kept+=("$server")
    REDIS_DBS+=("$host $port $db")
    if command -v redis-cli >/dev/null; then
      keys=$(redis-cli -h "$host" -p "$port" -n "$db" dbsize)
      [ "$keys" = 0 ] && REDIS_WAS_EMPTY["$host $port $db"]=1
      echo "Redis $host:$port database $db ($server) holds $keys keys before the run"
    fi
  done
  if [ "${#dropped[@]}" -gt 0 ]; then
    echo "Redis does not answer for ${dropped[*]}: leaving them out" >&2
  fi
  SERVERS=("${kept[@]}")
}

redis_require_empty() {
  local dbs
  for dbs in "${REDIS_DBS[@]}"; do
    if [ -z "${REDIS_WAS_EMPTY[$dbs]:-}" ]; then
      read -r host port db <<<"$dbs"
      echo "Redis $host:$port database $db is not empty (or redis-cli is missing): bench/${0##*/}" >&2
      echo "empties its databases between scenarios, so they must be its own. Empty it" >&2
      echo "(redis-cli -h $host -p $port -n $db flushdb) or point BENCH_REDIS_URL /" >&2
      echo "BENCH_PEER_REDIS_URL at empty databases." >&2
      exit 1
    fi
  done
}

redis_flush() {
  local dbs host port db
  for dbs in "${REDIS_DBS[@]}"; do
    read -r host port db <<<"$dbs"
    redis-cli -h "$host" -p "$port" -n "$db" flushdb >/dev/null
  done
}

redis_cleanup() {
  local dbs host port db
  for dbs in "${REDIS_DBS[@]}"; do
    [ -n "${REDIS_WAS_EMPTY[$dbs]:-}" ] || continue
    read -r host port db <<<"$dbs"
    redis-cli -h "$host" -p "$port" -n "$db" flushdb >/dev/null || true
  done
}

# PostgreSQL: ours in session_views_bench.sessions, the peer's in
# tower_sessions.peer_sessions_bench, both in BENCH_DATABASE_URL's database
# or, when that is unset, in a throw-away cluster of the script's own, where
# pg_stat_statements is loaded so that the statements (round trips) per
# request can be counted without touching a shared server's settings.
BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-}
PG_PORT=${PG_PORT:-$((${PORT_BASE:-18200} + 90))}
PEER_POSTGRES_POOL=${PEER_POSTGRES_POOL:-16}
OUR_PG_SCHEMA=session_views_bench
OUR_PG_TABLE=sessions
PEER_PG_TABLE=peer_sessions_bench
PG_STATS=0
PG_DIR=""

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bench_psql() {
  psql "$BENCH_DATABASE_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

pg_select() {
  local server kept=() wanted=0 bindir
  for server in "${SERVERS[@]}"; do
    case $server in postgres | peer-postgres) wanted=1 ;; esac
  done
  [ "$wanted" = 1 ] || return 0
  if [ -z "$BENCH_DATABASE_URL" ]; then
    if bindir=$(pg_config --bindir 2>/dev/null) && [ -x "$bindir/initdb" ] && command -v psql >/dev/null; then
      PG_DIR=$(mktemp -d /tmp/bench-postgres.XXXXXX)
      [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
      if pg_as_owner "$bindir/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >"$PG_DIR/initdb.log" 2>&1 &&
        pg_as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
          -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c max_connections=200 \
              -c shared_preload_libraries=pg_stat_statements \
              -c fsync=off -c synchronous_commit=off" start >/dev/null; then
        BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
        echo "PostgreSQL of the benchmark's own on 127.0.0.1:$PG_PORT ($PG_DIR)"
      else
        echo "could not start a PostgreSQL of the benchmark's own:" >&2
        cat "$PG_DIR/initdb.log" "$PG_DIR/server.log" >&2 2>/dev/null || true
      fi
    fi
  fi
  if [ -z "$BENCH_DATABASE_URL" ] || ! bench_psql "SELECT 1" >/dev/null 2>&1; then
    echo "no PostgreSQL for postgres and peer-postgres (set BENCH_DATABASE_URL, or install postgresql): leaving them out" >&2
    for server in "${SERVERS[@]}"; do
      case $server in postgres | peer-postgres) ;; *) kept+=("$server") ;; esac
    done
    SERVERS=("${kept[@]}")
    return 0
  fi
  if bench_psql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1 &&
    bench_psql "SELECT count(*) FROM pg_stat_statements" >/dev/null 2>&1; then
    PG_STATS=1
  else
    echo "pg_stat_statements is not loaded in BENCH_DATABASE_URL's server: statements per request not counted" >&2
  fi
}

pg_flush() {
  [ -n "$BENCH_DATABASE_URL" ] || return 0
  bench_psql "DROP TABLE IF EXISTS $OUR_PG_SCHEMA.$OUR_PG_TABLE, tower_sessions.$PEER_PG_TABLE" >/dev/null 2>&1 || true
}

pg_stats_reset() {
  [ "$PG_STATS" = 1 ] && bench_psql "SELECT pg_stat_statements_reset()" >/dev/null
  return 0
}

# pg_statements: the statements executed since the last reset, the
# benchmark's own queries left out.
pg_statements() {
  bench_psql "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
    WHERE query NOT LIKE '%pg_stat_statements%'"
}

pg_cleanup() {
  [ -n "$BENCH_DATABASE_URL" ] || return 0
  if [ -n "$PG_DIR" ]; then
    pg_as_owner "$(pg_config --bindir)/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  else
    pg_flush
  fi
}

# cpu_count LIST: how many CPUs a taskset list such as 1, 0-1 or 0,2-3 names.
cpu_count() {
  awk -v list="$1" 'BEGIN { n = split(list, parts, ","); c = 0
    for (i = 1; i <= n; i++) { if (split(parts[i], r, "-") == 2) c += r[2] - r[1] + 1; else c++ }
    print c }'
}

# The server on SERVER_CPUS, the load generator on CLIENT_CPUS (defaults for
# a 2-core machine: one core each), so that neither takes CPU time from the
# other and the server's share of its cores can be read from /proc.
pin_setup() {
  PIN=${PIN:-1}
  SERVER_CPUS=${SERVER_CPUS:-1}
  CLIENT_CPUS=${CLIENT_CPUS:-0}
  # shellcheck disable=SC2034 # used by the scripts that source this file
  SERVER_PIN=()
  # shellcheck disable=SC2034
  CLIENT_PIN=()
  SERVER_WORKERS=""
  SERVER_CORES=$(nproc)
  if [ "$PIN" = 1 ]; then
    need taskset
    # shellcheck disable=SC2034
    SERVER_PIN=(taskset -c "$SERVER_CPUS")
    # shellcheck disable=SC2034
    CLIENT_PIN=(taskset -c "$CLIENT_CPUS")
    SERVER_CORES=$(cpu_count "$SERVER_CPUS")
    # One tokio worker per core the server may use (tokio would otherwise
    # start one per core of the machine and time-slice them).
    SERVER_WORKERS=$SERVER_CORES
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
    postgres | peer-postgres)
      if [ -z "$BENCH_DATABASE_URL" ]; then
        echo "start_server $server: no database (call pg_select first)" >&2
        exit 1
      fi ;;
  esac
  case $server in
    floor)
      vars+=(FLOOR_NAME="$NAME" FLOOR_FLASH="$MESSAGE")
      bin=$BIN/floor ;;
    memory | cookie | redis | postgres)
      vars+=(SESSION_DRIVER="$server" SESSION_SECRET="$SECRET" TEMPLATE_ENGINE=minijinja
        TEMPLATES_AUTO_RELOAD=0 REDIS_URL="$BENCH_REDIS_URL" DATABASE_URL="$BENCH_DATABASE_URL"
        SESSION_POSTGRES_SCHEMA="$OUR_PG_SCHEMA" SESSION_POSTGRES_TABLE="$OUR_PG_TABLE")
      [ -n "${MEMORY_MAX_SESSIONS:-}" ] && vars+=(SESSION_MAX_SESSIONS="$MEMORY_MAX_SESSIONS")
      bin=$BIN/examples/app ;;
    peer)
      vars+=(SESSION_STORE=memory)
      bin=$PEER_BIN/peer ;;
    peer-redis)
      vars+=(SESSION_STORE=redis REDIS_URL="$BENCH_PEER_REDIS_URL" REDIS_POOL="$PEER_REDIS_POOL")
      bin=$PEER_BIN/peer ;;
    peer-postgres)
      vars+=(SESSION_STORE=postgres DATABASE_URL="$BENCH_DATABASE_URL" POSTGRES_POOL="$PEER_POSTGRES_POOL"
        POSTGRES_TABLE="$PEER_PG_TABLE")
      bin=$PEER_BIN/peer ;;
    *)
      echo "unknown server $server" >&2
      exit 1 ;;
  esac
  [ -n "${SERVER_WORKERS:-}" ] && vars+=(TOKIO_WORKER_THREADS="$SERVER_WORKERS")
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
  PID=()
}

# prefill SERVER N: N logins without cookies, PREFILL_PARALLEL (8) at a
# time, through curl's URL globbing (one process, keep-alive connections);
# every answer must be the login's 303 to /dashboard.
prefill() {
  local server=$1 n=$2 answers
  case $server in floor | cookie) return 0 ;; esac
  [ "$n" -gt 0 ] || return 0
  answers=$(curl -s --no-progress-meter -Z --parallel-max "${PREFILL_PARALLEL:-8}" -o /dev/null \
    -w '%{http_code} %{redirect_url}\n' --data-urlencode "name=$NAME" \
    "${URL[$server]}/login?prefill=[1-$n]" 2>>"$WORK/prefill.log" |
    awk '{ n[$1 " " $2]++ } END { for (k in n) print n[k], k }')
  if ! echo "$answers" | awk -v n="$n" -v url="${URL[$server]}/dashboard" '
      $2 == 303 && $3 == url { ok = $1 } END { exit !(ok == n) }'; then
    echo "prefilling $server with $n sessions: unexpected answers (count, status, location):" >&2
    echo "$answers" >&2
    exit 1
  fi
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

# mask_tokens: stdin to stdout with the value of every CSRF field replaced
# by its length (`name="_token" value="<86 chars>"`): the demo masks its
# token anew on every render, the floor and the peers send a fixed one of
# the same length, so pages compare equal exactly when all else is.
mask_tokens() {
  perl -pe 's/(name="_token" value=")([^"]*)"/$1 . "<" . length($2) . " chars>\""/ge'
}

# Fetches SERVER's dashboard (logged in) and its home page after a flash
# into $WORK/SERVER.dashboard and $WORK/SERVER.home, tokens masked.
fetch_pages() {
  local server=$1 jar="$WORK/$1.flashjar"
  curl -s -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/dashboard" | mask_tokens >"$WORK/$server.dashboard"
  printf '' >"$jar"
  curl -s -o /dev/null -c "$jar" -b "$jar" -H "Cookie: ${DASH_COOKIE[$server]}" \
    --data-urlencode level=success --data-urlencode "message=$MESSAGE" "${URL[$server]}/flash"
  curl -s -b "$jar" -H "Cookie: ${DASH_COOKIE[$server]}" "${URL[$server]}/" | mask_tokens >"$WORK/$server.home"
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
  grep -q 'name="_token" value="<86 chars>"' "$WORK/$reference.dashboard" || {
    echo "$label's dashboard has no CSRF field of 86 characters" >&2
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
    postgres) has_server peer-postgres && echo peer-postgres ;;
  esac
  return 0
}

# make_work_dir: a fresh temporary directory in WORK, removed when the
# script ends (Ctrl-C and kill too), after the servers are stopped, the
# Redis benchmark database is emptied if it was empty at the start, and the
# PostgreSQL tables dropped (or the script's own cluster stopped).
make_work_dir() {
  WORK=$(mktemp -d)
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}

bench_cleanup() {
  stop_servers
  redis_cleanup
  pg_cleanup
  rm -rf "$WORK"
}
