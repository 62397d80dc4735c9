"""An AppProject's rules evaluated the way Argo CD evaluates them, for the tests.

Argo CD (``pkg/apis/application/v1alpha1/app_project_types.go``) admits an Application when
its source repo matches a ``sourceRepos`` glob and no ``!`` glob, and its destination matches a
``destinations`` entry; every resource it syncs must then be in a destination namespace and of
an admitted kind: cluster-scoped kinds only from ``clusterResourceWhitelist`` (empty admits
none), namespaced kinds from ``namespaceResourceWhitelist`` (absent admits all) and never from
a blacklist. Globs are gobwas globs without separators: ``*`` also matches ``/``.
"""

from __future__ import annotations

import fnmatch
from typing import Any

IN_CLUSTER = "https://kubernetes.default.svc"
MODELS, PLATFORM = "modelship-models", "modelship-platform"
# The parameters the SCM-provider generator sets for one repo.
SAMPLE_REPO = {
    "organization": "acme",
    "repository": "credit-scorer",
    "url": "https://github.com/acme/credit-scorer.git",
    "branch": "main",
    "branchNormalized": "main",
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "short_sha": "01234567",
    "short_sha_7": "0123456",
    "labels": [],
}

# The cluster-scoped kinds a repo might try to create (group, kind).
CLUSTER_SCOPED = {
    ("", "Namespace"),
    ("", "PersistentVolume"),
    ("", "Node"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("storage.k8s.io", "StorageClass"),
    ("scheduling.k8s.io", "PriorityClass"),
}


def _glob(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _normal_repo(url: str) -> str:
    return url.lower().removesuffix("/").removesuffix(".git")


def repo_admitted(project: dict[str, Any], url: str) -> bool:
    patterns = project["spec"].get("sourceRepos", [])
    repo = _normal_repo(url)
    allowed = any(_glob(repo, _normal_repo(p)) for p in patterns if not p.startswith("!"))
    denied = any(_glob(repo, _normal_repo(p[1:])) for p in patterns if p.startswith("!"))
    return allowed and not denied


def destination_admitted(project: dict[str, Any], server: str, namespace: str) -> bool:
    return any(
        _glob(server, d.get("server", "*")) and _glob(namespace, d.get("namespace", "*"))
        for d in project["spec"].get("destinations", [])
    )


def _group(doc: dict[str, Any]) -> str:
    api = doc["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def _listed(entries: list[dict[str, str]] | None, group: str, kind: str) -> bool:
    return any(_glob(group, e["group"]) and _glob(kind, e["kind"]) for e in entries or [])


def resource_problems(project: dict[str, Any], doc: dict[str, Any], namespace: str) -> list[str]:
    """Why the project refuses to sync ``doc`` (default namespace ``namespace``); [] if admitted."""
    spec, group, kind = project["spec"], _group(doc), doc["kind"]
    name = f"{kind}/{doc['metadata']['name']}"
    if (group, kind) in CLUSTER_SCOPED:
        if not _listed(spec.get("clusterResourceWhitelist"), group, kind) or _listed(
            spec.get("clusterResourceBlacklist"), group, kind
        ):
            return [f"{name}: cluster-scoped kind not permitted"]
        return []
    problems = []
    whitelist = spec.get("namespaceResourceWhitelist")
    if (whitelist is not None and not _listed(whitelist, group, kind)) or _listed(
        spec.get("namespaceResourceBlacklist"), group, kind
    ):
        problems.append(f"{name}: kind {group or 'core'}/{kind} not permitted")
    target = doc["metadata"].get("namespace", namespace)
    if not destination_admitted(project, IN_CLUSTER, target):
        problems.append(f"{name}: namespace {target!r} not permitted")
    return problems


def application_problems(
    project: dict[str, Any], app: dict[str, Any], docs: list[dict[str, Any]]
) -> list[str]:
    """Why the project refuses the Application ``app`` syncing ``docs``; [] if admitted."""
    spec, problems = app["spec"], []
    if spec["project"] != project["metadata"]["name"]:
        problems.append(f"project {spec['project']!r} is not {project['metadata']['name']!r}")
    if not repo_admitted(project, spec["source"]["repoURL"]):
        problems.append(f"repo {spec['source']['repoURL']} not permitted")
    server, namespace = spec["destination"]["server"], spec["destination"]["namespace"]
    if not destination_admitted(project, server, namespace):
        problems.append(f"destination {server} {namespace!r} not permitted")
    for doc in docs:
        problems += resource_problems(project, doc, namespace)
    return problems
