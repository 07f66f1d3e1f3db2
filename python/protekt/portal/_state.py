"""What every route needs from its app: the engine and the access gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request

from protekt._engine import Engine
from protekt.portal._auth import Access, Gate
from protekt.portal._errors import unauthenticated


@dataclass(frozen=True)
class Portal:
    """One app's state, as ``app.state.portal``."""

    engine: Engine
    gate: Gate
    secure_cookies: bool


def portal_of(request: Request) -> Portal:
    return cast(Portal, request.app.state.portal)


def engine_of(request: Request) -> Engine:
    return portal_of(request).engine


def access_of(request: Request) -> Access:
    """The access the gate granted this request (AccessMiddleware)."""
    access = getattr(request.state, "access", None)
    if not isinstance(access, Access):
        raise unauthenticated("sign in or send Authorization: Bearer <key>")
    return access


PortalDep = Annotated[Portal, Depends(portal_of)]
EngineDep = Annotated[Engine, Depends(engine_of)]
AccessDep = Annotated[Access, Depends(access_of)]
