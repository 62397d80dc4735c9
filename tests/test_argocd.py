"""Argo CD kinds, validated strictly and offline (npm package @kubernetes-models/argo-cd).

The cluster root (top-level ``argocd/``), the Application an ApplicationSet generates for a
sample repo, the children of the platform's app-of-apps, and every baked repo's own
``argocd/application.yaml``. Misspelt keys must fail: the last tests show that they do.
"""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path

import pytest
import yaml
from gitops import argocd
from gitops.projects import MODELS, PLATFORM, SAMPLE_REPO
from gitops.repos import ANSWER_SETS, answers, baked
from gitops.tools import ROOT, kustomize


@pytest.fixture(scope="module")
def root() -> dict[str, dict]:
    """The cluster root, rendered: kind -> document."""
    docs = kustomize(ROOT / "argocd")
    assert sorted(d["kind"] for d in docs) == [
        "AppProject",
        "AppProject",
        "Application",
        "ApplicationSet",
    ]
    named = {d["kind"]: d for d in docs if d["kind"] != "AppProject"}
    projects = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AppProject"}
    return {**named, "AppProject": projects[MODELS], "PlatformProject": projects[PLATFORM]}


def test_cluster_root_is_strictly_valid(root: dict[str, dict]) -> None:
    assert argocd.validate(list(root.values())) == []


@pytest.mark.parametrize("which", ["AppProject", "PlatformProject"])
def test_projects_limit_repos_destinations_and_cluster_kinds(
    which: str, root: dict[str, dict]
) -> None:
    spec = root[which]["spec"]
    assert all(
        repo.lstrip("!").startswith("https://github.com/") and repo != "*"
        for repo in spec["sourceRepos"]
    )
    for destination in spec["destinations"]:
        assert destination["server"] == "https://kubernetes.default.svc"
        assert destination["namespace"] not in ("*", "kube-system")
    assert spec["clusterResourceWhitelist"] in ([], [{"group": "", "kind": "Namespace"}])
    assert spec["namespaceResourceWhitelist"], "namespaced kinds must be listed too"


def test_applicationset_discovers_model_repos_with_a_fixed_project(root: dict[str, dict]) -> None:
    spec = root["ApplicationSet"]["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    [generator] = spec["generators"]
    scm = generator["scmProvider"]
    assert scm["github"]["organization"]
    assert {"pathsExist": ["argocd/manifests/kustomization.yaml"]} in scm["filters"]
    assert spec["template"]["spec"]["project"] == root["AppProject"]["metadata"]["name"]
    assert "{{" not in spec["template"]["spec"]["project"]


def test_generated_application_is_strictly_valid(root: dict[str, dict]) -> None:
    app = argocd.generated_application(root["ApplicationSet"], SAMPLE_REPO)
    assert argocd.validate([app]) == []
    assert app["metadata"]["name"] == "credit-scorer"
    assert app["spec"]["source"] == {
        "repoURL": SAMPLE_REPO["url"],
        "targetRevision": "main",
        "path": "argocd/manifests",
    }
    assert _admitted(root["AppProject"], app)


def test_template_names_only_parameters_the_generator_sets(root: dict[str, dict]) -> None:
    params = {k: v for k, v in SAMPLE_REPO.items() if k != "sha"}
    with pytest.raises(argocd.MissingKey):
        argocd.generated_application(root["ApplicationSet"], params)


def test_app_of_apps_deploys_existing_platform_folders(root: dict[str, dict]) -> None:
    source = root["Application"]["spec"]["source"]
    folder = ROOT / source["path"]
    children = kustomize(folder)
    assert argocd.validate(children) == []
    for child in children:
        assert child["kind"] == "Application"
        assert (ROOT / child["spec"]["source"]["path"] / "kustomization.yaml").exists()
        assert _admitted(root["PlatformProject"], child)


def _admitted(project: dict, app: dict) -> bool:
    """Whether the AppProject admits the Application's repo and destination."""
    spec, target = project["spec"], app["spec"]["destination"]
    repo = app["spec"]["source"]["repoURL"].removesuffix(".git")
    return any(fnmatch.fnmatch(repo, pattern) for pattern in spec["sourceRepos"]) and any(
        fnmatch.fnmatch(target["namespace"], d["namespace"]) and d["server"] == target["server"]
        for d in spec["destinations"]
    )


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_baked_application_follows_the_answers(name: str, root: dict[str, dict]) -> None:
    app = yaml.safe_load((baked(name) / "argocd" / "application.yaml").read_text())
    assert argocd.validate([app]) == []
    given, spec = answers(name), app["spec"]
    assert spec["project"] == given["argocd_project"]
    assert spec["source"]["repoURL"] == given["git_repo_url"]
    assert spec["source"]["path"] == "argocd/manifests"
    assert spec["destination"]["namespace"] == given["namespace"]
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in spec["syncPolicy"]["syncOptions"]
    assert spec["syncPolicy"]["retry"]["backoff"]["factor"] > 1
    assert _admitted(root["AppProject"], app)
    assert Path(baked(name), spec["source"]["path"], "kustomization.yaml").exists()


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
def test_misspelt_application_keys_fail(path: str, wrong: str) -> None:
    app = yaml.safe_load((baked("defaults") / "argocd" / "application.yaml").read_text())
    assert argocd.validate([app]) == []
    errors = argocd.validate([_misspell(app, path, wrong)])
    assert any(wrong in e for e in errors), errors


def test_broken_applicationset_and_project_fail(root: dict[str, dict]) -> None:
    appset = _misspell(root["ApplicationSet"], "spec.template.spec.source.repoURL", "repoUrl")
    assert any("repoUrl" in e for e in argocd.validate([appset]))
    generated = argocd.generated_application(appset, SAMPLE_REPO)
    assert any("repoUrl" in e for e in argocd.validate([generated]))
    project = _misspell(root["AppProject"], "spec.sourceRepos", "sourceRepo")
    assert any("sourceRepo" in e for e in argocd.validate([project]))
    wrong_type = copy.deepcopy(root["Application"])
    wrong_type["spec"]["syncPolicy"]["retry"]["limit"] = "five"
    assert argocd.validate([wrong_type]) != []
