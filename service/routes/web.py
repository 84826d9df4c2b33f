"""The web page: GET / (index.html) and its static files under /static/. No build step."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    r = APIRouter(include_in_schema=False)

    @r.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    app.include_router(r)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
