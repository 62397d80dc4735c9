"""``/login`` and ``/logout``: a session is an HttpOnly cookie holding a short-lived key that
billing issued for the account, revoked at logout."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from modelship.catalog.passwords import check_sign_in
from modelship.catalog.render import render
from modelship.catalog.session import SESSION, checked_form, viewer

router = APIRouter()


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    return render(request, "login.html", next=_safe_next(next), problem=None)


@router.post("/login")
async def login(request: Request):
    form = await checked_form(request)
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or "/"))
    if not email.strip() or not password:
        problem = "Email and Password: both are required"
        return render(request, "login.html", 422, next=target, problem=problem, email=email)

    throttle = request.app.state.sign_in_throttle
    wait = throttle.wait_s(email)
    if wait:
        problem = f"Too many failed sign-ins for this email: try again in {wait} s"
        response = render(request, "login.html", 429, next=target, problem=problem, email=email)
        response.headers["Retry-After"] = str(wait)
        return response

    def check():
        with request.app.state.db() as s:
            return check_sign_in(s, email, password)

    account = await run_in_threadpool(check)
    if account is None:
        throttle.failed(email)
        problem = "Email or Password: no account with that email and password"
        return render(request, "login.html", 401, next=target, problem=problem, email=email)
    throttle.succeeded(email)
    ttl_s = request.app.state.settings.session_ttl_s
    issued = await request.app.state.billing.session_key(account.name, ttl_s)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION,
        issued["key"],
        max_age=ttl_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request):
    await checked_form(request)
    who = viewer(request)
    if who is not None:  # the key dies with the session
        prefix = who.key.split("_", 2)[1]
        await request.app.state.billing.call("DELETE", f"/v1/keys/{prefix}", who.key)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION)
    return response
