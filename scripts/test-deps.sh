#!/usr/bin/env bash
# What `make test` needs besides Rust, installed or started when missing; `make setup` and
# .ci/run run it too. Prints each thing it does; on a machine that has everything it only checks.
#
#   packages  chromium + chromium-driver (the browser test), redis-server (the Redis tests start
#             their own servers too), openssl (the PostgreSQL TLS test makes its certificates),
#             postgresql (pg_ctlcluster, psql, and the initdb/pg_ctl the PostgreSQL tests start
#             their own servers with); installed with apt-get on Debian
#   Redis     on 127.0.0.1:6379, started when nothing answers there (not when REDIS_URL is set)
#   Postgres  on 127.0.0.1:5432 with a database `test` that user postgres reaches without a
#             password; the machine's cluster is started when nothing answers there (not when
#             DATABASE_URL is set)
#
# What needs root (installing, starting PostgreSQL) is done when run as root; otherwise, or on a
# system other than Debian, it stops at once and prints the commands to run.
set -euo pipefail

say() { echo "test-deps: $*"; }

# Prints the commands, one a line, then stops.
stop_with() {
  local reason=$1
  shift
  {
    echo "test-deps: $reason. Run:"
    printf '  %s\n' "$@"
    echo "then run make test again."
  } >&2
  exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }
# `sudo ` when not root: the prefix of the commands printed for a person to run.
if is_root; then SUDO=""; else SUDO="sudo "; fi

# Whether something answers on 127.0.0.1:PORT (TCP connect, two seconds at most).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Whether a Redis answers PING on 127.0.0.1:6379 (a port taken by something else does not count).
redis_answers() {
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 &&
    IFS= read -r reply <&3 && [[ $reply == +PONG* ]]' 2>/dev/null
}

# The PostgreSQL binaries the tests run themselves (initdb, pg_ctl) live in pg_config's bindir.
postgres_installed() {
  command -v pg_ctlcluster >/dev/null && command -v psql >/dev/null &&
    [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]
}

# Debian's package names; Ubuntu ships chromium as a snap (and names the driver differently).
is_debian() {
  [ -f /etc/debian_version ] && command -v apt-get >/dev/null || return 1
  local id="" id_like=""
  # shellcheck disable=SC1091
  [ -r /etc/os-release ] && { id=$(. /etc/os-release && echo "${ID:-}"); id_like=$(. /etc/os-release && echo "${ID_LIKE:-}"); }
  [[ $id != ubuntu && $id_like != *ubuntu* ]]
}

