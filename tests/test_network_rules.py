"""The network and monitoring answers (``hooks/network_rules.py``): each rule one value at a
time, the rules between them, and a bad answer stopping generation before any file is written.
The rendered NetworkPolicy that these answers shape is checked in ``test_network_policy.py``.
"""

from __future__ import annotations

import pytest
from baking import bake_command, default_answers, import_hook_module

rules = import_hook_module("answer_rules")
net = import_hook_module("network_rules")

# (check, value) pairs that must pass.
ACCEPTED = [
    ("check_monitoring_namespace", "monitoring"),
    ("check_monitoring_namespace", "kube-prometheus-stack"),
    ("check_mlflow_namespace", "mlflow"),
    ("check_mlflow_namespace", ""),
    ("check_artifact_store_namespace", "minio-1"),
    ("check_artifact_store_namespace", ""),
    ("check_pod_labels", ""),
    ("check_pod_labels", "app.kubernetes.io/name=mlflow"),
    ("check_pod_labels", "app=minio,tier=store"),
    ("check_pod_labels", "release="),
    ("check_egress_cidrs", ""),
    ("check_egress_cidrs", "0.0.0.0/0"),
    ("check_egress_cidrs", "52.216.0.0/15,203.0.113.10/32"),
    ("check_egress_cidrs", "10.1.0.0/16"),  # refused later unless private is allowed
    ("check_artifact_store_port", "9000"),
    ("check_service_monitor", "true"),
    ("check_egress_private_allowed", "false"),
]

# (check, value, a phrase of the reason) triples that must fail.
REJECTED = [
    ("check_monitoring_namespace", "", "must be a Kubernetes namespace"),
    ("check_monitoring_namespace", "Monitoring", "DNS-1123 label"),
    ("check_mlflow_namespace", "ml_flow", "or empty (MLflow outside the cluster"),
    ("check_artifact_store_namespace", "-minio", "or empty (no artifact store"),
    ("check_pod_labels", "app", "'app' is not key=value"),
    ("check_pod_labels", "app=mlflow,", "'' is not key=value"),
    ("check_pod_labels", "app=ml flow", "has an invalid value"),
    ("check_pod_labels", "Example.com/app=x", "has an invalid key prefix"),
    ("check_pod_labels", "-app=x", "has an invalid key"),
    ("check_egress_cidrs", "203.0.113.10", "is not an IPv4 CIDR"),
    ("check_egress_cidrs", "203.0.113.10/24", "has host bits set"),
    ("check_egress_cidrs", "2001:db8::/32", "is not an IPv4 CIDR"),
    ("check_egress_cidrs", "0.0.0.0/0, 10.0.0.0/8", "does not appear to be an IPv4"),
    ("check_egress_cidrs", "169.254.169.254/32", "is link-local"),
    ("check_artifact_store_port", "65536", "a whole number from 1 to 65535"),
    ("check_service_monitor", "yes", "'false' or 'true'"),
    ("check_egress_private_allowed", "True", "'false' or 'true'"),
]


@pytest.mark.parametrize(("check", "value"), ACCEPTED)
def test_accepted(check: str, value: str) -> None:
    assert getattr(net, check)(value) is None


@pytest.mark.parametrize(("check", "value", "phrase"), REJECTED)
def test_rejected_with_what_is_allowed(check: str, value: str, phrase: str) -> None:
    reason = getattr(net, check)(value)
    assert reason is not None and phrase in reason, reason
    assert "must be" in reason


EXTERNAL = {"mlflow_tracking_uri": "https://mlflow.example.com", "mlflow_namespace": ""}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, []),
        (
            {"mlflow_tracking_uri": "http://mlflow.tracking:5000"},
            ["invalid answer mlflow_namespace='mlflow': must be 'tracking', the namespace of"],
        ),
        (
            {"mlflow_tracking_uri": "https://mlflow.example.com"},
            [
                "invalid answer mlflow_namespace='mlflow': must be empty: mlflow_tracking_uri",
                "invalid answer egress_cidrs='': must name MLflow's IPv4 CIDR(s)",
            ],
        ),
        ({**EXTERNAL, "egress_cidrs": "0.0.0.0/0"}, []),
        (
            {**EXTERNAL, "egress_cidrs": "203.0.113.0/24,192.168.10.0/24"},
            ["must be public addresses: 192.168.10.0/24 is inside 192.168.0.0/16, or answer "],
        ),
        ({**EXTERNAL, "egress_cidrs": "192.168.10.0/24", "egress_private_allowed": "true"}, []),
        ({"egress_cidrs": "100.64.0.0/10"}, ["must be public addresses: 100.64.0.0/10 is inside"]),
    ],
)
def test_the_network_answers_together(answers: dict[str, str], expected: list[str]) -> None:
    problems = rules.validate_answers(default_answers(**answers))
    assert len(problems) == len(expected), problems
    for line, start in zip(problems, expected, strict=True):
        assert start in line, line


def test_a_bad_network_answer_stops_generation_before_any_file(tmp_path) -> None:
    done = bake_command(tmp_path, project="leaky", mlflow_tracking_uri="https://mlflow.example.com")
    assert done.returncode != 0
    assert "invalid answer egress_cidrs='': must name MLflow's IPv4 CIDR(s)" in done.stderr
    assert "nothing was generated" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_hook_and_the_template_except_the_same_ranges() -> None:
    from baking import TEMPLATE_DIR

    policy = TEMPLATE_DIR / "{{cookiecutter.project}}/argocd/manifests/networkpolicy.yaml"
    text = policy.read_text()
    for network in (*net.NOT_PUBLIC, net.LINK_LOCAL):
        assert f"'{network}'" in text
