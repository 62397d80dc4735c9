"""The gateway in front of a real baked model service (the template's own ``serve``), not only
the instant stand-in: the card's prices, rows counted from every body the service accepts,
and the model's own refusals released, never charged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from baking import bake
from modelship.settings import Settings
from test_baked_repo import run

from modelship_platform.conftest import ADMIN, billing_served
from modelship_platform.postgres import free_port
from modelship_platform.test_gateway import consumer
from modelship_platform.upstream import wait_until_up

RECORD = {"amount": 50.0, "merchant_category": "fuel", "hour": 14, "day_of_week": 1,
          "user_age": 40, "account_balance": 900.0}  # fmt: skip


def serve_baked(tmp_path_factory, project: str, **answers: str) -> Iterator[str]:
    """``project`` baked with ``answers``, installed, trained small and served on loopback."""
    uv_dir = str(Path(sys.executable).parent)
    env = os.environ | {"PATH": f"{uv_dir}:{os.environ['PATH']}", "MODELSHIP_SKIP_LOCK": "0"}
    os.environ["MODELSHIP_SKIP_LOCK"] = "0"
    try:
        baked = bake(tmp_path_factory.mktemp("baked"), project=project, **answers)
    finally:
        os.environ["MODELSHIP_SKIP_LOCK"] = "1"
    run(["make", "install"], baked, env)
    store = tmp_path_factory.mktemp("store")
    env |= {
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "PORT": str(free_port()),
        "WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(store / "prometheus"),
    }
    run(["uv", "run", "--no-sync", "train", "--rows", "1500", "--trees", "10"], baked, env)
    log = (store / "serve.log").open("wb")
    serve = ["uv", "run", "--no-sync", "serve"]
    server = subprocess.Popen(serve, cwd=baked, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{env['PORT']}/health/ready", server)
        yield f"http://127.0.0.1:{env['PORT']}"
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


# model_service: the baked fraud-detector of conftest.py (one per session, shared)


@pytest.fixture(scope="module")
def private_service(tmp_path_factory) -> Iterator[str]:
    """``vip-fraud``: private, owned by piotr, 0.002 a call and 0.0005 a row."""
    yield from serve_baked(
        tmp_path_factory, "vip-fraud", owner="piotr", visibility="private",
        price_per_call="0.002", price_per_row="0.0005",
    )  # fmt: skip


def test_metered_calls_to_a_baked_model(database_url, model_service):
    settings = Settings(database_url=database_url, models=[model_service], admin_key=ADMIN)
    with billing_served(settings) as (url, admin):
        models = admin.get("/v1/models").json()
        assert [(m["name"], m["owner"], m["price_per_row"]) for m in models] == [
            ("fraud-detector", "olga", "0.000100")
        ]
        alice = consumer(url, admin)
        base = "/v1/models/fraud-detector"
        one = alice.post(f"{base}/predict", json=RECORD)
        assert one.status_code == 200, one.text
        assert set(one.json()["prediction"]) >= {"is_fraud"}
        assert one.headers["X-Modelship-Charge"] == "0.001100"
        batch = alice.post(f"{base}/predict/batch", json=[RECORD, RECORD, RECORD])
        assert batch.status_code == 200, batch.text
        assert batch.headers["X-Modelship-Charge"] == "0.001300"
        frame = {"dataframe_split": {"columns": list(RECORD), "data": [list(RECORD.values())] * 2}}
        inv = alice.post(f"{base}/invocations", json=frame)
        assert inv.status_code == 200, inv.text
        assert inv.headers["X-Modelship-Charge"] == "0.001200"
        csv_body = ",".join(RECORD) + "\n" + ",".join(map(str, RECORD.values())) + "\n"
        csv = alice.post(
            f"{base}/predict/batch", content=csv_body, headers={"content-type": "text/csv"}
        )
        assert csv.status_code == 200, csv.text
        assert csv.headers["X-Modelship-Charge"] == "0.001100"
        refused = alice.post(f"{base}/predict", json={**RECORD, "hour": "noon"})
        assert 400 <= refused.status_code < 500, refused.text
        assert refused.headers["X-Modelship-Charge"] == "0.000000"
        assert alice.get("/v1/me").json()["balance"] == "0.995300"  # 1 - 0.0047
        assert admin.get("/v1/admin/ledger").json() == {
            "balanced": True,
            "debits": "1.004700",
            "credits": "1.004700",
            "open_holds": 0,
        }
        assert json.loads(refused.content)  # the model's own error body, passed through


def test_a_private_baked_model_for_its_owner_and_grantees_only(
    database_url, model_service, private_service
):
    """Two real services, one public and one private, with other owners and prices: the
    private one is a 404 to a stranger until its owner grants it, then billed at its own card's
    price, and the captures credit each card's owner."""
    settings = Settings(
        database_url=database_url, models=[model_service, private_service], admin_key=ADMIN
    )
    with billing_served(settings) as (url, admin):
        bob = consumer(url, admin, name="bob")
        seen = [(m["name"], m["visibility"]) for m in bob.get("/v1/models").json()]
        assert seen == [("fraud-detector", "public")]
        base = "/v1/models/vip-fraud"
        hidden = bob.post(f"{base}/predict", json=RECORD)
        missing = bob.post("/v1/models/no-such-model/predict", json=RECORD)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["detail"].replace("vip-fraud", "X") == missing.json()[
            "detail"
        ].replace("no-such-model", "X")
        assert bob.post(f"{base}/grants", json={"account": "bob"}).status_code == 404
        assert (
            admin.post("/v1/accounts", json={"name": "piotr", "role": "owner"}).status_code == 201
        )
        piotr_key = admin.post("/v1/accounts/piotr/keys").json()["key"]
        piotr = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {piotr_key}"})
        assert piotr.post(f"{base}/grants", json={"account": "bob"}).status_code == 201
        assert {m["name"] for m in bob.get("/v1/models").json()} == {"fraud-detector", "vip-fraud"}
        granted = bob.post(f"{base}/predict/batch", json=[RECORD, RECORD])
        assert granted.status_code == 200, granted.text
        assert granted.headers["X-Modelship-Charge"] == "0.003000"  # 0.002 + 2 x 0.0005
        public = bob.post("/v1/models/fraud-detector/predict", json=RECORD)
        assert public.headers["X-Modelship-Charge"] == "0.001100"
        assert bob.get("/v1/me").json()["balance"] == "0.995900"  # 1 - 0.0041
        owners = {r["model"]: r["revenue"] for r in piotr.get("/v1/reports/owner").json()}
        assert owners == {"vip-fraud": "0.002400"}  # 80% of 0.003000, rounded down
        assert admin.get("/v1/admin/ledger").json()["balanced"] is True
