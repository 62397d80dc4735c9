"""A job or schedule is its account's (or an admin's): anyone else gets a 404, as if absent."""

from __future__ import annotations

from fastapi import HTTPException, Request

from modelship.billing.auth import Caller


def owned(request: Request, caller: Caller, table: type, item_id: str, what: str):
    with request.app.state.ctx.db() as s:
        item = s.get(table, item_id)
    if item is None or (item.account_id != caller.id and not caller.admin):
        raise HTTPException(404, f"no {what} {item_id!r}")
    return item
