"""Signing a browser in and out (docs/portal-api.md, "Access")."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, Response

from protekt.portal._auth import SESSION_COOKIE, Session
from protekt.portal._schemas import SessionOut, SignIn
from protekt.portal._state import AccessDep, PortalDep

router = APIRouter(prefix="/api/v1/session", tags=["session"])


@router.post("")
def sign_in(
    body: SignIn, request: Request, response: Response, portal: PortalDep
) -> SessionOut:
    """Signs a browser in with the admin key: sets the session cookie and answers
    the CSRF token that every change made with the cookie must carry."""
    client = request.client.host if request.client else "an unknown address"
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        portal.gate.sessions.close(previous)
    session = portal.gate.sign_in(body.api_key, client)
    lifetime = math.ceil(portal.gate.sessions.lifetime.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=lifetime,
        path="/",
        secure=portal.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return _answer(session)


@router.get("")
def current_session(access: AccessDep) -> SessionOut:
    """The CSRF token again, for a browser that reloaded; null with the admin key."""
    return _answer(access.session)


@router.delete("", status_code=204)
def sign_out(access: AccessDep, portal: PortalDep) -> Response:
    """Ends the session and clears its cookie."""
    if access.session is not None:
        portal.gate.sessions.close(access.session.id)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=portal.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


def _answer(session: Session | None) -> SessionOut:
    if session is None:
        return SessionOut(csrf_token=None, expires_at=None)
    return SessionOut(csrf_token=session.csrf_token, expires_at=session.expires_at)
