"""The platform part of `make demo`, after the fraud model's sample prediction: a second model
repo (a regressor: a credit limit from income and age, the template's skeleton example trained
on a generated table), billing and the catalog on embedded SQLite, a demo owner and a demo
consumer (password and balance), one billed call, and the catalog URL with the demo sign-in.
"""

from __future__ import annotations

import csv
import json
import random
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

OWNER, CONSUMER = "demo-owner", "demo-user"
CONSUMER_EMAIL, PASSWORD = "demo@modelship.local", "try-the-catalog"
REGRESSOR = "credit-limit"


def training_table(path: Path, rows: int = 2000) -> Path:
    """Income and age -> a credit limit (a noisy linear rule), the column `target`."""
    rng = random.Random(7)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["income", "age", "target"])
        for _ in range(rows):
            income, age = round(rng.uniform(12_000, 150_000), 2), rng.randint(18, 80)
            writer.writerow([income, age, round(0.25 * income + 40 * age + rng.gauss(0, 800), 2)])
    return path


def call(method: str, url: str, key: str, body: dict | None = None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {key}", "content-type": "application/json", **(headers or {})
    })  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response), response.headers


def run_platform(ctx) -> list[subprocess.Popen]:
    """Everything after the sample; returns the servers it started (the caller stops them)."""
    out, port, step, env = ctx["out"], ctx["port"], ctx["step"], ctx["env"]
    started: list[subprocess.Popen] = []
    step(f"baking a second repo: {REGRESSOR} (a regressor, the skeleton example)")
    ctx["bake"](["project=credit-limit", "example=skeleton", f"owner={OWNER}",
                 "description=A credit limit from income and age.",
                 "price_per_call=0.002", "price_per_row=0.0005"])  # fmt: skip
    project = out / REGRESSOR
    credit_env = env | {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
                        "PORT": str(port + 1)}  # fmt: skip
    ctx["run"](project, credit_env, "make", "--no-print-directory", "install")
    step("training the credit-limit regressor on a generated table of incomes and ages")
    table = training_table(project / "credit.csv")
    ctx["run"](project, credit_env, env["UV"], "run", "--no-sync", "train", "--data", str(table))
    credit_url = f"http://127.0.0.1:{port + 1}"
    started.append(ctx["serve"](project, credit_env, [env["UV"], "run", "--no-sync", "serve"]))
    ctx["wait"](credit_url, started[-1], "/health/ready")

    billing_url, catalog_url = f"http://127.0.0.1:{port + 2}", f"http://127.0.0.1:{port + 3}"
    step(f"starting billing ({billing_url}) and the catalog ({catalog_url}) on SQLite")
    admin_key = secrets.token_urlsafe(24)
    modelship = str(Path(sys.executable).with_name("modelship"))
    platform_env = env | {
        "MODELSHIP_DATABASE_URL": f"sqlite:///{out / 'platform.db'}",
        "MODELSHIP_MODELS": f"{ctx['fraud_url']},{credit_url}",
        "MODELSHIP_ADMIN_KEY": admin_key,
        "MODELSHIP_BILLING_URL": billing_url,
    }
    (out / "platform.db").unlink(missing_ok=True)
    billing_env = platform_env | {"MODELSHIP_PORT": str(port + 2)}
    started.append(ctx["serve"](out, billing_env, [modelship, "billing"], "billing.log"))
    ctx["wait"](billing_url, started[-1], "/health/live")
    catalog_env = platform_env | {"MODELSHIP_PORT": str(port + 3)}
    started.append(ctx["serve"](out, catalog_env, [modelship, "catalog"], "catalog.log"))
    ctx["wait"](catalog_url, started[-1], "/health/live")

    step(f"creating {OWNER} and {CONSUMER} (password, a balance of 10.00)")
    gw = f"{billing_url}/v1"
    for name, role, email in [(OWNER, "owner", "owner@modelship.local"),
                              (CONSUMER, "consumer", CONSUMER_EMAIL)]:  # fmt: skip
        call("POST", f"{gw}/accounts", admin_key, {"name": name, "role": role, "email": email})
        subprocess.run([modelship, "admin", "set-password", name], input=PASSWORD + "\n",
                       env=platform_env, text=True, check=True, capture_output=True)  # fmt: skip
    call("POST", f"{gw}/accounts/{CONSUMER}/topups", admin_key, {"amount": "10.00"},
         {"Idempotency-Key": "demo-topup"})  # fmt: skip
    key = call("POST", f"{gw}/accounts/{CONSUMER}/keys", admin_key)[0]["key"]
    record = {"income": 60000.0, "age": 35}
    answer, headers = call("POST", f"{gw}/models/{REGRESSOR}/predict", key, record)
    print(f"\nPOST {gw}/models/{REGRESSOR}/predict {json.dumps(record)}\n"
          f"-> {json.dumps(answer)} (charged {headers['X-Modelship-Charge']})\n")  # fmt: skip
    print(f"Catalog:  {catalog_url}\nSign in:  {CONSUMER_EMAIL} / {PASSWORD}", flush=True)
    return started


if __name__ == "__main__":
    sys.exit("run `make demo`")