# --- packages ---------------------------------------------------------------
missing=()
command -v make >/dev/null || missing+=(make)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v openssl >/dev/null || missing+=(openssl)
postgres_installed || missing+=(postgresql)
installed_postgres=0
if [ ${#missing[@]} -gt 0 ]; then
  install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if ! is_debian; then
    stop_with "missing ${missing[*]}; this script installs Debian's packages only (on another \
system install the same programs with its package manager: chromium, chromedriver, \
redis-server, PostgreSQL with pg_ctlcluster-style tools)" \
      "sudo apt-get update" "sudo DEBIAN_FRONTEND=noninteractive ${install[*]}"
  fi
  if ! is_root; then
    stop_with "missing ${missing[*]}; installing needs root" \
      "sudo apt-get update" "sudo DEBIAN_FRONTEND=noninteractive ${install[*]}"
  fi
  say "installing ${missing[*]}: apt-get update, then ${install[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${install[@]}" -qq
  hash -r
  for tool in make chromium chromedriver redis-server pg_ctlcluster psql; do
    command -v "$tool" >/dev/null || stop_with "apt-get installed ${missing[*]} but $tool is still missing" \
      "apt-get install -y --no-install-recommends ${missing[*]}"
  done
  [[ " ${missing[*]} " == *" postgresql "* ]] && installed_postgres=1
fi

# --- Redis on 127.0.0.1:6379 --------------------------------------------------
if [ -n "${REDIS_URL:-}" ]; then
  say "REDIS_URL is set ($REDIS_URL): not checking 127.0.0.1:6379"
elif redis_answers; then
  redis_status="Redis answers on 127.0.0.1:6379"
else
  start_redis='redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
  say "nothing answers on 127.0.0.1:6379: starting Redis ($start_redis)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || stop_with "Redis did not answer on 127.0.0.1:6379 after starting it \
(is something else listening there?)" "ss -ltnp 'sport = :6379'" "$start_redis"
  redis_status="Redis started on 127.0.0.1:6379"
fi

# --- PostgreSQL on 127.0.0.1:5432, database test -------------------------------
# The newest version that has a `main` cluster, or none.
main_cluster_version() {
  local v
  for v in $(ls /etc/postgresql 2>/dev/null | sort -rV); do
    [ -f "/etc/postgresql/$v/main/postgresql.conf" ] && { echo "$v"; return; }
  done
}

# The tests connect as postgres over TCP without a password: only for a cluster this script
# made (a fresh install's, or one it created), never an existing one's settings.
trust_local_tcp() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  say "letting local TCP connections in without a password (trust) in $hba"
  { printf '%s\n' "# scripts/test-deps.sh: a test database; local TCP connections need no password." \
      "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust"; cat "$hba"; } >"$hba.new"
  chown --reference="$hba" "$hba.new"
  chmod --reference="$hba" "$hba.new"
  mv "$hba.new" "$hba"
}

psql_test() { psql -X -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc "$1"; }

if [ -n "${DATABASE_URL:-}" ]; then
  say "DATABASE_URL is set: not checking 127.0.0.1:5432"
else
  version=$(main_cluster_version)
  if port_open 5432; then
    postgres_status="PostgreSQL answers on 127.0.0.1:5432"
    # A fresh install may have started its cluster already, with password authentication.
    if [ "$installed_postgres" = 1 ] && [ -n "$version" ]; then
      trust_local_tcp "$version"
      say "reloading PostgreSQL's settings (pg_ctlcluster $version main reload)"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
  else
    fresh_cluster=$installed_postgres
    if [ -z "$version" ]; then
      version=$(ls /usr/lib/postgresql 2>/dev/null | sort -rV | head -n 1)
      is_root || stop_with "no PostgreSQL cluster to start; creating one needs root" \
        "sudo pg_createcluster $version main" \
        "sudo sed -i '1i host all all 127.0.0.1/32 trust' /etc/postgresql/$version/main/pg_hba.conf" \
        "sudo pg_ctlcluster --skip-systemctl-redirect $version main start"
      say "no PostgreSQL cluster: creating one (pg_createcluster $version main)"
      pg_createcluster "$version" main >/dev/null
      fresh_cluster=1
    fi
    start_pg="pg_ctlcluster --skip-systemctl-redirect $version main start"
    is_root || stop_with "nothing answers on 127.0.0.1:5432; starting PostgreSQL needs root" \
      "sudo $start_pg"
    [ "$fresh_cluster" = 1 ] && trust_local_tcp "$version"
    say "nothing answers on 127.0.0.1:5432: starting PostgreSQL ($start_pg)"
    $start_pg || stop_with "PostgreSQL $version/main did not start" \
      "pg_lsclusters" "tail /var/log/postgresql/postgresql-$version-main.log"
    for _ in $(seq 50); do port_open 5432 && break; sleep 0.1; done
    port_open 5432 || stop_with "PostgreSQL $version/main started but nothing answers on \
127.0.0.1:5432 (its port is set in /etc/postgresql/$version/main/postgresql.conf)" \
      "pg_lsclusters" "tail /var/log/postgresql/postgresql-$version-main.log"
    postgres_status="PostgreSQL $version/main started on 127.0.0.1:5432"
  fi
  if ! found=$(psql_test "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>&1); then
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | head -n 1)
    stop_with "user postgres cannot connect to 127.0.0.1:5432 without a password: $found" \
      "${SUDO}sed -i '1i host all all 127.0.0.1/32 trust' ${hba:-/etc/postgresql/VERSION/main/pg_hba.conf}" \
      "${SUDO}pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main reload"
  fi
  if [ "$found" != 1 ]; then
    say "creating the database test (CREATE DATABASE test)"
    psql_test "CREATE DATABASE test"
  fi
  postgres_status+=", database test"
fi

say "ready: chromium, chromedriver, redis-server, postgresql installed${redis_status:+; $redis_status}${postgres_status:+; $postgres_status}"
