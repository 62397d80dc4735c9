"""Baked model repos for the GitOps tests, baked once per test session.

``baked(name)`` bakes one of ``baking.ANSWER_SETS`` (the answer sets every template test
uses) with ``baking.bake``, hooks on, into a session-wide temporary folder and caches it;
``answers(name)`` gives the set's full answers.
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

from baking import ANSWER_SETS, bake, default_answers

from gitops.tools import kustomize

_ROOT = Path(tempfile.mkdtemp(prefix="modelship-gitops-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@functools.cache
def answers(name: str) -> dict[str, str]:
    """The full answers of a set: cookiecutter's defaults overlaid with the set's own."""
    return default_answers(**ANSWER_SETS[name])


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
