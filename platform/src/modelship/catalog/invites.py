"""Invite links: an admin makes a one-time link (valid a week) with which an account sets its
own password; only the link token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from modelship.catalog.models import Invite
from modelship.catalog.passwords import MIN_LENGTH, PasswordError, set_password
from modelship.catalog.render import render
from modelship.catalog.session import SignedIn, checked_form
from modelship.db.models import Account
from modelship.keys import expired
from modelship.ledger import now

router = APIRouter()
VALID = timedelta(days=7)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@router.post("/admin/invites")
async def invite(request: Request, who: SignedIn):
    if not who.caller.admin:
        raise HTTPException(403, "admin only")
    form = await checked_form(request)
    name = str(form.get("account") or "")
    token = secrets.token_urlsafe(32)
    with request.app.state.db.begin() as s:
        account_id = s.scalar(select(Account.id).where(Account.name == name))
        if account_id is None:
            raise HTTPException(404, f"account: no account {name!r}")
        s.add(Invite(token_sha256=_sha(token), account_id=account_id, expires_at=now() + VALID))
    link = f"{str(request.base_url).rstrip('/')}/invite/{token}"
    return render(request, "invite_made.html", 201, account=name, link=link)


def _open_invite(request: Request, token: str) -> tuple[Invite, str]:
    with request.app.state.db() as s:
        found = s.get(Invite, _sha(token))
        name = s.get(Account, found.account_id).name if found else None
    if found is None or found.used_at is not None or expired(found.expires_at):
        raise HTTPException(404, "this invite link is unknown, used or expired")
    return found, name


@router.get("/invite/{token}")
def invite_page(token: str, request: Request):
    _, name = _open_invite(request, token)
    return render(request, "invite.html", account=name, min_length=MIN_LENGTH, problem=None)


@router.post("/invite/{token}")
async def accept(token: str, request: Request):
    form = await checked_form(request)
    found, name = _open_invite(request, token)
    password = str(form.get("password") or "")
    try:
        with request.app.state.db.begin() as s:
            row = s.get(Invite, found.token_sha256)
            if row.used_at is not None:  # a second tab was faster
                raise HTTPException(404, "this invite link is unknown, used or expired")
            set_password(s, name, password)
            row.used_at = now()
    except PasswordError as exc:
        return render(request, "invite.html", 422, account=name, min_length=MIN_LENGTH,
                      problem=str(exc))  # fmt: skip
    return RedirectResponse("/login", status_code=303)
