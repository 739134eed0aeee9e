"""/docs (Swagger UI) and /redoc (ReDoc): the API's interactive documentation, served whole by this server.

FastAPI's own pages load both from a CDN with an inline start-up script. Here the assets are vendored in
``web/static/`` (npm ``swagger-ui-dist`` and ``redoc``, with their licences; docs/web.md says how to update
them) and started from a file, so the pages ask no other host for anything and need no inline script: their
policy (``security.DOCS_CSP``) differs from the page's only in allowing inline styles and a worker.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spasmo: {title}</title>
<link rel="icon" href="data:,">
{extra}</head>
"""


def _openapi_url(request: Request) -> str:
    return escape(request.scope.get("root_path", "") + (request.app.openapi_url or "/openapi.json"))


def _static(request: Request, name: str) -> str:
    return escape(f"{request.scope.get('root_path', '')}/static/{name}")


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    head = _HEAD.format(title="the API (Swagger UI)",
                        extra=f'<link rel="stylesheet" href="{_static(request, "swagger-ui.css")}">\n')
    return HTMLResponse(
        f'{head}<body>\n<div id="swagger-ui" data-openapi-url="{_openapi_url(request)}"></div>\n'
        f'<script src="{_static(request, "swagger-ui-bundle.js")}"></script>\n'
        f'<script src="{_static(request, "swagger-init.js")}"></script>\n</body>\n</html>\n'
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    # ReDoc starts by itself on a <redoc spec-url> element: no start-up script at all
    head = _HEAD.format(title="the API (ReDoc)", extra="")
    return HTMLResponse(
        f'{head}<body>\n<redoc spec-url="{_openapi_url(request)}"></redoc>\n'
        f'<script src="{_static(request, "redoc.standalone.js")}"></script>\n</body>\n</html>\n'
    )
