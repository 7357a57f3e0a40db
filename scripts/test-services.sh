#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are running: use them if they answer, start
# them if they are installed, install them from Debian's packages if they are not (as root).
set -euo pipefail

pg_url="${SUGANG_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/sugang_test}"
hostport="${pg_url#*@}"; hostport="${hostport%%/*}"
pg_host="${hostport%%:*}"; pg_port="${hostport##*:}"; [ "$pg_port" = "$hostport" ] && pg_port=5432
redis_host=127.0.0.1 redis_port=6379

say() { echo "test-services: $*"; }
fail() { echo "test-services: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
answers() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
wait_for() { for _ in $(seq 1 60); do answers "$1" "$2" && return 0; sleep 0.5; done; return 1; }

apt_install() {
  command -v apt-get >/dev/null || fail "no apt-get here: install $* yourself"
  say "installing $* from Debian's packages"
  as_root apt-get update -qq || fail "apt-get update failed (need root)"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null \
    || fail "apt-get install $* failed"
}

ensure_postgres() {
  if answers "$pg_host" "$pg_port"; then say "PostgreSQL answers on $pg_host:$pg_port"; return; fi
  case "$pg_host" in
    127.0.0.1|localhost) ;;
    *) fail "PostgreSQL at $pg_host:$pg_port (SUGANG_TEST_DATABASE_URL) does not answer" ;;
  esac
  local installed_now=""
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
    installed_now=1
  fi
  local version; version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  if [ -n "$installed_now" ]; then
    # A throwaway test server: let local TCP connections in without a password.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  if as_root pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
    # Running (a fresh package may start its cluster) but not answering us yet: re-read pg_hba.
    say "reloading PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload \
      || fail "could not reload PostgreSQL $version"
  else
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
      || fail "could not start PostgreSQL $version"
  fi
  wait_for "$pg_host" "$pg_port" || fail "PostgreSQL did not come up on $pg_host:$pg_port"
}

ensure_redis() {
  if answers "$redis_host" "$redis_port"; then say "Redis answers on $redis_host:$redis_port"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /tmp/sugang-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" \
    --appendonly no --dir /tmp/sugang-redis --logfile /tmp/sugang-redis/redis.log \
    || fail "could not start Redis"
  wait_for "$redis_host" "$redis_port" || fail "Redis did not come up"
}

ensure_tools() {
  # PgBouncer (the ha overlay's pooler, run in front of the test PostgreSQL) and wrk (the
  # rush benchmark's C load generator)
  local missing=()
  [ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || missing+=(pgbouncer)
  command -v wrk >/dev/null || missing+=(wrk)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  # Debian's package starts its own PgBouncer on 6432: the tests start theirs on a spare port
  as_root systemctl disable --now pgbouncer >/dev/null 2>&1 || true
}

ensure_postgres
ensure_redis
ensure_tools
