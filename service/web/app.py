"""The FastAPI application factory: public pages, admin, JSON API, health and metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from config.settings import Settings, get_settings
from service.web import health, metrics
from service.web.admin import install as install_admin
from service.web.api import install as install_api
from service.web.error_pages import install_error_pages
from service.web.guards import InputGuard
from service.web.head import HeadAsGet
from service.web.public import install as install_public_pages


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Everything loaded by startup lives as long as the server: keep it out of the cyclic GC's
    # full collections, which otherwise walk it all and paused requests for up to 250 ms under
    # sign-up load (bench/web.py).
    gc.freeze()
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="papermail",
        version="0.1.0",
        description="Trending AI research papers, matched to each reader, delivered to their inbox.",
        # Served by service.web.api.docs from local assets, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    health.install(app)
    metrics.install(app)
    install_public_pages(app)
    install_api(app)
    install_admin(app)
    install_error_pages(app)
    # Outermost: input no route can use (NUL characters, absurd lengths) never reaches one.
    app.add_middleware(InputGuard)
    app.add_middleware(HeadAsGet)  # HEAD of any page is its GET without the body (not a 405)
    return app
