#!/usr/bin/env bash
# Scale-out on this machine: the rush sent by wrk (rush mode off) against 1, 2 and 4 worker
# processes on one PostgreSQL; one line per run, the JSON reports in var/bench/scale-wN.json.
#   scripts/bench-scale.sh [worker counts, default 1 2 4]
set -euo pipefail
cd "$(dirname "$0")/.."
for workers in "${@:-1 2 4}"; do
  for w in $workers; do
    BENCH_WORKERS=$w scripts/bench-rush.sh pg-direct --driver wrk >/dev/null || true
    cp var/bench/rush-pg-direct.json "var/bench/scale-w$w.json"
    python3 - "$w" <<'PY'
import json, sys
w = sys.argv[1]; r = json.load(open(f"var/bench/scale-w{w}.json"))
l, c, d, f = r["load"], r["cpu"]["ms_per_answer"], r["database_limit"], r["fast_path"]
print(f"workers={w} attempts/s={l['attempts_per_second']} p50={l['latency_ms']['p50']}ms "
      f"p99={l['latency_ms']['p99']}ms cpu_ms/attempt server={c['server']} postgres={c['postgres']} "
      f"wrk={c['load_generator']} db_limit={d['statements_per_second']}/s ratio={r['service_to_database_ratio']} "
      f"claim_cpu={f['claim_cpu']['ms_per_answer']['server']} refusal_cpu={f['refusal_cpu']['ms_per_answer']['server']} "
      f"audit_ok={r['audit']['ok'] and f['audit']['ok']} 5xx={l['server_errors']}")
PY
  done
done
