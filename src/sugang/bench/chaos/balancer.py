"""HAProxy in front of the API replicas, standing in for the Service, NodePort and Traefik
path of the kit: it sends requests to the replicas whose /readyz answers (on the health
port, as the kit's readiness probe asks; every second, with the kit's 2 s timeout), takes a
replica out after three failed checks and back after two good ones, retries a request whose
connection could not be made on another replica, and answers with a 503 and Retry-After (as
the app does) when no replica could take a request, never with a bare 502 or 504. Its
runtime API takes a replica out of rotation at once, as a terminating pod's endpoint is
removed from the Service before the pod is stopped."""

import csv
import json
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from sugang.bench.chaos.nodes import Node
from sugang.bench.chaos.processes import ChaosError, Server, free_port, wait_for_port
from sugang.errors import Unavailable


def _busy_answer() -> bytes:
    """The app's own 503, word for word, for a failure of the path in front of it."""
    body = json.dumps(Unavailable().to_body("ko"), ensure_ascii=False).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Retry-After: 1\r\nCache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Balancer:
    root: Path
    replicas: list[tuple[Node, int]]  # (node, port)
    health_port: int | None = None  # where /readyz is checked, if not the replicas' port
    port: int = 0
    server: Server | None = None

    def start(self) -> "Balancer":
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(haproxy).exists():
            raise ChaosError("HAProxy is not installed (apt-get install haproxy)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        for status in (502, 503, 504):
            (self.root / f"{status}.http").write_bytes(_busy_answer())
        check_port = f" port {self.health_port}" if self.health_port else ""
        backends = "\n".join(
            f"    server {node.name} {node.address}:{port} check{check_port} inter 1s fall 3 rise 2"
            for node, port in self.replicas
        )
        errorfiles = "\n".join(
            f"    errorfile {status} {self.root / f'{status}.http'}" for status in (502, 503, 504)
        )
        config = self.root / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 8000
    log stdout format raw local0 info
    stats socket {self.admin_socket} mode 600 level admin
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 1s
    timeout client 60s
    timeout server 12s
    timeout check 2s
    retries 3
    option redispatch
    # only what never reached a replica: a POST the replica may have acted on is not sent
    # twice (the client hears a 503 and decides)
    retry-on conn-failure
{errorfiles}
frontend api
    bind 127.0.0.1:{self.port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{backends}
"""
        )
        self.server = Server(
            "haproxy", [haproxy, "-f", str(config), "-db"], self.root / "haproxy.log"
        )
        self.server.start()
        wait_for_port("127.0.0.1", self.port, 10, self.server)
        return self

    @property
    def admin_socket(self) -> Path:
        return self.root / "admin.sock"

    def set_state(self, node: Node, state: str) -> None:
        """`maint`: no new request goes to the node's replica (those in flight finish);
        `ready`: back in rotation once its checks pass."""
        answer = self._admin(f"set server replicas/{node.name} state {state}").strip()
        if answer:
            raise ChaosError(f"HAProxy refused to set {node.name} {state}: {answer}")

    def check_counts(self) -> tuple[int, int]:
        """(failed /readyz checks, times a replica was taken out of rotation) so far, over
        every replica: HAProxy's `chkfail` and `chkdown`."""
        rows = csv.DictReader(self._admin("show stat").lstrip("# ").splitlines())
        servers = [
            row
            for row in rows
            if row["pxname"] == "replicas" and row["svname"] not in {"FRONTEND", "BACKEND"}
        ]
        failed = sum(int(row["chkfail"] or 0) for row in servers)
        taken_out = sum(int(row["chkdown"] or 0) for row in servers)
        return failed, taken_out

    def _admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as admin:
            admin.connect(str(self.admin_socket))
            admin.sendall(f"{command}\n".encode())
            chunks = []
            while chunk := admin.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
