"""/readyz and /healthz on a port of their own (SUGANG_HEALTH_PORT), answered by a thread.
However busy the worker's event loop is (a storm of requests, a burst of new connections),
the kubelet's probe and a load balancer's check get their answer in milliseconds: the thread
needs only the GIL, which the loop gives up every few milliseconds. The answer is the
readiness the loop keeps current (started, not draining, the database's last checks on the
side connection), so a busy replica is not mistaken for a dead one. Every worker process
binds the port with SO_REUSEPORT, as they share the main port."""

import json
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from sugang.system.readiness import Verdict


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    verdict: Callable[[], Verdict]

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def handle_error(self, request: object, client_address: object) -> None:
        """A checker that hangs up before reading its answer (HAProxy resets its check
        connections) is no error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # an idle or slow connection does not keep its thread

    def do_GET(self) -> None:  # noqa: N802 (the http.server protocol)
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._answer(200, {"status": "ok"})
        elif path == "/readyz":
            verdict = self.server.verdict()
            if verdict.ready:
                self._answer(200, {"status": "ok", "database": verdict.database})
            else:
                body = {"status": "unavailable", "database": verdict.database}
                self._answer(503, body, retry_after="2")
        else:
            self._answer(404, {"status": "not found"})

    def _answer(self, status: int, body: dict[str, str], retry_after: str | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds are not worth a log line."""


class HealthPort:
    def __init__(self, host: str, port: int, verdict: Callable[[], Verdict]) -> None:
        host = host.strip("[]")
        server_class = _Server6 if ":" in host else _Server
        self.server = server_class((host, port), _Handler)
        self.server.verdict = verdict
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="health-port", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> "HealthPort":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
