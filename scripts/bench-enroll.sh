#!/usr/bin/env bash
# The enrollment-engine benchmark (docs/benchmarks.md): a fresh synthetic term on PostgreSQL,
# `sugang serve` with N workers, then `sugang bench enroll` at each concurrency given.
#   scripts/bench-enroll.sh [workers] [concurrency ...]       e.g. scripts/bench-enroll.sh 2 200
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${1:-2}"; shift || true
concurrencies=("${@:-200}")
bin=.venv/bin
out="${BENCH_OUT:-var/bench}"
mkdir -p "$out"
export SUGANG_DATABASE_URL="${SUGANG_BENCH_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/sugang_bench}"
export SUGANG_SECRET_KEY="bench-only-secret-bench-only-secret-0123456789"
port="${BENCH_PORT:-8799}"

psql_db="${SUGANG_DATABASE_URL##*/}"
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $psql_db" -c "CREATE DATABASE $psql_db" 2>/dev/null
$bin/sugang db upgrade >/dev/null
$bin/sugang serve --workers "$workers" --port "$port" --log-level warning >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done

for c in "${concurrencies[@]}"; do
  $bin/sugang seed --students 500 --courses 5 --hot 5 --capacity 30 --seed 7 \
    --credentials-out "$out/credentials.csv" >/dev/null 2>&1
  $bin/sugang bench enroll --url "http://127.0.0.1:$port" --credentials "$out/credentials.csv" \
    --attempts-per-student 4 --concurrency "$c" --json "$out/enroll-w$workers-c$c.json" >/dev/null
  python3 -c "
import json,sys; r=json.load(open('$out/enroll-w$workers-c$c.json')); l=r['load']; a=r['audit']
print(f\"workers=$workers concurrency=$c attempts={l['attempts']} attempts/s={l['attempts_per_second']} \"
      f\"p50={l['latency_ms']['p50']}ms p99={l['latency_ms']['p99']}ms 5xx={l['server_errors']} \"
      f\"enrolled={a['enrollments']} oversold={a['oversold_seats']} audit_ok={a['ok']}\")"
done
