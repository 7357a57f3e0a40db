"""Request bodies bounded before anything reads them: a declared Content-Length past the
limit is answered 413 at once, and a body sent without one (chunked) is cut off with a 413 as
soon as it passes the limit. Nothing upstream (authentication, JSON parsing, the multipart
parser's temporary files) sees more than the limit. Paths can have a larger limit (the
registrar's CSV imports)."""

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sugang.errors import RequestTooLarge
from sugang.http.asgi import header, send_json
from sugang.http.deps import language_of


class BodyTooLarge(HTTPException):
    """Raised from `receive` as the body passes the limit: an HTTPException, so that the
    app's handlers answer it (FastAPI turns any other error reading a body into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, larger: Mapping[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.larger = dict(larger)  # path prefix -> its limit

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.larger.items() if path.startswith(prefix)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(scope, send, limit)
            return
        received = 0
        answered = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if answered:
                raise
            await _refuse(scope, send, limit)


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    body = RequestTooLarge(limit=limit).to_body(language_of(header(scope, b"accept-language")))
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send_json(send, 413, payload, [(b"connection", b"close")])
