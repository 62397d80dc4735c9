"""The metered gateway over real HTTP on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from asgi_lifespan import LifespanManager
from modelship.billing.app import create_app
from modelship.db import make_engine, session_factory
from modelship.db.models import Hold
from sqlalchemy import select

from modelship_platform.conftest import ADMIN, billing_served


def consumer(url, admin, name="alice", amount="1.00"):
    assert admin.post("/v1/accounts", json={"name": name, "role": "consumer"}).status_code == 201
    key = admin.post(f"/v1/accounts/{name}/keys").json()["key"]
    if amount:
        done = admin.post(
            f"/v1/accounts/{name}/topups",
            json={"amount": amount},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert done.status_code == 201, done.text
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_metered_call_charges_the_card_price(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    r = alice.post("/v1/models/fraud-a/predict/batch", json=[{"x": 1}, {"x": 2}, {"x": 3}])
    assert r.status_code == 200 and r.json() == {"predictions": [0, 0, 0]}
    assert r.headers["X-Modelship-Charge"] == "0.001300"
    assert r.headers["X-Request-ID"] and float(r.headers["X-Modelship-Overhead-Ms"]) >= 0
    assert alice.get("/v1/me").json() == {
        "name": "alice",
        "role": "consumer",
        "balance": "0.998700",
        "held": "0.000000",
    }
    assert admin.get("/v1/admin/ledger").json()["balanced"] is True
    owners = {m["name"]: m["owner"] for m in alice.get("/v1/models").json()}
    assert owners == {"fraud-a": "olga"}


def test_failing_and_slow_models_charge_nothing(settings):
    with billing_served(settings, request_timeout_s=1.0) as (url, admin):
        alice = consumer(url, admin)
        r = alice.post("/v1/models/fraud-a/predict/batch", json=[{"status": 500}])
        assert r.status_code == 500 and r.headers["X-Modelship-Charge"] == "0.000000"
        r = alice.post("/v1/models/fraud-a/predict/batch", json=[{"sleep": 2}])
        assert r.status_code == 504
        assert alice.get("/v1/me").json()["balance"] == "1.000000"
        assert admin.get("/v1/admin/ledger").json()["open_holds"] == 0


def test_bodies_above_the_limit_are_refused_before_work(settings):
    """A 413 by the declared Content-Length, or while a chunked body arrives: nothing held."""
    with billing_served(settings, max_body_bytes=2000) as (url, admin):
        alice = consumer(url, admin)
        rows = [{"x": n} for n in range(300)]  # about 3,000 bytes of JSON
        sized = alice.post("/v1/models/fraud-a/predict/batch", json=rows)
        assert sized.status_code == 413, sized.text
        assert sized.json()["detail"].startswith("body: ") and "at most 2000" in sized.text
        chunked = alice.post(
            "/v1/models/fraud-a/predict/batch",
            content=iter([json.dumps(rows).encode()]),  # no Content-Length: chunked
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413 and "more than 2000 bytes" in chunked.text
        assert alice.post("/v1/models/fraud-a/predict/batch", json=rows[:10]).status_code == 200
        assert alice.get("/v1/me").json()["balance"] == "0.998000"  # the small call only
        assert admin.get("/v1/admin/ledger").json()["open_holds"] == 0


def test_keys_private_models_and_grants(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    assert alice.post("/v1/models/secret-b/predict", json={}).status_code == 404
    assert alice.post("/v1/models/missing/predict", json={}).status_code == 404
    admin.post("/v1/accounts", json={"name": "pete", "role": "owner"})
    pete_key = admin.post("/v1/accounts/pete/keys").json()["key"]
    pete = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {pete_key}"})
    assert pete.post("/v1/models/secret-b/grants", json={"account": "alice"}).status_code == 201
    assert alice.post("/v1/models/secret-b/predict", json={}).status_code == 200
    prefix = alice.headers["Authorization"].split("_")[1]
    assert alice.delete(f"/v1/keys/{prefix}").status_code == 204
    assert alice.post("/v1/models/fraud-a/predict", json={}).status_code == 401
    assert httpx.get(f"{url}/v1/me").status_code == 401


def test_topups_idempotent_and_amounts_checked(gateway):
    url, admin = gateway
    consumer(url, admin, amount=None)
    path, key = "/v1/accounts/alice/topups", {"Idempotency-Key": "once"}
    assert admin.post(path, json={"amount": "5.00"}, headers=key).status_code == 201
    assert admin.post(path, json={"amount": "5.00"}, headers=key).status_code == 201
    assert admin.post(path, json={"amount": "6.00"}, headers=key).status_code == 409
    assert admin.post(path, json={"amount": "5.00"}).status_code == 422
    for bad in ["0.0000001", "-1", "abc", 5.0]:
        r = admin.post(path, json={"amount": bad}, headers={"Idempotency-Key": str(bad)})
        assert r.status_code == 422 and "amount" in r.text, (bad, r.text)
    ledger = admin.get("/v1/admin/ledger").json()
    assert ledger["credits"] == "5.000000" and ledger["balanced"] is True


def test_concurrent_calls_are_exact(gateway):
    """1,000 calls, 100 at a time, a balance for exactly 500: 500 answered, 500 refused."""
    url, admin = gateway
    alice = consumer(url, admin, amount="0.550000")  # 500 x (0.001 + 1 row x 0.0001)
    own = threading.local()  # a client per thread: one httpx pool shared by 100 threads once
    # failed a call on the client side ("Bad file descriptor"), which says nothing of the gateway
    clients: list[httpx.Client] = []

    def call(_):
        if not hasattr(own, "client"):
            own.client = httpx.Client(base_url=url, headers=alice.headers, timeout=30)
            clients.append(own.client)
        return own.client.post("/v1/models/fraud-a/predict", json={"x": 1}).status_code

    try:
        with ThreadPoolExecutor(100) as pool:
            codes = list(pool.map(call, range(1000)))
    finally:
        for client in clients:
            client.close()
    assert codes.count(200) == 500 and codes.count(402) == 500, sorted(set(codes))
    assert alice.get("/v1/me").json()["balance"] == "0.000000"
    books = admin.get("/v1/admin/ledger").json()
    assert books["balanced"] is True and books["open_holds"] == 0


def test_authorize_then_settle_once(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    held = alice.post(
        "/v1/authorize", json={"model": "fraud-a", "route": "predict/batch", "rows": 10}
    )
    assert held.status_code == 200 and held.json()["amount"] == "0.002000"
    assert alice.get("/v1/me").json()["held"] == "0.002000"
    rid, token = held.json()["request_id"], held.json()["settle_token"]
    captured = {"request_id": rid, "status": 200, "settle_token": token}
    first = alice.post("/v1/settle", json=captured).json()
    again = alice.post("/v1/settle", json=captured).json()
    assert (first["settled"], again["settled"]) == ("captured", "already")
    failed = alice.post("/v1/authorize", json={"model": "fraud-a"}).json()
    released = {"request_id": failed["request_id"], "status": 503}
    done = alice.post("/v1/settle", json=released | {"settle_token": failed["settle_token"]})
    assert done.json()["settled"] == "released"
    assert alice.get("/v1/me").json() == {
        "name": "alice",
        "role": "consumer",
        "balance": "0.998000",
        "held": "0.000000",
    }
    assert alice.post("/v1/settle", json={"request_id": "nope", "status": 200}).status_code == 404
    assert alice.post("/v1/authorize", json={"model": "secret-b"}).status_code == 404


def test_only_the_authorizer_settles(gateway):
    """The request id is in every answer (X-Request-ID): a consumer who could settle with its own
    key would release a served call's hold before the proxy captured it, and never pay."""
    url, admin = gateway
    alice = consumer(url, admin)
    proxy_view = alice.post("/v1/authorize", json={"model": "fraud-a"}).json()  # the proxy's
    rid = proxy_view["request_id"]
    token = proxy_view["settle_token"]
    altered = token[:-1] + ("y" if token.endswith("x") else "x")
    for wrong in (None, "guessed", altered):
        r = alice.post("/v1/settle", json={"request_id": rid, "status": 500, "settle_token": wrong})
        assert r.status_code == 403 and "settle_token" in r.json()["detail"], r.text
    served = alice.post(
        "/v1/settle", json={"request_id": rid, "status": 200, "settle_token": token}
    )
    assert served.json()["settled"] == "captured"  # the proxy's capture still finds it held
    call = alice.post("/v1/models/fraud-a/predict", json={"x": 1})  # the gateway's own hold
    r = alice.post("/v1/settle", json={"request_id": call.headers["X-Request-ID"], "status": 500})
    assert r.status_code == 403
    assert alice.get("/v1/me").json()["balance"] == "0.997800"  # both calls charged
    assert admin.get("/v1/admin/ledger").json()["open_holds"] == 0


