"""Baked model repos for the GitOps tests, baked once per test session.

``ANSWER_SETS`` switches every conditional part of the manifests on and off: Ingress, GPU,
both schedules, the ServiceMonitor, an in-cluster and an external MLflow, outside addresses
public and private. ``baked(name)`` bakes one set (with
the lead's ``baking.bake``, hooks on) into a session-wide temporary folder and caches it.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from baking import bake

from gitops.tools import ROOT, kustomize

ANSWER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "everything-on": {
        "project": "credit-scorer",
        "ingress_host": "credit.models.example.com",
        "gpu_count": "1",
        "retrain_schedule": "0 3 * * 0",
        "batch_schedule": "*/30 * * * *",
        "visibility": "private",
        "replicas": "3",
        "mlflow_tracking_uri": "https://mlflow.example.com",
        # MLflow and a cloud object store outside the cluster: public addresses only.
        "mlflow_namespace": "",
        "artifact_store_namespace": "",
        "egress_cidrs": "0.0.0.0/0,203.0.113.10/32",
        "service_monitor": "true",
        "monitoring_namespace": "observability",
    },
    "retrain-only": {
        "project": "churn-model",
        "namespace": "models-churn",
        "retrain_schedule": "15 2 * * *",
        "replicas": "1",
        "gpu_count": "2",
        "cpu_request": "250m",
        "memory": "512Mi",
        "download_size": "10Gi",
    },
    "batch-and-ingress": {
        "project": "o-brien-scorer",
        "description": "Scores \"tricky\" rows: O'Brien's ünïcode model",
        "ingress_host": "scorer.example.org",
        "batch_schedule": "0 * * * *",
        "mlflow_tracking_uri": "http://mlflow.tracking:8080",
        "mlflow_namespace": "tracking",
        "mlflow_pod_labels": "app=mlflow,tier=server",
        "artifact_store_namespace": "storage",
        "artifact_store_port": "9900",
        # An on-premises endpoint on a private address, allowed explicitly.
        "egress_cidrs": "10.20.30.0/24",
        "egress_private_allowed": "true",
    },
}

_ROOT = Path(tempfile.mkdtemp(prefix="modelship-gitops-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@functools.cache
def answers(name: str) -> dict[str, str]:
    """The full answers of a set: cookiecutter's defaults overlaid with the set's own."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    given = ANSWER_SETS[name]
    context = generate_context(str(ROOT / "cookiecutter.json"), extra_context=given)
    return prompt_for_config(context, no_input=True)


@functools.cache
def baked(name: str) -> Path:
    """The folder of the repo baked from answer set ``name`` (baked on first use)."""
    out = _ROOT / name
    out.mkdir()
    return bake(out, **ANSWER_SETS[name])


@functools.cache
def rendered(name: str) -> tuple[dict[str, Any], ...]:
    """`kubectl kustomize argocd/manifests` of a baked answer set."""
    return tuple(kustomize(baked(name) / "argocd" / "manifests"))


@functools.cache
def app_routes(name: str = "defaults") -> frozenset[str]:
    """The paths the baked service really serves: ``create_app(...).routes`` of the repo.

    ``create_app`` loads its model, so the repo's own ``train`` first registers a small demo
    model in a throwaway SQLite store. Runs in a subprocess with the repo's ``src`` on the
    path, so this process never imports the baked package.
    """
    repo = baked(name)
    package = answers(name)["package"]
    store = _ROOT / f"{name}-mlflow"
    store.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(repo / "src"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": f"sqlite:///{store / 'mlflow.db'}",
        "MLFLOW_ARTIFACTS_DESTINATION": str(store / "artifacts"),
    }
    script = f"""
import json, sys
from {package}.train import main as train
train(["--rows", "400", "--trees", "3", "--alias", "champion"])
from {package}.api import create_app

def paths(routes, prefix=""):
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI >= 0.165 include_router
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from paths(included.routes, prefix + getattr(context, "prefix", ""))
        elif getattr(route, "routes", None):  # Mount, Router
            yield from paths(route.routes, prefix + getattr(route, "path", ""))
        elif getattr(route, "path", None) is not None:
            yield prefix + route.path

app = create_app()
sys.stdout.write("ROUTES=" + json.dumps(sorted(set(paths(app.routes)))))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=store,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, f"could not build the app of {name}:\n{done.stderr[-3000:]}"
    line = done.stdout.rsplit("ROUTES=", 1)[-1]
    return frozenset(json.loads(line))
