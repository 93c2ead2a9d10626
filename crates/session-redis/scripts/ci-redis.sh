#!/usr/bin/env bash
# What the session-redis tests need on a CI machine, idempotent:
#  - redis-server and redis-cli (Debian's `redis-server` package): the fault
#    and cluster tests start their own servers on free loopback ports;
#  - a Redis on 127.0.0.1:${REDIS_PORT:-6379}, for the conformance suite, the
#    driver tests and the benchmark (REDIS_URL defaults to that address).
# .ci/run already does the same inline; this is for a fresh machine (or a CI
# that runs only this crate): `bash crates/session-redis/scripts/ci-redis.sh`.
set -euo pipefail

port="${REDIS_PORT:-6379}"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
  redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --save "" --appendonly no
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

echo "redis on 127.0.0.1:$port: $(redis-cli -p "$port" ping) ($(redis-server --version | cut -d' ' -f1-3))"
