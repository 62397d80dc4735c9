"""Short-lived keys (the catalog's sign-in sessions): refused once expired, by the key check
and by the hold itself, even while the gateway still remembers the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from modelship.db import make_engine
from sqlalchemy import text

from modelship_platform.test_gateway import consumer


def test_a_key_with_a_ttl_expires(gateway, database_url):
    url, admin = gateway
    consumer(url, admin, name="kim")
    made = admin.post("/v1/accounts/kim/keys", json={"ttl_s": 600})
    assert made.status_code == 201, made.text
    expires = datetime.fromisoformat(made.json()["expires_at"])
    assert timedelta(seconds=590) < expires - datetime.now(UTC) <= timedelta(seconds=600)
    kim = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {made.json()['key']}"})
    assert kim.post("/v1/models/fraud-a/predict", json={"x": 1}).status_code == 200
    listed = {k["prefix"]: k["expires_at"] for k in kim.get("/v1/accounts/kim/keys").json()}
    assert listed[made.json()["prefix"]] is not None and len(listed) == 2

    engine = make_engine(database_url)
    with engine.begin() as conn:  # the hour has passed
        conn.execute(
            text("UPDATE api_keys SET expires_at = :at WHERE prefix = :p"),
            {"at": datetime.now(UTC) - timedelta(seconds=1), "p": made.json()["prefix"]},
        )
    engine.dispose()
    late = kim.post("/v1/models/fraud-a/predict", json={"x": 1})  # the caller is still cached
    assert late.status_code == 401, late.text
    assert kim.get("/v1/me").status_code == 401
    assert admin.get("/v1/admin/ledger").json()["open_holds"] == 0


def test_a_ttl_out_of_range_is_a_422_naming_it(gateway):
    url, admin = gateway
    consumer(url, admin, name="lee", amount=None)
    refused = admin.post("/v1/accounts/lee/keys", json={"ttl_s": 5})
    assert refused.status_code == 422
    assert "ttl_s" in refused.text
