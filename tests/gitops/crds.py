"""Strict offline validation of the Prometheus Operator kinds (the optional ServiceMonitor).

kubernetes-validate knows only the core kinds. As ``argocd.py`` does for Argo CD, a document
is checked by the ajv validator of the npm package @kubernetes-models/prometheus-operator (run
with node) and against the key tree of the package's ``.d.ts`` files, so a misspelt key fails.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from gitops.argocd import Keys, _parse_interface, model_errors, npm_package

PACKAGE = "@kubernetes-models/prometheus-operator"
VERSION = "4.4.4"  # CommonJS, the apimachinery and validate majors of the Argo CD models
KINDS_MODULE = f"{PACKAGE}/monitoring.coreos.com/v1"
GROUP_VERSION = "monitoring.coreos.com/v1"


def node_modules() -> Path:
    return npm_package(PACKAGE, VERSION)


@functools.cache
def key_tree(kind: str) -> Keys:
    modules = node_modules()
    meta_dts = modules / "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta.d.ts"
    object_meta = _parse_interface(meta_dts.read_text(), "IObjectMeta", None)
    dts = modules / KINDS_MODULE / f"{kind}.d.ts"
    return _parse_interface(dts.read_text(), f"I{kind}", object_meta)


def validate(docs: list[dict[str, Any]]) -> list[str]:
    """All errors of Prometheus Operator documents: the package's validator, then unknown keys."""
    wrong = [d for d in docs if d.get("apiVersion") != GROUP_VERSION]
    if wrong:
        return [f"not a {GROUP_VERSION} kind: {d.get('apiVersion')} {d.get('kind')}" for d in wrong]
    return model_errors(docs, node_modules(), KINDS_MODULE, key_tree)