def test_cancelled_call_releases_its_hold(settings):
    """A client that goes away cancels the task (CancelledError): the hold is released."""
    asyncio.run(_cancelled_call(settings))


async def _cancelled_call(settings):
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            auth = {"Authorization": f"Bearer {ADMIN}"}
            await client.post(
                "/v1/accounts", json={"name": "bob", "role": "consumer"}, headers=auth
            )
            await client.post(
                "/v1/accounts/bob/topups",
                json={"amount": "1"},
                headers={**auth, "Idempotency-Key": "t"},
            )
            key = (await client.post("/v1/accounts/bob/keys", headers=auth)).json()["key"]
            call = asyncio.create_task(
                client.post(
                    "/v1/models/fraud-a/predict",
                    json={"sleep": 0.8},
                    headers={"Authorization": f"Bearer {key}"},
                )
            )
            db = session_factory(make_engine(settings.database_url))
            for _ in range(100):
                await asyncio.sleep(0.02)
                with db() as s:
                    if s.scalar(select(Hold.state)) == "pending":
                        break
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            states = []
            for _ in range(50):
                await asyncio.sleep(0.05)
                with db() as s:
                    states.append(s.scalar(select(Hold.state)))
                if states[-1] != "pending":
                    break
            assert states[-1] == "voided", states
            me = (await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})).json()
            assert me["balance"] == "1.000000" and me["held"] == "0.000000"


def test_usage_and_reports_from_the_ledger(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    alice.post("/v1/models/fraud-a/predict/batch", json=[{}, {}])
    alice.post("/v1/models/fraud-a/predict/batch", json=[{"status": 500}])
    usage = alice.get("/v1/usage").json()["items"]
    assert [(u["rows"], u["status"], u["charge"]) for u in usage][::-1] == [
        (2, 200, "0.001200"),
        (1, 500, "0.000000"),
    ]
    csv_text = alice.get("/v1/usage", params={"format": "csv"}).text
    assert csv_text.splitlines()[0] == "time,model,route,rows,status,charge,request_id"
    assert len(csv_text.splitlines()) == 3
    assert alice.get("/v1/usage", params={"limit": 0}).status_code == 422
    spend = alice.get("/v1/reports/consumer").json()
    assert [(r["model"], r["calls"], r["spend"]) for r in spend] == [("fraud-a", 2, "0.001200")]
    olga = httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {admin.post('/v1/accounts/olga/keys').json()['key']}"},
    )
    report = olga.get("/v1/reports/owner").json()
    assert [(r["model"], r["calls"], r["rows"], r["revenue"]) for r in report] == [
        ("fraud-a", 1, 2, "0.000960")
    ]
