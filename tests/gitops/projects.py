"""An AppProject's rules, evaluated as Argo CD evaluates them before it syncs anything.

An Application is admitted when its source repo matches one of `sourceRepos` and its
destination (server and namespace) one of `destinations` (glob patterns). Each resource it
would create is then checked: a cluster-scoped kind must be in `clusterResourceWhitelist`, a
namespaced kind in `namespaceResourceWhitelist` (and not in a blacklist), and its namespace
must be an admitted destination too. Argo CD learns which kinds are cluster-scoped from the API
server; here the list of the common ones stands in for it.
"""

from __future__ import annotations

import fnmatch
from typing import Any

CLUSTER_SCOPED = {
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("storage.k8s.io", "StorageClass"), ("scheduling.k8s.io", "PriorityClass"),
    ("apiregistration.k8s.io", "APIService"),
}  # fmt: skip


def _group(doc: dict[str, Any]) -> str:
    api = doc.get("apiVersion", "")
    return api.split("/")[0] if "/" in api else ""


def _listed(entries: list[dict[str, str]] | None, group: str, kind: str) -> bool:
    return any(
        fnmatch.fnmatchcase(group, e.get("group", "")) and fnmatch.fnmatchcase(kind, e["kind"])
        for e in entries or []
    )


def _destination_ok(spec: dict[str, Any], server: str, namespace: str) -> bool:
    return any(
        fnmatch.fnmatchcase(server, d.get("server", "*"))
        and fnmatch.fnmatchcase(namespace, d.get("namespace", "*"))
        for d in spec.get("destinations", [])
    )


def application_problems(project: dict[str, Any], app: dict[str, Any]) -> list[str]:
    """Why the project refuses the Application itself (empty when it admits it)."""
    spec, app_spec = project["spec"], app["spec"]
    problems = []
    if app_spec.get("project") != project["metadata"]["name"]:
        problems.append(f"the Application is in project {app_spec.get('project')!r}")
    repo = app_spec["source"]["repoURL"].removesuffix(".git")
    if not any(fnmatch.fnmatchcase(repo, pattern) for pattern in spec.get("sourceRepos", [])):
        problems.append(f"source repo {repo} is not permitted")
    target = app_spec["destination"]
    if not _destination_ok(spec, target["server"], target["namespace"]):
        problems.append(f"destination namespace {target['namespace']!r} is not permitted")
    return problems


def resource_problems(
    project: dict[str, Any], app: dict[str, Any], resources: list[dict[str, Any]]
) -> list[str]:
    """Why the project refuses resources the Application would sync (empty when none)."""
    spec, target = project["spec"], app["spec"]["destination"]
    problems = []
    for doc in resources:
        group, kind = _group(doc), doc["kind"]
        name = f"{kind}/{doc.get('metadata', {}).get('name')}"
        if (group, kind) in CLUSTER_SCOPED:
            if not _listed(spec.get("clusterResourceWhitelist"), group, kind):
                problems.append(f"{name}: cluster-scoped {group or 'core'}/{kind} is not permitted")
            continue
        allowed = _listed(spec.get("namespaceResourceWhitelist"), group, kind)
        if not allowed or _listed(spec.get("namespaceResourceBlacklist"), group, kind):
            problems.append(f"{name}: {group or 'core'}/{kind} is not permitted")
        namespace = doc.get("metadata", {}).get("namespace") or target["namespace"]
        if not _destination_ok(spec, target["server"], namespace):
            problems.append(f"{name}: namespace {namespace!r} is not permitted")
    return problems
