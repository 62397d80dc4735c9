"""``Idempotency-Key`` on gateway calls, over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from modelship import ledger
from modelship.db import make_engine, session_factory
from modelship.db.models import IdempotentAnswer
from sqlalchemy import update

from modelship_platform.test_gateway import consumer

BATCH = "/v1/models/fraud-a/predict/batch"


def test_a_retry_replays_the_answer_and_is_not_charged(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    once = {"Idempotency-Key": "order-1"}
    first = alice.post(BATCH, json=[{"x": 1}, {"x": 2}], headers=once)
    again = alice.post(BATCH, json=[{"x": 1}, {"x": 2}], headers=once)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["X-Request-ID"] == first.headers["X-Request-ID"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["X-Modelship-Charge"] == "0.001200"
    assert again.headers["X-Modelship-Charge"] == "0.000000"
    assert alice.get("/v1/me").json()["balance"] == "0.998800"
    other = alice.post(BATCH, json=[{"x": 3}], headers=once)
    assert other.status_code == 409 and "idempotency-key" in other.text
    elsewhere = alice.post("/v1/models/fraud-a/predict", json=[{"x": 1}, {"x": 2}], headers=once)
    assert elsewhere.status_code == 409
    # Keys are per account: bob's "order-1" is his own call.
    bob = consumer(url, admin, name="bob")
    assert "Idempotent-Replayed" not in bob.post(BATCH, json=[{"x": 1}], headers=once).headers
    assert alice.get("/v1/me").json()["balance"] == "0.998800"
    assert admin.get("/v1/admin/ledger").json()["balanced"] is True


def test_a_failed_call_frees_its_key(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    key = {"Idempotency-Key": "order-2"}
    failed = alice.post(BATCH, json=[{"status": 500}], headers=key)
    assert failed.status_code == 500 and failed.headers["X-Modelship-Charge"] == "0.000000"
    retried = alice.post(BATCH, json=[{"x": 1}], headers=key)
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert alice.get("/v1/me").json()["balance"] == "0.998900"


def test_concurrent_calls_with_one_key_are_charged_once(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    key = {"Idempotency-Key": "order-3"}

    def call(_):
        return alice.post(BATCH, json=[{"x": 1}], headers=key).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(call, range(20)))
    assert set(codes) <= {200, 409} and 200 in codes
    assert alice.get("/v1/me").json()["balance"] == "0.998900"
    books = admin.get("/v1/admin/ledger").json()
    assert books["balanced"] is True and books["open_holds"] == 0


def test_a_key_older_than_a_day_runs_again(gateway, settings):
    url, admin = gateway
    alice = consumer(url, admin)
    key = {"Idempotency-Key": "order-4"}
    assert alice.post(BATCH, json=[{"x": 1}], headers=key).status_code == 200
    engine = make_engine(settings.database_url)
    with session_factory(engine).begin() as s:
        s.execute(update(IdempotentAnswer).values(created_at=ledger.now() - timedelta(hours=25)))
    engine.dispose()
    later = alice.post(BATCH, json=[{"x": 1}], headers=key)
    assert later.status_code == 200 and "Idempotent-Replayed" not in later.headers
    assert alice.get("/v1/me").json()["balance"] == "0.997800"
