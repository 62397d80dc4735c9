"""The AppProjects contain what they deploy, evaluated as Argo CD evaluates them.

Every model manifest of every baked answer set is admitted by ``modelship-models``; a repo
that adds an Application, an AppProject, RBAC, a cluster-scoped kind or a Secret in
``argocd`` is refused, and so is a repo naming the platform's project or namespace.
"""

from __future__ import annotations

import copy

import pytest
from gitops import argocd, projects
from gitops.projects import MODELS, PLATFORM
from gitops.projects import SAMPLE_REPO as REPO
from gitops.repos import ANSWER_SETS, rendered
from gitops.tools import ROOT, kustomize


@pytest.fixture(scope="module")
def root() -> dict[str, dict]:
    docs = kustomize(ROOT / "argocd")
    found = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AppProject"}
    [appset] = [d for d in docs if d["kind"] == "ApplicationSet"]
    return {**found, "appset": appset}


def _app(root: dict[str, dict], namespace: str = "models") -> dict:
    app = argocd.generated_application(root["appset"], REPO)
    app["spec"]["destination"]["namespace"] = namespace
    return app


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_every_model_manifest_is_admitted(name: str, root: dict[str, dict]) -> None:
    docs = list(rendered(name))
    namespace = docs[0]["metadata"]["namespace"]
    app = _app(root, namespace)
    assert projects.application_problems(root[MODELS], app, docs) == []


def _doc(api: str, kind: str, namespace: str | None = None) -> dict:
    meta = {"name": "evil"} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": api, "kind": kind, "metadata": meta}


MALICIOUS = [
    _doc("argoproj.io/v1alpha1", "Application", "argocd"),
    _doc("argoproj.io/v1alpha1", "Application"),
    _doc("argoproj.io/v1alpha1", "AppProject", "argocd"),
    _doc("v1", "Secret", "argocd"),
    _doc("v1", "Secret"),
    _doc("v1", "ConfigMap", "argocd"),
    _doc("v1", "ConfigMap", "modelship"),
    _doc("v1", "Namespace"),
    _doc("rbac.authorization.k8s.io/v1", "Role"),
    _doc("rbac.authorization.k8s.io/v1", "RoleBinding"),
    _doc("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    _doc("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
]


@pytest.mark.parametrize("doc", MALICIOUS, ids=lambda d: f"{d['kind']}-{d['metadata']}")
def test_a_repo_adding_an_escalation_is_refused(doc: dict, root: dict[str, dict]) -> None:
    docs = [*rendered("defaults"), doc]
    problems = projects.application_problems(root[MODELS], _app(root), docs)
    assert problems and all("evil" in p for p in problems), problems


@pytest.mark.parametrize("namespace", ["argocd", "modelship", "kube-system", "default"])
def test_a_repo_cannot_name_a_foreign_namespace(namespace: str, root: dict[str, dict]) -> None:
    problems = projects.application_problems(root[MODELS], _app(root, namespace), [])
    assert problems == [f"destination {projects.IN_CLUSTER} {namespace!r} not permitted"]


def test_the_project_is_fixed_by_the_applicationset(root: dict[str, dict]) -> None:
    hostile = copy.deepcopy(root["appset"])
    assert root["appset"]["spec"]["template"]["spec"]["project"] == MODELS
    hostile["spec"]["template"]["spec"]["project"] = "{{ .project }}"
    with pytest.raises(argocd.MissingKey):  # the generator sets no such parameter
        argocd.generated_application(hostile, REPO)
    app = _app(root)
    app["spec"]["project"] = PLATFORM
    assert projects.application_problems(root[MODELS], app, [])


def test_only_the_platform_repo_is_a_platform_source(root: dict[str, dict]) -> None:
    platform, models = root[PLATFORM], root[MODELS]
    assert projects.repo_admitted(platform, "https://github.com/acme/modelship.git")
    assert not projects.repo_admitted(platform, REPO["url"])
    assert not projects.repo_admitted(models, "https://github.com/acme/modelship")
    assert projects.repo_admitted(models, REPO["url"])
    assert not projects.repo_admitted(models, "https://github.com/evil/acme")
    assert not projects.repo_admitted(models, "https://gitlab.com/acme/x")
