"""The platform's deploy bases (billing, catalog) render with kustomize, validate offline and
are hardened; each is an Argo CD Application of the app-of-apps."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from gitops.projects import application_problems, resource_problems
from gitops.tools import ROOT, kustomize
from test_manifests import _strict_errors

DEPLOY = ROOT / "platform" / "deploy"
APPS = ["billing", "catalog"]
#: the Secrets each app reads (both from billing: its database and its admin key)
SECRETS = {"billing": {"billing-db-app", "billing-admin"}, "catalog": {"billing-db-app", "billing-admin"}}  # fmt: skip


def _kinds(docs):
    return {d["kind"]: d for d in docs}


@pytest.mark.parametrize("app", APPS)
def test_base_renders_hardened(app):
    docs = _kinds(kustomize(DEPLOY / app))
    assert {
        "Deployment",
        "Service",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    } <= set(docs)
    assert ("Cluster" in docs) == (app == "billing")  # one database, billing's
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]
    assert container["args"] == [app]
    hardening = container["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"] and container["livenessProbe"]
    assert container["resources"]["limits"]["memory"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert secrets == SECRETS[app]
    assert docs["Role"]["rules"] == [
        {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]}
    ]
    policy = docs["NetworkPolicy"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": app}
    # discovery reads the models namespace only: a Role there, nothing cluster-wide
    assert {docs[k]["metadata"]["namespace"] for k in ("Role", "RoleBinding")} == {"models"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MODELSHIP_MODELS_NAMESPACE"] == "models"
    others = [d for k, d in docs.items() if k not in ("Role", "RoleBinding")]
    assert {d["metadata"]["namespace"] for d in others} == {"modelship"}
    assert not any(d["kind"] == "Secret" for d in kustomize(DEPLOY / app))


def test_the_catalog_reaches_billing_by_its_service_and_network_policy():
    docs = _kinds(kustomize(DEPLOY / "catalog"))
    env = {e["name"]: e.get("value") for e in docs["Deployment"]["spec"]["template"]["spec"]
           ["containers"][0]["env"]}  # fmt: skip
    assert env["MODELSHIP_BILLING_URL"] == "http://billing.modelship.svc"
    billing = _kinds(kustomize(DEPLOY / "billing"))["Deployment"]
    port = billing["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    egress = docs["NetworkPolicy"]["spec"]["egress"]
    to_billing = [
        rule
        for rule in egress
        if any(
            peer.get("podSelector", {}).get("matchLabels") == {"app.kubernetes.io/name": "billing"}
            for peer in rule.get("to", [])
        )
    ]
    assert [rule["ports"] for rule in to_billing] == [[{"port": port, "protocol": "TCP"}]]


@pytest.mark.parametrize("app", APPS)
def test_application(app):
    apps = [d for d in kustomize(DEPLOY / "apps") if d["metadata"]["name"] == f"modelship-{app}"]
    assert len(apps) == 1
    spec = apps[0]["spec"]
    assert spec["project"] == "modelship-platform"
    assert spec["destination"]["namespace"] == "modelship"
    assert spec["source"]["path"] == f"platform/deploy/{app}"
    assert (ROOT / spec["source"]["path"] / "kustomization.yaml").is_file()


@pytest.mark.parametrize("app", APPS)
def test_base_is_strictly_valid(app):
    """kubernetes-validate (strict) on every built-in kind; the CNPG Cluster is a CRD."""
    docs = [d for d in kustomize(DEPLOY / app) if d["kind"] != "Cluster"]
    assert _strict_errors(docs) == []


SCHEDULER = ROOT / "platform" / "deploy" / "scheduler"


def test_scheduler_base_renders_hardened_with_jobs_rbac_in_models_only():
    docs = kustomize(SCHEDULER)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted([
        "Deployment", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Role",
        "RoleBinding", "Service", "ServiceAccount",
    ])  # fmt: skip
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"scheduler", "scheduler-worker"}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        container = pod["containers"][0]
        hardening = container["securityContext"]
        assert hardening["readOnlyRootFilesystem"] is True
        assert hardening["allowPrivilegeEscalation"] is False
        assert hardening["capabilities"]["drop"] == ["ALL"]
        assert container["livenessProbe"], name
        env = {e["name"]: e for e in container["env"]}
        assert env["MODELSHIP_SCHEDULER_WORKER"]["value"] == "false"
        for secret in ("MODELSHIP_DATABASE_URL", "MODELSHIP_ADMIN_KEY", "MODELSHIP_SMTP_URL"):
            assert "valueFrom" in env[secret] and "value" not in env[secret]
    assert deployments["scheduler"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "scheduler"
    ]
    worker = deployments["scheduler-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"] == ["worker"]
    roles = [d for d in docs if d["kind"] in ("Role", "RoleBinding")]
    assert {d["metadata"]["namespace"] for d in roles} == {"models"}
    role = next(d for d in docs if d["kind"] == "Role")
    assert {"apiGroups": ["batch"], "resources": ["jobs"],
            "verbs": ["create", "get", "list", "watch", "delete"]} in role["rules"]  # fmt: skip
    assert not any(d["kind"].startswith("Cluster") for d in docs)
    others = [d for d in docs if d not in roles]
    assert {d["metadata"]["namespace"] for d in others} == {"modelship"}
    assert not any(d["kind"] == "Secret" for d in docs)
    assert _strict_errors(docs) == []


def test_scheduler_application():
    apps = [
        d
        for d in kustomize(ROOT / "platform" / "deploy" / "apps")
        if d["metadata"]["name"] == "modelship-scheduler"
    ]
    assert len(apps) == 1
    spec = apps[0]["spec"]
    assert spec["project"] == "modelship-platform"
    assert spec["destination"]["namespace"] == "modelship"
    assert (ROOT / spec["source"]["path"] / "kustomization.yaml").is_file()


@pytest.mark.parametrize("app", [*APPS, "scheduler"])
def test_the_platform_project_admits_the_app_and_everything_it_syncs(app):
    """Argo CD's own check before a sync: the modelship-platform AppProject admits no
    cluster-scoped kind, so a ClusterRole in a base would leave the app OutOfSync forever."""
    project = yaml.safe_load((ROOT / "argocd" / "appproject-platform.yaml").read_text())
    apps = kustomize(DEPLOY / "apps")
    application = next(d for d in apps if d["metadata"]["name"] == f"modelship-{app}")
    assert application_problems(project, application) == []
    assert resource_problems(project, application, kustomize(DEPLOY / app)) == []


def test_the_platform_image_installs_the_kubernetes_client_its_cluster_code_imports():
    """Discovery and shard Jobs import ``kubernetes`` only in a cluster: the image must carry
    it (the ``cluster`` extra), or every pod would fail at its first discovery."""
    platform = ROOT / "platform"
    sources = "\n".join(p.read_text() for p in (platform / "src").rglob("*.py"))
    assert re.search(r"^\s*from kubernetes import", sources, re.MULTILINE)
    project = tomllib.loads((platform / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("kubernetes") for d in project["optional-dependencies"]["cluster"])
    assert '".[cluster]"' in (platform / "Dockerfile").read_text()


def test_the_catalog_reaches_the_schedulers_api_by_its_service_and_network_policy():
    docs = _kinds(kustomize(DEPLOY / "catalog"))
    env = {e["name"]: e.get("value") for e in docs["Deployment"]["spec"]["template"]["spec"]
           ["containers"][0]["env"]}  # fmt: skip
    scheduler = {(d["kind"], d["metadata"]["name"]): d for d in kustomize(DEPLOY / "scheduler")}
    assert env["MODELSHIP_SCHEDULER_URL"] == "http://scheduler.modelship.svc"
    api = scheduler["Deployment", "scheduler"]["spec"]["template"]
    port = api["spec"]["containers"][0]["ports"][0]["containerPort"]
    selector = scheduler["Service", "scheduler"]["spec"]["selector"]  # the Service's pods
    assert selector.items() <= api["metadata"]["labels"].items()
    egress = docs["NetworkPolicy"]["spec"]["egress"]
    to_api = [r for r in egress if any(p.get("podSelector", {}).get("matchLabels") == selector
                                        for p in r.get("to", []))]  # fmt: skip
    assert [rule["ports"] for rule in to_api] == [[{"port": port, "protocol": "TCP"}]]
