"""History and reports, as SQL over the holds and the ledger (no counters kept beside them)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import and_, case, func, literal, select

from modelship.billing.auth import Caller, current_caller
from modelship.db.models import Hold, LedgerEntry
from modelship.money import format_amount

router = APIRouter(prefix="/v1")
Auth = Annotated[Caller, Depends(current_caller)]
USAGE_FIELDS = ["time", "model", "route", "rows", "status", "charge", "request_id"]


@router.get("/usage", response_model=None)
def usage(
    caller: Auth,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Literal["json", "csv"] = "json",
) -> dict | Response:
    query = (
        select(Hold)
        .where(Hold.account_id == caller.id)
        .order_by(Hold.created_at.desc(), Hold.request_id)
        .limit(limit)
        .offset(offset)
    )
    with request.app.state.db() as s:
        rows = [
            {
                "time": h.created_at.isoformat(),
                "model": h.model,
                "route": h.route,
                "rows": h.rows,
                "status": h.status_code,
                "charge": format_amount(h.amount if h.state == "posted" else 0),
                "request_id": h.request_id,
            }
            for h in s.scalars(query)
        ]
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=USAGE_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv")
    return {"items": rows, "limit": limit, "offset": offset}


def _day():
    return func.date(Hold.created_at)


@router.get("/reports/owner")
def owner_report(caller: Auth, request: Request) -> list[dict]:
    """Per model per day: calls, rows and the owner's revenue (its ledger credits)."""
    credit = and_(
        LedgerEntry.transfer_id == literal("capture:") + Hold.request_id,
        LedgerEntry.account_id == caller.id,
    )
    query = (
        select(
            Hold.model,
            _day(),
            func.count(),
            func.sum(Hold.rows),
            func.coalesce(func.sum(LedgerEntry.amount), 0),
        )
        .join(LedgerEntry, credit)
        .where(Hold.owner_id == caller.id, Hold.state == "posted")
        .group_by(Hold.model, _day())
        .order_by(_day(), Hold.model)
    )
    with request.app.state.db() as s:
        return [
            {
                "model": m,
                "day": str(d),
                "calls": int(c),
                "rows": int(r),
                "revenue": format_amount(int(v)),
            }
            for m, d, c, r, v in s.execute(query)
        ]


@router.get("/reports/consumer")
def consumer_report(caller: Auth, request: Request) -> list[dict]:
    """Spend per model per day (captured calls only)."""
    spent = func.sum(case((Hold.state == "posted", Hold.amount), else_=0))
    query = (
        select(Hold.model, _day(), func.count(), spent)
        .where(Hold.account_id == caller.id)
        .group_by(Hold.model, _day())
        .order_by(_day(), Hold.model)
    )
    with request.app.state.db() as s:
        return [
            {"model": m, "day": str(d), "calls": int(c), "spend": format_amount(int(v))}
            for m, d, c, v in s.execute(query)
        ]
