"""Strict validation of Argo CD kinds, offline, from the npm package @kubernetes-models/argo-cd.

The package ships ajv validators generated from Argo CD's CRDs (types, enums, required keys)
and TypeScript declarations of every kind, but no JSON schemas, and its validators accept
unknown keys. So a document is checked twice: by the package's own validator (run with node),
and against the key tree read from the package's ``.d.ts`` files, which rejects any key the
kind does not declare (a misspelt ``selfHeel`` or ``destnation``).
"""

from __future__ import annotations

import fcntl
import functools
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gitops.tools import BUILD, run

MODELS = "@kubernetes-models/argo-cd"
MODELS_VERSION = "2.7.2"  # CommonJS, node >= 14 (4.x needs node >= 22)
NODE_DIR = BUILD / "node"
VALIDATOR = Path(__file__).with_name("validate_models.cjs")
KINDS_MODULE = f"{MODELS}/argoproj.io/v1alpha1"
KINDS = ("Application", "ApplicationSet", "AppProject")


@functools.cache
def npm_package(name: str, version: str) -> Path:
    """build/node/node_modules with the pinned package installed (npm install on first use)."""
    modules = NODE_DIR / "node_modules"
    package = modules / name / "package.json"
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers share build/: one installs while the others wait for it
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if package.exists() and json.loads(package.read_text())["version"] == version:
            return modules
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"npm is needed to install {name}@{version} into {NODE_DIR}")
        spec = f"{name}@{version}"
        done = run([npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", spec])
        assert done.returncode == 0, f"npm install {name} failed:\n{done.stderr}"
        return modules


def node_modules() -> Path:
    return npm_package(MODELS, MODELS_VERSION)


@dataclass
class Keys:
    """The keys an object may hold: named ones, a map of any keys, or anything (``open``)."""

    named: dict[str, Keys | None] = field(default_factory=dict)
    each: Keys | None = None  # the value type of a map whose values are objects
    open: bool = False


_FIELD = re.compile(r'^"(?P<key>[^"]+)"\??: (?P<type>.*?);?$')


def _parse_interface(text: str, name: str, object_meta: Keys | None) -> Keys:
    """The key tree of ``export interface <name> {...}`` in a kubernetes-models .d.ts file."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("/*", "*", "//"))]
    start = lines.index(f"export interface {name} {{")
    root = Keys()
    stack = [root]
    for line in lines[start + 1 :]:
        if line in ("}", "};", "}>;"):
            stack.pop()
            if not stack:
                return root
            continue
        current = stack[-1]
        if line.startswith("[key: string]:"):
            if line.endswith("{"):
                current.each = Keys()
                stack.append(current.each)
            else:
                current.open = True
            continue
        match = _FIELD.match(line)
        if match is None:
            raise ValueError(f"unexpected line in the {name} declaration: {line!r}")
        key, kind = match["key"], match["type"]
        if kind in ("{", "Array<{"):
            current.named[key] = child = Keys()
            stack.append(child)
        elif kind == "IObjectMeta":
            current.named[key] = object_meta
        else:  # scalars, string arrays, `{}` and `any`: no keys to check below
            current.named[key] = None
    raise ValueError(f"unterminated declaration of {name}")


@functools.cache
def key_tree(kind: str) -> Keys:
    """The key tree of an Argo CD kind, metadata included."""
    modules = node_modules()
    meta_dts = modules / "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta.d.ts"
    object_meta = _parse_interface(meta_dts.read_text(), "IObjectMeta", None)
    dts = modules / MODELS / "argoproj.io" / "v1alpha1" / f"{kind}.d.ts"
    return _parse_interface(dts.read_text(), f"I{kind}", object_meta)


def unknown_keys(value: Any, keys: Keys | None, path: str = "") -> list[str]:
    """Every key of ``value`` that ``keys`` does not declare, as a JSON-path-like string."""
    if keys is None or keys.open:
        return []
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in unknown_keys(item, keys, f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    errors = []
    for key, item in value.items():
        where = f"{path}.{key}"
        if key in keys.named:
            errors += unknown_keys(item, keys.named[key], where)
        elif keys.each is not None:
            errors += unknown_keys(item, keys.each, where)
        else:
            errors.append(f"{where}: unknown key (expected one of {sorted(keys.named)})")
    return errors


def validate(docs: list[dict[str, Any]]) -> list[str]:
    """All errors of Argo CD documents: the package's validator, then unknown keys."""
    errors = []
    for doc in docs:
        if doc.get("kind") not in KINDS or doc.get("apiVersion") != "argoproj.io/v1alpha1":
            errors.append(
                f"not an argoproj.io/v1alpha1 kind: {doc.get('apiVersion')} {doc.get('kind')}"
            )
    if errors:
        return errors
    return model_errors(docs, node_modules(), KINDS_MODULE, key_tree)


def model_errors(
    docs: list[dict[str, Any]], modules: Path, kinds_module: str, tree: Callable[[str], Keys]
) -> list[str]:
    """The errors of documents by the ajv validators of a @kubernetes-models module (run with
    node), then their keys that the kind's key ``tree`` does not declare."""
    node = shutil.which("node") or pytest.fail(f"node is needed to validate {kinds_module}")
    done = run([node, str(VALIDATOR), str(modules), kinds_module], input=json.dumps(docs))
    assert done.returncode == 0, f"{VALIDATOR.name} failed:\n{done.stderr}"
    errors = []
    for doc, error in zip(docs, json.loads(done.stdout), strict=True):
        name = f"{doc['kind']}/{doc.get('metadata', {}).get('name')}"
        if error:
            errors.append(f"{name}: {error}")
        errors += [f"{name}: {e}" for e in unknown_keys(doc, tree(doc["kind"]))]
    return errors


class MissingKey(KeyError):
    """A template names a parameter the generator does not set (missingkey=error)."""


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_FIELD_CHAIN = re.compile(r"^(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _render(text: str, params: dict[str, Any]) -> str:
    def action(match: re.Match[str]) -> str:
        expr = match[1]
        if not _FIELD_CHAIN.match(expr):
            raise ValueError(f"only {{{{ .field }}}} actions are expanded here, not {expr!r}")
        value: Any = params
        for part in expr.split(".")[1:]:
            if not isinstance(value, dict) or part not in value:
                raise MissingKey(expr)
            value = value[part]
        return str(value)

    return _ACTION.sub(action, text)


def expand(value: Any, params: dict[str, Any]) -> Any:
    """A goTemplate value with every ``{{ .field }}`` filled from ``params``."""
    if isinstance(value, str):
        return _render(value, params)
    if isinstance(value, list):
        return [expand(item, params) for item in value]
    if isinstance(value, dict):
        return {expand(k, params): expand(v, params) for k, v in value.items()}
    return value


def generated_application(appset: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The Application an ApplicationSet generates for one set of generator parameters."""
    spec = appset["spec"]
    assert spec.get("goTemplate") is True, "the ApplicationSet must use goTemplate"
    assert "missingkey=error" in spec.get("goTemplateOptions", []), "missingkey=error is unset"
    template = expand(spec["template"], params)
    metadata = {"namespace": appset["metadata"].get("namespace", "argocd"), **template["metadata"]}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": template["spec"],
    }
