#!/usr/bin/env bash
# The rush benchmarks of docs/benchmarks.md, each on a fresh database and server.
#   scripts/bench-rush.sh pg-waiting-room | pg-direct | sqlite | sqlite-direct
#                         [extra `sugang bench rush` options]
# BENCH_WORKERS sets the server's worker processes (PostgreSQL: 2, SQLite: 1).
set -euo pipefail
cd "$(dirname "$0")/.."
setup="${1:?pg-waiting-room, pg-direct or sqlite}"; shift
bin=.venv/bin
out="${BENCH_OUT:-var/bench}"
port="${BENCH_PORT:-8797}"
mkdir -p "$out"
export SUGANG_SECRET_KEY="bench-only-secret-bench-only-secret-0123456789"
unset SUGANG_REDIS_URL
case "$setup" in
  pg-waiting-room|pg-direct)
    export SUGANG_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/sugang_rush"
    export SUGANG_REDIS_URL="redis://127.0.0.1:6379/3"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS sugang_rush" \
      -c "CREATE DATABASE sugang_rush" 2>/dev/null
    redis-cli -n 3 flushdb >/dev/null
    workers="${BENCH_WORKERS:-2}" ;;
  sqlite|sqlite-direct)
    export SUGANG_DATABASE_URL="sqlite+aiosqlite:///$PWD/$out/rush.db"
    rm -f "$out"/rush.db*
    workers="${BENCH_WORKERS:-1}" ;;
  *) echo "unknown setup $setup" >&2; exit 2 ;;
esac
room=--waiting-room; case "$setup" in *-direct) room=--no-waiting-room ;; esac

if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  echo "something already answers on port $port: stop it, or set BENCH_PORT" >&2; exit 1
fi
$bin/sugang db upgrade >/dev/null
$bin/sugang serve --workers "$workers" --port "$port" >"$out/server-$setup.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
# the resident memory (KiB) of every server process, once a second, until the server stops
: > "$out/rss-kib-$setup.txt"
( while kill -0 $server 2>/dev/null; do
    # (`|| true`: with one worker there is no child, and set -e would end the loop)
    { ps -o rss= --ppid $server || true; ps -o rss= -p $server || true; } >> "$out/rss-kib-$setup.txt" 2>/dev/null
    sleep 1
  done ) &
sampler=$!
$bin/sugang bench rush --url "http://127.0.0.1:$port" $room --json "$out/rush-$setup.json" "$@" >/dev/null 2>"$out/bench-$setup.err" \
  || echo "$setup: the bench reported a failure (see $out/rush-$setup.json)"
kill $server; wait $server 2>/dev/null || true; wait $sampler || true
echo "$setup: $(python3 -c "
import json; r=json.load(open('$out/rush-$setup.json')); l=r['load']; d=r.get('database_limit',{}); f=r.get('fast_path',{})
print(f\"attempts/s={l['attempts_per_second']} p50={l['latency_ms']['p50']}ms p99={l['latency_ms']['p99']}ms \"
      f\"5xx={l['server_errors']} logins/s={l['logins_per_second']} queue_wait={r['queue_wait_seconds']} \"
      f\"db_limit={d.get('statements_per_second')}/s@{d.get('clients')} ratio={r['service_to_database_ratio']} \"
      f\"claims/s={f.get('claims_per_second')} refusals/s={f.get('refusals_per_second')} \"
      f\"outcomes={l['outcomes']} audit_ok={r['audit']['ok']} oversold={r['audit']['oversold_seats']}\")")"
peak=$(sort -n "$out/rss-kib-$setup.txt" | tail -1)
if [ -n "$peak" ]; then echo "peak RSS of a server process: $(( peak / 1024 )) MiB"
else echo "peak RSS of a server process: not sampled"; fi
