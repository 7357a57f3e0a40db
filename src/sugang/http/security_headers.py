"""Headers that tell browsers to refuse what the UI never does: run a script or load a file
from anywhere but this origin, be framed by another site, sniff a content type, or send the
page's address to other sites; and, once served over TLS, to come back only over TLS."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The UI is built to files under /assets: no inline script or style, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# FastAPI's API explorer loads its script and styles from a CDN, inline: no CSP there.
_EXPLORER = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_ALWAYS)
        if not scope.get("path", "").startswith(_EXPLORER):
            extra.append(_CSP)
        if scope.get("scheme") == "https":
            extra.append(_HSTS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(header for header in extra if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
