"""Serve the built UI: index.html at "/" (never cached, so a new build is seen at once) and
the content-hashed files under /assets/ (cached for a year), gzipped when the browser takes it."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DIST = Path(__file__).parent / "dist"

router = APIRouter(include_in_schema=False)

_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>sugang</title>
<h1>The web UI is not built</h1>
<p><code>make run</code> builds it
(<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>).
The API is at <a href="/docs">/docs</a>.</p></html>"""


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> Response:
    page = DIST / "index.html"
    if not page.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503)
    return FileResponse(page, headers={"Cache-Control": "no-cache"})


class HashedAssets(StaticFiles):
    """Files whose names carry their content hash: cache them for good; send the .gz the
    build wrote beside a file when the browser accepts gzip."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        accepts = dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        if b"gzip" in accepts and (Path(self.directory or "") / f"{path}.gz").is_file():
            response = await super().get_response(f"{path}.gz", scope)
            if response.status_code == 200:
                response.headers["Content-Encoding"] = "gzip"
                response.headers["Content-Type"] = _media_type(path)
                response.headers["Vary"] = "Accept-Encoding"
        else:
            response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _media_type(path: str) -> str:
    if path.endswith(".js"):
        return "text/javascript; charset=utf-8"
    if path.endswith(".css"):
        return "text/css; charset=utf-8"
    return "application/octet-stream"


def mount(app: FastAPI) -> None:
    app.include_router(router)
    assets = DIST / "assets"
    if assets.is_dir():
        app.mount("/assets", HashedAssets(directory=assets), name="assets")
