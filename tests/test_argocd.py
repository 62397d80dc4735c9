"""Argo CD kinds, validated strictly and offline (npm package @kubernetes-models/argo-cd).

The cluster root (top-level ``argocd/``: two AppProjects, the ApplicationSet, the app-of-apps),
the Application the ApplicationSet generates for every baked repo, and the children of the
platform's app-of-apps. The AppProjects' rules are evaluated as Argo CD does
(``gitops/projects.py``): every baked manifest is admitted, and a repo that tries to escape its
project is refused. Misspelt keys must fail: the last tests show that they do.
"""

from __future__ import annotations

import copy
import json

import pytest
from baking import import_hook_module
from gitops import argocd
from gitops.projects import application_problems, resource_problems
from gitops.repos import ANSWER_SETS, answers, baked
from gitops.tools import ROOT, kustomize

rules = import_hook_module("answer_rules")

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


@pytest.fixture(scope="module")
def root() -> dict[str, dict]:
    """The cluster root, rendered: the two AppProjects by role, and the other kinds by kind."""
    docs = kustomize(ROOT / "argocd")
    assert sorted(d["kind"] for d in docs) == [
        "AppProject", "AppProject", "Application", "ApplicationSet"
    ]  # fmt: skip
    named = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AppProject"}
    return {
        "models": named["modelship-models"],
        "platform": named["modelship-platform"],
        **{d["kind"]: d for d in docs if d["kind"] != "AppProject"},
    }


def _generated(root: dict[str, dict], name: str = "defaults", **params: str) -> dict:
    """The Application the ApplicationSet makes for a baked repo (its argocd/app.json read)."""
    app_json = json.loads((baked(name) / "argocd" / "app.json").read_text())
    repo = {**SAMPLE_REPO, "repository": answers(name)["project"], **app_json, **params}
    repo["url"] = f"https://github.com/acme/{repo['repository']}.git"
    return argocd.generated_application(root["ApplicationSet"], repo)


def test_cluster_root_is_strictly_valid(root: dict[str, dict]) -> None:
    assert argocd.validate(list(root.values())) == []


@pytest.mark.parametrize("role", ["models", "platform"])
def test_projects_limit_repos_destinations_and_cluster_kinds(root, role) -> None:
    spec = root[role]["spec"]
    assert all(
        repo.startswith("https://github.com/") and repo != "*" for repo in spec["sourceRepos"]
    )
    for destination in spec["destinations"]:
        assert destination["server"] == "https://kubernetes.default.svc"
        assert destination["namespace"] not in ("*", "kube-system")
    assert spec["clusterResourceWhitelist"] == []
    assert spec["namespaceResourceWhitelist"], "namespaced kinds must be listed too"


def test_the_models_project_never_reaches_argocd_or_the_platform(root) -> None:
    spec = root["models"]["spec"]
    namespaces = [d["namespace"] for d in spec["destinations"]]
    assert namespaces == list(rules.MODEL_NAMESPACES)  # the namespace answer's rule
    kinds = {(e["group"], e["kind"]) for e in spec["namespaceResourceWhitelist"]}
    assert not {k for k in kinds if k[0] in ("argoproj.io", "rbac.authorization.k8s.io")}
    assert ("", "Secret") not in kinds


