#!/usr/bin/env bash
# Redis commands per ticket poll: a server on Redis db 5, 20 students in a rush term, 200 polls.
set -euo pipefail
cd "$(dirname "$0")/.."; mkdir -p var/pollcount
export SUGANG_DATABASE_URL="sqlite+aiosqlite:///$PWD/var/pollcount/p.db" SUGANG_REDIS_URL="redis://127.0.0.1:6379/5"
export SUGANG_SECRET_KEY="poll-count-secret-poll-count-secret-12345"
rm -f $PWD/var/pollcount/p.db*; redis-cli -n 5 flushdb >/dev/null
.venv/bin/sugang db upgrade >/dev/null
.venv/bin/sugang seed --students 20 --courses 3 --hot 1 --seed 11 --rush-mode >/dev/null 2>&1
.venv/bin/sugang serve --port 8795 --log-level warning >$PWD/var/pollcount/serve.log 2>&1 &
server=$!; trap 'kill $server; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 40); do curl -sf localhost:8795/readyz >/dev/null && break; sleep 0.3; done
.venv/bin/python - <<'PY'
import httpx, subprocess
def commands():
    info = subprocess.run(["redis-cli", "INFO", "stats"], capture_output=True, text=True).stdout
    return int(next(l for l in info.splitlines() if l.startswith("total_commands_processed")).split(":")[1])
with httpx.Client(base_url="http://127.0.0.1:8795") as c:
    tok = c.post("/api/v1/auth/token", data={"username": "s11-000000", "password": "synthetic-11-pw"}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    t = c.post("/api/v1/queue/tickets", headers=h).json()["ticket"]
    c.get(f"/api/v1/queue/tickets/{t}", headers=h)  # warm: scripts loaded, lottery drawn
    before = commands()
    for _ in range(200):
        assert c.get(f"/api/v1/queue/tickets/{t}", headers=h).status_code == 200
    print(f"redis commands per poll: {(commands() - before) / 200:.2f}")
PY
