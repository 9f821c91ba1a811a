"""The ASGI app: the agent card, and the JSON-RPC and HTTP+JSON bindings of the SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import create_jsonrpc_routes, create_rest_routes
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from a2a_server._card import SKILLS, build_card
from a2a_server._clients import ENDPOINT_PATH, Auth, Authenticate, CallerContext, Clients
from a2a_server._handler import MaxRequestHandler

__all__ = ["A2AOptions", "create_app"]


@dataclass(frozen=True)
class A2AOptions:
    """How one deployment of the A2A face behaves.

    Args:
        public_url: the URL clients reach the server at (the card names it); by default the URL
            each request came to.
        skills: the skills offered (ids of `SKILLS`); all by default.
        read_only: read tasks only; sending and canceling are refused.
        charts: turn a reply's charts into artifacts.
    """

    public_url: str | None = None
    skills: frozenset[str] = field(default_factory=lambda: frozenset(SKILLS))
    read_only: bool = False
    charts: bool = True


def create_app(auth: Auth, options: A2AOptions | None = None) -> Starlette:
    """The A2A server app over PostHog AI; `auth` says whose credentials serve each call.

    Args:
        auth: `ServerKeyAuth` (the server's own key) or `HostedAuth` (each request's personal
            key and/or PostHog sign-in), from `max_tools.hosting`; the card declares it.
        options: how this deployment behaves.
    """
    options = options or A2AOptions()
    unknown = options.skills - set(SKILLS)
    if unknown:
        raise ValueError(f"Unknown skills {sorted(unknown)}; known: {', '.join(SKILLS)}.")

    clients = Clients()
    handler = MaxRequestHandler(
        clients=clients,
        card=build_card(  # the handler reads the capabilities, which do not depend on the URL
            options.public_url or "http://localhost/",
            skills=options.skills,
            auth=auth,
            read_only=options.read_only,
        ),
        skills=options.skills,
        read_only=options.read_only,
        charts=options.charts,
    )

    async def agent_card(request: Request) -> JSONResponse:
        url = options.public_url or str(request.base_url)
        card = build_card(
            url,
            skills=options.skills,
            auth=auth,
            read_only=options.read_only,
        )
        return JSONResponse(agent_card_to_dict(card))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await handler.aclose()

    routes = [
        Route(AGENT_CARD_WELL_KNOWN_PATH, agent_card, methods=["GET"]),
        *create_jsonrpc_routes(
            handler, ENDPOINT_PATH, context_builder=CallerContext(), enable_v0_3_compat=True
        ),
        *create_rest_routes(handler, context_builder=CallerContext(), enable_v0_3_compat=True),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(
        Authenticate, auth=auth, public_paths=frozenset({AGENT_CARD_WELL_KNOWN_PATH})
    )
    return app