def test_applicationset_discovers_model_repos_with_a_fixed_project(root) -> None:
    spec = root["ApplicationSet"]["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    [generator] = spec["generators"]
    scm, files = generator["matrix"]["generators"]
    assert scm["scmProvider"]["github"]["organization"]
    assert {"pathsExist": ["argocd/app.json", "argocd/manifests/kustomization.yaml"]} in scm[
        "scmProvider"
    ]["filters"]
    assert files["git"]["files"] == [{"path": "argocd/app.json"}]
    assert spec["template"]["spec"]["project"] == root["models"]["metadata"]["name"]
    assert "{{" not in spec["template"]["spec"]["project"]


def test_generated_application_is_strictly_valid(root: dict[str, dict]) -> None:
    app = _generated(root)
    assert argocd.validate([app]) == []
    assert app["metadata"]["name"] == answers("defaults")["project"]
    assert app["spec"]["source"]["path"] == "argocd/manifests"
    assert application_problems(root["models"], app) == []


def test_template_names_only_parameters_the_generator_sets(root: dict[str, dict]) -> None:
    params = {k: v for k, v in SAMPLE_REPO.items() if k != "sha"}
    with pytest.raises(argocd.MissingKey):
        argocd.generated_application(root["ApplicationSet"], params)


def test_app_of_apps_deploys_existing_platform_folders(root: dict[str, dict]) -> None:
    assert application_problems(root["platform"], root["Application"]) == []
    source = root["Application"]["spec"]["source"]
    folder = ROOT / source["path"]
    children = kustomize(folder)
    assert argocd.validate(children) == []
    for child in children:
        assert child["kind"] == "Application"
        assert (ROOT / child["spec"]["source"]["path"] / "kustomization.yaml").exists()
        assert application_problems(root["platform"], child) == []


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_every_baked_manifest_is_admitted_by_the_models_project(name: str, root) -> None:
    app = _generated(root, name)
    assert app["spec"]["destination"]["namespace"] == answers(name)["namespace"]
    assert application_problems(root["models"], app) == []
    manifests = kustomize(baked(name) / "argocd" / "manifests")
    assert resource_problems(root["models"], app, manifests) == []


def test_a_repo_cannot_escape_the_models_project(root) -> None:
    """What Argo CD's docs warn of: a pushed repo adding an Application in another project,
    Argo CD's own Secrets, RBAC, a cluster-scoped kind, or naming the argocd namespace."""
    app = _generated(root)
    escapes = [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
         "metadata": {"name": "evil", "namespace": "argocd"}, "spec": {"project": "default"}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "argocd-secret", "namespace": "argocd"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stolen"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "admin"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "admin"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mine"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "miner", "namespace": "modelship"}},
    ]  # fmt: skip
    for doc in escapes:
        assert resource_problems(root["models"], app, [doc]), doc
    for namespace in ("argocd", "modelship", "kube-system"):
        moved = _generated(root, namespace=namespace)
        assert application_problems(root["models"], moved), namespace
    other_project = copy.deepcopy(app)
    other_project["spec"]["project"] = "modelship-platform"
    assert application_problems(root["models"], other_project)


def _misspell(doc: dict, path: str, wrong: str) -> dict:
    broken = copy.deepcopy(doc)
    *parents, key = path.split(".")
    node = broken
    for part in parents:
        node = node[part]
    node[wrong] = node.pop(key)
    return broken


@pytest.mark.parametrize(
    ("path", "wrong"),
    [
        ("spec.syncPolicy.automated.selfHeal", "selfHeel"),
        ("spec.destination", "destnation"),
        ("spec.source.targetRevision", "targetRevison"),
        ("metadata.labels", "lables"),
        ("spec.syncPolicy.retry.backoff.maxDuration", "maxDurration"),
    ],
)
def test_misspelt_application_keys_fail(path: str, wrong: str, root) -> None:
    app = _generated(root)
    assert argocd.validate([app]) == []
    errors = argocd.validate([_misspell(app, path, wrong)])
    assert any(wrong in e for e in errors), errors


def test_broken_applicationset_and_project_fail(root: dict[str, dict]) -> None:
    appset = _misspell(root["ApplicationSet"], "spec.template.spec.source.repoURL", "repoUrl")
    assert any("repoUrl" in e for e in argocd.validate([appset]))
    generated = argocd.generated_application(appset, {**SAMPLE_REPO, "namespace": "models"})
    assert any("repoUrl" in e for e in argocd.validate([generated]))
    project = _misspell(root["models"], "spec.sourceRepos", "sourceRepo")
    assert any("sourceRepo" in e for e in argocd.validate([project]))
    wrong_type = copy.deepcopy(root["Application"])
    wrong_type["spec"]["syncPolicy"]["retry"]["limit"] = "five"
    assert argocd.validate([wrong_type]) != []
