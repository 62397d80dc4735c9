"""The per-key rate limit over real HTTP: 429 with Retry-After, nothing held or charged."""

from __future__ import annotations

import time

import httpx
from modelship.billing.app import create_app
from modelship.settings import Settings

from modelship_platform.conftest import ADMIN
from modelship_platform.test_gateway import consumer
from modelship_platform.upstream import serve_in_thread

PREDICT = "/v1/models/fraud-a/predict"


def test_a_key_above_its_rate_gets_429_with_retry_after(database_url, upstreams):
    # 0.5 call/s: a burst of one call, then one every 2 s.
    settings = Settings(
        database_url=database_url, models=upstreams, admin_key=ADMIN, rate_limit_per_s=0.5
    )
    with serve_in_thread(create_app(settings)) as url:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
        alice, bob = consumer(url, admin), consumer(url, admin, name="bob")
        assert alice.post(PREDICT, json={"x": 1}).status_code == 200
        refused = alice.post(PREDICT, json={"x": 1})
        assert refused.status_code == 429 and "rate limit" in refused.text
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 2
        assert bob.post(PREDICT, json={"x": 1}).status_code == 200  # per key, not global
        assert alice.get("/v1/me").json() == {
            "name": "alice",
            "role": "consumer",
            "balance": "0.998900",  # one call charged, the refused one not even held
            "held": "0.000000",
        }
        time.sleep(retry_after)
        assert alice.post(PREDICT, json={"x": 1}).status_code == 200
        assert admin.get("/v1/admin/ledger").json()["balanced"] is True
