#!/usr/bin/env bash
# py-spy profiles of the server's workers during the rush of `scripts/bench-rush.sh`:
# once wrk starts sending attempts, each worker is sampled for PROFILE_SECONDS (default 8).
#   scripts/profile-rush.sh NAME [bench-rush.sh setup and options]
#   e.g. scripts/profile-rush.sh before pg-direct --driver wrk --no-measure-database
# writes var/prof/NAME-<pid>.txt (collapsed stacks) and NAME-<pid>.svg (flame graphs).
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?a name for the profiles}"; shift
out=var/prof; mkdir -p "$out"
seconds="${PROFILE_SECONDS:-8}"
scripts/bench-rush.sh "$@" &
bench=$!
until pgrep -x wrk >/dev/null; do
  kill -0 $bench 2>/dev/null || { echo "the bench ended before wrk started" >&2; exit 1; }
  sleep 0.2
done
port="${BENCH_PORT:-8797}"
supervisor=$(pgrep -f "sugang serve --workers [0-9]+ --port $port" | head -1)
workers=$(pgrep -P "$supervisor" -f multiprocessing || echo "$supervisor")
for pid in $workers; do
  .venv/bin/py-spy record --nonblocking -r 250 -d "$seconds" -p "$pid" -f raw -o "$out/$name-$pid.txt" >/dev/null 2>&1 &
  .venv/bin/py-spy record --nonblocking -r 100 -d "$seconds" -p "$pid" -o "$out/$name-$pid.svg" >/dev/null 2>&1 &
done
wait
