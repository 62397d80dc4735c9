"""Who is looking: the session cookie (a short-lived billing key) and the CSRF token.

CSRF is a double-submit token: a random ``ms_csrf`` cookie that every form repeats in a hidden
field (and the page's JS in ``X-CSRF-Token``); a POST without the pair is refused with a 403.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from modelship.billing.auth import Caller
from modelship.keys import verify

SESSION, CSRF = "ms_session", "ms_csrf"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class Viewer:
    caller: Caller
    key: str

    @property
    def name(self) -> str:
        return self.caller.name


def viewer(request: Request) -> Viewer | None:
    """The signed-in account (a live session key), else None; looked up once per request."""
    if "viewer" in request.scope:
        return request.scope["viewer"]
    key = request.cookies.get(SESSION)
    found = None
    if key:
        with request.app.state.db() as s:
            found = verify(s, key)
    who = None
    if found is not None:
        account, key_id = found
        who = Viewer(Caller(account.id, account.name, account.role, key_id), key)
    request.scope["viewer"] = who
    return who


def signed_in(request: Request) -> Viewer:
    found = viewer(request)
    if found is None:
        raise HTTPException(401, "sign in first")
    return found


MaybeViewer = Annotated[Viewer | None, Depends(viewer)]
SignedIn = Annotated[Viewer, Depends(signed_in)]


async def csrf_middleware(request: Request, call_next):
    """Every answer: a CSRF cookie when there is none, and the security headers."""
    token = request.cookies.get(CSRF)
    fresh = token is None
    request.state.csrf = token if token else secrets.token_urlsafe(24)
    response = await call_next(request)
    if fresh:
        secure = request.url.scheme == "https"
        response.set_cookie(CSRF, request.state.csrf, httponly=True, samesite="lax", secure=secure)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


async def checked_form(request: Request, max_bytes: int | None = None) -> FormData:
    """The POSTed form, after its CSRF token matched the cookie (403 otherwise)."""
    form = await request.form(max_part_size=max_bytes or 1024 * 1024)
    sent = form.get("csrf") or request.headers.get("x-csrf-token") or ""
    cookie = request.cookies.get(CSRF) or ""
    if not (cookie and isinstance(sent, str) and hmac.compare_digest(sent, cookie)):
        raise HTTPException(403, "csrf: the form's token is missing or stale; reload the page")
    return form
