"""Who may say where a request came from, and over what: uvicorn believes X-Forwarded-For and
X-Forwarded-Proto only from FORWARDED_ALLOW_IPS. With the kit's value (K3s's pod network,
where Traefik runs), a client elsewhere neither picks its own address (the rate limits and the
audit log read it) nor passes for TLS; from the proxy's network, the address Traefik appended
is the client's and HTTPS brings HSTS. A real `sugang serve` on loopback: the pod network is
not reachable here, so 127.0.0.0/8 stands in for it in the second test."""

import json
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.paths import KIT
from tests.support.server import STOPPED, start_server, stop, sugang

pytestmark = pytest.mark.slow  # a real sugang serve

FORWARDED = {
    # what a client may send itself, and what Traefik appends: the client it saw
    "X-Forwarded-For": "198.51.100.66, 203.0.113.9",
    "X-Forwarded-Proto": "https",
}


@pytest.fixture
def migrated_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sugang.db'}"
    sugang("db", "upgrade", database_url=url)
    return url


def kit_forwarded_allow_ips() -> str:
    config = yaml.safe_load((KIT / "base" / "config.yaml").read_text())
    return str(config["data"]["FORWARDED_ALLOW_IPS"])


def ask_forwarded(database_url: str, log: Path, allow: str) -> tuple[httpx.Response, str]:
    """One forwarded request; the answer and the client address the access log names."""
    process, base = start_server(database_url, log, 1, env={"FORWARDED_ALLOW_IPS": allow})
    try:
        answer = httpx.get(
            f"{base}/api/v1/time", headers={**FORWARDED, "X-Request-ID": "forwarded-1"}
        )
    finally:
        assert stop(process) in STOPPED
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    mine = next(line for line in lines if line.get("request_id") == "forwarded-1")
    return answer, str(mine["client"])


def test_the_kit_trusts_only_the_pod_network_not_a_client(migrated_db: str, tmp_path: Path) -> None:
    allow = kit_forwarded_allow_ips()
    assert allow == "10.42.0.0/16"  # K3s's default --cluster-cidr: change it with it
    answer, client = ask_forwarded(migrated_db, tmp_path / "server.log", allow)
    assert answer.status_code == 200
    assert client == "127.0.0.1"  # the connection's own address: the headers were ignored
    assert "strict-transport-security" not in answer.headers  # plain HTTP stays plain


def test_from_the_proxys_network_the_client_is_the_one_traefik_saw(
    migrated_db: str, tmp_path: Path
) -> None:
    answer, client = ask_forwarded(migrated_db, tmp_path / "server.log", "127.0.0.0/8")
    assert answer.status_code == 200
    # the rightmost address not in the trusted network: the one the proxy appended, never
    # the one the client wrote itself
    assert client == "203.0.113.9"
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_spoofed_address_does_not_give_a_client_a_fresh_bucket(
    migrated_db: str, tmp_path: Path
) -> None:
    """Each request claims another address: with the kit's FORWARDED_ALLOW_IPS they all
    count against the connection's own address, and the fourth is over its bucket of three."""
    env = {
        "FORWARDED_ALLOW_IPS": kit_forwarded_allow_ips(),
        "SUGANG_RATE_LIMIT_ENABLED": "true",
        "SUGANG_RATE_LIMIT_IP_BURST": "3",
        "SUGANG_RATE_LIMIT_IP_PER_SECOND": "0.01",
    }
    process, base = start_server(migrated_db, tmp_path / "server.log", 1, env=env)
    try:
        statuses = [
            httpx.get(
                f"{base}/api/v1/time", headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ).status_code
            for n in range(1, 5)
        ]
    finally:
        assert stop(process) in STOPPED
    assert statuses == [200, 200, 200, 429]
