"""The billing deploy base renders with kustomize, validates offline and is hardened."""

from __future__ import annotations

from gitops.tools import ROOT, kustomize
from test_manifests import _strict_errors

BASE = ROOT / "platform" / "deploy" / "billing"


def _kinds(docs):
    return {d["kind"]: d for d in docs}


def test_billing_base_renders_hardened():
    docs = _kinds(kustomize(BASE))
    assert {
        "Deployment",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Cluster",
    } <= set(docs)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    hardening = container["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"] and container["livenessProbe"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert secrets == {"billing-db-app", "billing-admin"}
    assert docs["ClusterRole"]["rules"] == [
        {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]}
    ]
    assert all(d["metadata"].get("namespace") in (None, "modelship") for d in docs.values())
    assert not any(d["kind"] == "Secret" for d in kustomize(BASE))


def test_billing_application():
    apps = [
        d
        for d in kustomize(ROOT / "platform" / "deploy" / "apps")
        if d["metadata"]["name"] == "modelship-billing"
    ]
    assert len(apps) == 1
    spec = apps[0]["spec"]
    assert spec["project"] == "modelship-platform"
    assert spec["destination"]["namespace"] == "modelship"
    assert (ROOT / spec["source"]["path"] / "kustomization.yaml").is_file()


def test_billing_base_is_strictly_valid():
    """kubernetes-validate (strict) on every built-in kind; the CNPG Cluster is a CRD."""
    docs = [d for d in kustomize(BASE) if d["kind"] != "Cluster"]
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
