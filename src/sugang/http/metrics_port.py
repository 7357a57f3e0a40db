"""/metrics on a port of its own: with SUGANG_METRICS_PORT set, the workers listen there too
(`sugang serve`), and the port a request came in on decides what it may ask. The metrics port
answers /metrics and nothing else, so no API request reaches the app around the ingress; the
main port no longer answers /metrics, so the ingress, which routes only the main port, never
exposes it."""

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from sugang.errors import NotFound
from sugang.http.asgi import header, send_json
from sugang.http.deps import language_of

METRICS_PATH = "/metrics"


class MetricsPort:
    def __init__(self, app: ASGIApp, port: int | None) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.port is None or scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        on_metrics_port = (scope.get("server") or (None, None))[1] == self.port
        if on_metrics_port == (scope["type"] == "http" and scope["path"] == METRICS_PATH):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _not_found(scope, send)


async def _not_found(scope: Scope, send: Send) -> None:
    # the app's own answer to an unknown path, so neither port tells what the other serves
    body = NotFound(what="page", what_ko="페이지").to_body(
        language_of(header(scope, b"accept-language"))
    )
    await send_json(send, 404, json.dumps(body, ensure_ascii=False).encode())
