"""``/account`` (balance, holds, keys, usage, an owner's revenue and grants) and ``/admin``
(accounts, idempotent top-ups, the ledger check), over billing's API with the session key."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from modelship.catalog.billing_client import detail_of
from modelship.catalog.render import render
from modelship.catalog.results import Bar, Chart
from modelship.catalog.session import SignedIn, checked_form
from modelship.db.models import Account, Balance, Grant
from modelship.money import format_amount, parse_amount

router = APIRouter()


async def _account_page(request: Request, who, status_code=200, **extra):
    billing = request.app.state.billing
    me = await billing.json("GET", "/v1/me", who.key)
    keys = await billing.json("GET", f"/v1/accounts/{who.name}/keys", who.key)
    usage = await billing.json("GET", "/v1/usage", who.key, params={"limit": 50})
    owned = sorted(m.name for m in request.app.state.registry.models.values()
                   if m.terms.owner == who.name)  # fmt: skip
    revenue, grants, chart = [], [], None
    if owned:
        revenue = await billing.json("GET", "/v1/reports/owner", who.key)
        by_day: dict[str, int] = {}
        for r in revenue:
            by_day[r["day"]] = by_day.get(r["day"], 0) + parse_amount(r["revenue"])
        chart = Chart("revenue per day", "classes", [Bar(d, v) for d, v in by_day.items()])
        with request.app.state.db() as s:
            grants = s.execute(
                select(Grant.model, Account.name)
                .join(Account, Account.id == Grant.account_id)
                .where(Grant.model.in_(owned))
                .order_by(Grant.model, Account.name)
            ).all()
    return render(request, "account.html", status_code, me=me, keys=keys,
                  usage=usage["items"], owned=owned, revenue=revenue, grants=grants,
                  chart=chart, current_prefix=who.key.split("_", 2)[1], **extra)  # fmt: skip


@router.get("/account")
async def account(request: Request, who: SignedIn):
    return await _account_page(request, who)


@router.post("/account/keys")
async def create_key(request: Request, who: SignedIn):
    await checked_form(request)
    made = await request.app.state.billing.json("POST", f"/v1/accounts/{who.name}/keys", who.key)
    return await _account_page(request, who, 201, new_key=made["key"])


@router.post("/account/keys/{prefix}/revoke")
async def revoke_key(prefix: str, request: Request, who: SignedIn):
    await checked_form(request)
    await request.app.state.billing.json("DELETE", f"/v1/keys/{prefix}", who.key)
    return RedirectResponse("/account", status_code=303)


@router.get("/account/usage.csv")
async def usage_csv(request: Request, who: SignedIn):
    answer = await request.app.state.billing.call(
        "GET", "/v1/usage", who.key, params={"format": "csv", "limit": 1000}
    )
    return Response(answer.content, media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="usage.csv"'})  # fmt: skip


@router.post("/account/grants")
async def grant(request: Request, who: SignedIn):
    form = await checked_form(request)
    model, to = str(form.get("model") or ""), str(form.get("account") or "").strip()
    await request.app.state.billing.json(
        "POST", f"/v1/models/{model}/grants", who.key, json={"account": to}
    )
    return RedirectResponse("/account", status_code=303)


def _admin(who) -> None:
    if not who.caller.admin:
        raise HTTPException(403, "admin only")


async def _admin_page(request: Request, who, status_code=200, **extra):
    books = await request.app.state.billing.json("GET", "/v1/admin/ledger", who.key)
    with request.app.state.db() as s:
        accounts = s.execute(
            select(Account.name, Account.role, Account.email, Balance.available, Balance.held)
            .join(Balance, Balance.account_id == Account.id)
            .where(Account.role != "system")
            .order_by(Account.name)
        ).all()
    return render(request, "admin.html", status_code, books=books, accounts=accounts,
                  topup_key=uuid.uuid4().hex, amount=format_amount, **extra)  # fmt: skip


@router.get("/admin")
async def admin(request: Request, who: SignedIn):
    _admin(who)
    return await _admin_page(request, who)


@router.post("/admin/topups")
async def topup(request: Request, who: SignedIn):
    _admin(who)
    form = await checked_form(request)
    name, amount = str(form.get("account") or ""), str(form.get("amount") or "").strip()
    answer = await request.app.state.billing.call(
        "POST", f"/v1/accounts/{name}/topups", who.key, json={"amount": amount},
        headers={"Idempotency-Key": str(form.get("idempotency_key") or uuid.uuid4().hex)},
    )  # fmt: skip
    if answer.status_code >= 400:
        return await _admin_page(request, who, answer.status_code, problem=detail_of(answer))
    return RedirectResponse("/admin", status_code=303)
