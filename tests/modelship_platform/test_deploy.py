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
