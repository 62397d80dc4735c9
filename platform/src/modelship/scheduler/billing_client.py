"""Billing over HTTP (``BILLING_URL``): the job's hold at submission, its settlement at the end.

The hold is made with the caller's own key (billing checks the key, the model's access and the
balance: its 401/402/404 are passed on as they are); a schedule's run holds with the admin key
for the schedule's account. Settling uses the admin key: it captures the rows delivered and
releases the rest, once (billing answers "already" to a second settle of the same hold).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from modelship.money import format_amount, parse_amount
from modelship.settings import Settings


class BillingRefused(Exception):
    """Billing said no: ``status`` and its JSON body, passed on to the client."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(f"billing answered {status}")
        self.status, self.body = status, body


@dataclass(frozen=True)
class Held:
    request_id: str
    amount: int


def _admin(settings: Settings) -> dict[str, str]:
    if not settings.admin_key:
        raise RuntimeError("MODELSHIP_ADMIN_KEY is needed to settle jobs with billing")
    return {"Authorization": f"Bearer {settings.admin_key}"}


def authorize(
    settings: Settings, key: str | None, model: str, rows: int, account: str | None = None
) -> Held:
    """Hold the price of ``rows`` rows; ``key`` None: the admin key, for ``account``."""
    body = {"model": model, "route": "jobs", "rows": rows, "ttl_s": settings.job_hold_ttl_s}
    headers = {"Authorization": f"Bearer {key}"} if key else _admin(settings)
    if key is None:
        body["account"] = account
    try:
        answer = httpx.post(
            f"{settings.billing_url}/v1/authorize", json=body, headers=headers, timeout=30
        )
    except httpx.HTTPError as exc:
        raise BillingRefused(
            503, {"detail": f"billing unreachable: {type(exc).__name__}"}
        ) from None
    if answer.status_code != 200:
        try:
            detail = answer.json()
        except ValueError:
            detail = {"detail": f"billing answered {answer.status_code}"}
        raise BillingRefused(answer.status_code, detail)
    found = answer.json()
    return Held(found["request_id"], parse_amount(found["amount"]))


def settle(settings: Settings, request_id: str, rows: int, amount: int) -> int:
    """Capture ``amount`` for ``rows`` delivered rows (none: release); answers the charge."""
    body: dict = {"request_id": request_id, "status": 200 if rows else 499}
    if rows:
        body |= {"amount": format_amount(amount), "rows": rows}
    answer = httpx.post(
        f"{settings.billing_url}/v1/settle", json=body, headers=_admin(settings), timeout=30
    )
    answer.raise_for_status()
    return parse_amount(answer.json()["charge"])
