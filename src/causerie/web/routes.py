"""Serves the browser UI: the app's pages answer `index.html` (the client routes itself) and
`/static/*` serves our modules, styles and the vendored npm libraries.

Every asset comes from this server: the UI works offline and its CSP allows only 'self'.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
INDEX = STATIC / "index.html"

# the client-side routes: a reload or a shared link on any of them loads the app
PAGES = ("/", "/c/{conversation_id}", "/admin", "/login", "/signup", "/setup")

router = APIRouter(include_in_schema=False)


def index() -> FileResponse:
    return FileResponse(
        INDEX, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


for _page in PAGES:
    router.add_api_route(_page, index, methods=["GET", "HEAD"], include_in_schema=False)

router.mount("/static", StaticFiles(directory=STATIC), name="static")
