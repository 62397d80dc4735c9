"""``Idempotency-Key`` on gateway calls, Stripe's rule: within 24 hours a retry with the same key
gets the first answer again (status, body, content type) and is not charged again; the same key
with another request (model, route or body) is a 409.

The key is claimed in the hold's own statement (a row keyed by account and key), so two
concurrent calls with one key cannot both be charged: the second finds the claim and gets a 409
while the first is in flight, its answer once stored. The answer is stored by the capture, in
the same statement; a call that is not captured (the model failed, the client went away) frees
its key with the release, so a retry runs again — nothing was charged.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, timedelta

from fastapi import HTTPException, Request, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from modelship import ledger
from modelship.db.models import IdempotentAnswer

WINDOW = timedelta(hours=24)
HEADER = "idempotency-key"


def key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= 255:
        raise HTTPException(400, "idempotency-key: 1 to 255 characters")
    return key


def fingerprint(model: str, route: str, body: bytes) -> str:
    return hashlib.sha256(f"{model}\n{route}\n".encode() + body).hexdigest()


def stored(db: sessionmaker[Session], account_id: int, key: str, print_: str) -> Response | None:
    """The answer stored under ``key`` to replay, None when the key is free (or older than the
    window), or a 409: another request used it, or its first call is still in flight."""
    with db() as s:
        row = s.get(IdempotentAnswer, (account_id, key))
    if row is None:
        return None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    if created < ledger.now() - WINDOW:  # expired: the key is free again
        with db.begin() as s:
            s.execute(
                delete(IdempotentAnswer).where(
                    IdempotentAnswer.account_id == account_id,
                    IdempotentAnswer.key == key,
                    IdempotentAnswer.request_id == row.request_id,
                )
            )
        return None
    if row.body_sha256 != print_:
        raise HTTPException(409, "idempotency-key: already used for another request")
    if row.status_code is None:
        raise HTTPException(409, "idempotency-key: the first call with this key is in flight")
    return Response(
        row.body,
        status_code=row.status_code,
        media_type=row.content_type,
        headers={
            "X-Request-ID": row.request_id,
            "X-Modelship-Charge": "0.000000",
            "Idempotent-Replayed": "true",
        },
    )
