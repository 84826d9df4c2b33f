"""API documentation pages served from local files: Swagger UI at /docs, ReDoc at /redoc.

FastAPI's own pages load their JavaScript and CSS from a CDN (and a favicon from another
site), so they are blank on a machine without internet access. Here the same pages point at the
Swagger UI and ReDoc bundles shipped by the ``fastapi-offline`` package (MIT; Swagger UI is
Apache-2.0 and ReDoc MIT, their licences apply to those files), served under /docs/assets/.
Nothing on these pages names another host: Swagger UI's online validator badge is turned off and
ReDoc is told not to load Google Fonts.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def assets_dir() -> Path:
    """The folder of swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Serve /docs, /docs/oauth2-redirect, /redoc and their assets. Create the app with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not registered too."""
    r = APIRouter(include_in_schema=False)

    def _root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    @r.get(DOCS_URL)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # the default validator badge sends the spec's URL to validator.swagger.io
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None})

    @r.get(OAUTH2_REDIRECT_URL)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @r.get(REDOC_URL)
    def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png", with_google_fonts=False)

    app.include_router(r)
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
