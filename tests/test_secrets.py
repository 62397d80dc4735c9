"""Serving and training hold different credentials: the Deployment reads only the read-only
serving Secret, the retraining CronJob the read-write training Secret, and the baked guide
documents every Secret a pod names (tests/gitops/policy.py reads a pod's references)."""

from __future__ import annotations

import copy

import pytest
from gitops import policy
from gitops.repos import ANSWER_SETS, answers, baked, rendered


def _secrets_by_workload(docs: list[dict]) -> dict[str, set[str]]:
    return {w: policy.secret_references(pod) for w, pod in policy.pod_templates(docs)}


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_each_workload_reads_the_secret_of_its_role(name: str) -> None:
    project = answers(name)["project"]
    found = _secrets_by_workload(list(rendered(name)))
    expected = {f"Deployment/{project}": {f"{project}-serving"}}
    if answers(name)["retrain_schedule"]:
        expected[f"CronJob/{project}-retrain"] = {f"{project}-training"}
    if answers(name)["batch_schedule"]:
        expected[f"CronJob/{project}-batch"] = {f"{project}-batch"}
    assert found == expected


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_the_guide_documents_every_secret_a_pod_reads(name: str) -> None:
    guide = (baked(name) / "docs" / "deploy.md").read_text()
    for secrets in _secrets_by_workload(list(rendered(name))).values():
        for secret in secrets:
            assert f"`{secret}`" in guide, secret
    assert "read-only" in guide and "read-write" in guide


def test_a_deployment_that_reads_the_training_secret_is_caught() -> None:
    docs = copy.deepcopy(list(rendered("everything-on")))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"].append(
        {
            "name": "AWS_SECRET_ACCESS_KEY",
            "valueFrom": {"secretKeyRef": {"name": "credit-scorer-training", "key": "key"}},
        }
    )
    found = _secrets_by_workload(docs)["Deployment/credit-scorer"]
    assert "credit-scorer-training" in found
