"""Billing's ``/v1/authorize`` + ``/v1/settle`` as the scheduler uses them (an admin key): a hold
for another account and a longer time, and a capture of only the rows delivered."""

from __future__ import annotations

from modelship_platform.test_gateway import consumer


def test_admin_holds_for_an_account_and_captures_part(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    held = admin.post(
        "/v1/authorize",
        json={"model": "fraud-a", "route": "jobs", "rows": 100, "account": "alice", "ttl_s": 86400},
    )
    assert held.status_code == 200, held.text
    assert held.json()["amount"] == "0.011000"  # 0.001 + 100 x 0.0001
    assert alice.get("/v1/me").json()["held"] == "0.011000"
    rid = held.json()["request_id"]
    taken = admin.post(
        "/v1/settle", json={"request_id": rid, "status": 200, "amount": "0.005000", "rows": 40}
    )
    assert taken.json() == {
        "request_id": rid, "settled": "captured", "state": "posted", "charge": "0.005000"
    }  # fmt: skip
    again = admin.post(
        "/v1/settle", json={"request_id": rid, "status": 200, "amount": "0.005000", "rows": 40}
    )
    assert again.json()["settled"] == "already" and again.json()["charge"] == "0.005000"
    assert alice.get("/v1/me").json() == {
        "name": "alice", "role": "consumer", "balance": "0.995000", "held": "0.000000"
    }  # fmt: skip
    usage = alice.get("/v1/usage").json()["items"]
    assert [(u["route"], u["rows"], u["charge"]) for u in usage] == [("jobs", 40, "0.005000")]
    assert admin.get("/v1/admin/ledger").json()["balanced"] is True


def test_only_an_admin_holds_for_others_or_captures_part(gateway):
    url, admin = gateway
    alice = consumer(url, admin)
    consumer(url, admin, name="bob")
    other = alice.post("/v1/authorize", json={"model": "fraud-a", "account": "bob"})
    assert other.status_code == 403 and "account" in other.json()["detail"]
    rid = alice.post("/v1/authorize", json={"model": "fraud-a"}).json()["request_id"]
    part = alice.post(
        "/v1/settle", json={"request_id": rid, "status": 200, "amount": "0", "rows": 0}
    )
    assert part.status_code == 403 and "amount" in part.json()["detail"]
    nobody = admin.post("/v1/authorize", json={"model": "fraud-a", "account": "nobody"})
    assert nobody.status_code == 404 and "account" in nobody.json()["detail"]
    private = admin.post("/v1/authorize", json={"model": "secret-b", "account": "bob"})
    assert private.status_code == 404
