#!/usr/bin/env bash
# The soak: 64 virtual users (one keep-alive connection each) walking the
# demo's flows -- new visitors, logins, counters, flash round trips,
# logouts, abandoned sessions -- against the soak server of bench/harness
# (the demo plus a /counter route), each user checking its own session. Not
# run by CI.
#
#   bench/soak.sh memory|cookie|redis   one driver (DURATION seconds, default 600)
#   bench/soak.sh fault                 the redis driver on a Redis of its own
#                                       (port FAULT_REDIS_PORT, default 6390),
#                                       killed with SIGKILL at KILL_AT s and
#                                       restarted DOWN_FOR s later
#   bench/soak.sh all                   memory, cookie, redis, then fault
#
# Environment: DURATION (600), USERS (64), PORT (8700), WARMUP (60),
# FAULT_DURATION (180), KILL_AT (60), DOWN_FOR (30), REDIS_URL for the redis
# run (redis://127.0.0.1:6379; its keys get a prefix of their own and are
# deleted afterwards), NICE_LEVEL (19: others share the machine).
# Output: bench/soak-results/<run>.txt (the client's report, the last line
# RESULT PASS/FAIL) and <run>-server.log (grepped for panics).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
USERS=${USERS:-64}
PORT=${PORT:-8700}
WARMUP=${WARMUP:-60}
FAULT_DURATION=${FAULT_DURATION:-180}
KILL_AT=${KILL_AT:-60}
DOWN_FOR=${DOWN_FOR:-30}
FAULT_REDIS_PORT=${FAULT_REDIS_PORT:-6390}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
NICE="nice -n ${NICE_LEVEL:-19}"
OUT=bench/soak-results
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release
mkdir -p "$OUT"

$NICE cargo build --release -p session-views-bench --bin soak --bin soak_client
# What was built: every run of this invocation uses this one build.
BUILD_COMMIT=${SOAK_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
BUILD_DIRTY=$(git status --short -- crates src examples templates bench/harness 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

SERVER_PID=
start_server() { # run-name, then env assignments
    local run=$1
    shift
    if port_open "$PORT"; then
        echo "port $PORT is in use; set PORT" >&2
        exit 1
    fi
    env "$@" PORT="$PORT" SESSION_SECRET="soak secret $(date +%s%N) padding padding" \
        $NICE "$BIN/soak" >"$OUT/$run-server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        port_open "$PORT" && return 0
        sleep 0.1
    done
    echo "the soak server did not start:" >&2
    cat "$OUT/$run-server.log" >&2
    exit 1
}

stop_server() { # run-name
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    local panics
    panics=$(grep -c panicked "$OUT/$1-server.log" || true)
    echo "server panics: $panics" | tee -a "$OUT/$1.txt"
}

client() { # run-name seconds extra-flags...
    local run=$1 seconds=$2
    shift 2
    $NICE "$BIN/soak_client" --url "http://127.0.0.1:$PORT" --users "$USERS" \
        --seconds "$seconds" --server-pid "$SERVER_PID" --warmup "$WARMUP" "$@" |
        tee "$OUT/$run.txt"
}

header() { # run-name
    {
        echo "# $1, $(date -Is), $(nproc) cores, built from commit $BUILD_COMMIT"
        echo "# command: bench/soak.sh $1 (DURATION=$DURATION USERS=$USERS)"
        echo "# uncommitted changes in the build: ${BUILD_DIRTY:-none}"
    } >"$OUT/$1.head"
}

finish() { # run-name
    cat "$OUT/$1.head" "$OUT/$1.txt" >"$OUT/$1.tmp" && mv "$OUT/$1.tmp" "$OUT/$1.txt"
    rm -f "$OUT/$1.head"
}

run_driver() { # memory|cookie|redis
    local driver=$1 prefix=""
    header "$driver"
    local env=(SESSION_DRIVER="$driver" SESSION_MAX_SESSIONS=1000 SESSION_LIFETIME=10m)
    if [ "$driver" = redis ]; then
        prefix="soak:$(date +%s):"
        env+=(REDIS_URL="$REDIS_URL" SOAK_REDIS_PREFIX="$prefix")
    fi
    start_server "$driver" "${env[@]}"
    client "$driver" "$DURATION"
    stop_server "$driver"
    if [ -n "$prefix" ]; then
        local host port
        host=$(echo "$REDIS_URL" | sed -E 's#redis://([^:/]+).*#\1#')
        port=$(echo "$REDIS_URL" | sed -E 's#redis://[^:/]+:?([0-9]*).*#\1#')
        local keys
        keys=$(redis-cli -h "$host" -p "${port:-6379}" --scan --pattern "$prefix*" | wc -l)
        redis-cli -h "$host" -p "${port:-6379}" --scan --pattern "$prefix*" |
            xargs -r -n 500 redis-cli -h "$host" -p "${port:-6379}" unlink >/dev/null
        echo "redis keys under the soak prefix at the end (abandoned sessions, markers of regenerated ids; deleted now): $keys" | tee -a "$OUT/$driver.txt"
    fi
    finish "$driver"
}

run_fault() {
    local pidfile=/tmp/soak-redis-$FAULT_REDIS_PORT.pid
    local redis_cmd=(redis-server --port "$FAULT_REDIS_PORT" --save "" --appendonly no
        --daemonize yes --pidfile "$pidfile" --logfile "$PWD/$OUT/fault-redis.log")
    if port_open "$FAULT_REDIS_PORT"; then
        echo "port $FAULT_REDIS_PORT is in use; set FAULT_REDIS_PORT" >&2
        exit 1
    fi
    header fault
    "${redis_cmd[@]}"
    sleep 0.5
    start_server fault SESSION_DRIVER=redis SESSION_MAX_SESSIONS=1000 SESSION_LIFETIME=10m \
        REDIS_URL="redis://127.0.0.1:$FAULT_REDIS_PORT"
    client fault "$FAULT_DURATION" --interval 5 --expect-outage 1 &
    local client_pid=$! started
    started=$(date +%s)
    sleep "$KILL_AT"
    # Only the Redis this script started: its own port, its own pid file.
    kill -KILL "$(cat "$pidfile")"
    echo "fault: redis on port $FAULT_REDIS_PORT killed (SIGKILL) at +$(($(date +%s) - started)) s" >>"$OUT/fault.events"
    sleep "$DOWN_FOR"
    "${redis_cmd[@]}"
    echo "fault: redis on port $FAULT_REDIS_PORT restarted (empty) at +$(($(date +%s) - started)) s" >>"$OUT/fault.events"
    wait "$client_pid"
    stop_server fault
    cat "$OUT/fault.events" >>"$OUT/fault.txt"
    rm -f "$OUT/fault.events"
    redis-cli -p "$FAULT_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    finish fault
}

case "${1:-}" in
memory | cookie | redis) run_driver "$1" ;;
fault) run_fault ;;
all)
    for driver in memory cookie redis; do run_driver "$driver"; done
    run_fault
    ;;
*)
    # The comment block at the top of this file.
    sed -n '2,/^[^#]/{/^#/p}' "$0" >&2
    exit 2
    ;;
esac
