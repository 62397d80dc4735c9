"""zizmor (offline) and checkov over the template and every baked answer set.

What is scanned is what reaches GitHub and the cluster: this repository's own workflow and
Dependabot config, the cluster root (``argocd/``, rendered), and for every answer set of
``gitops.repos`` the baked repo's workflow, Dependabot config, Dockerfile and its manifests
as kustomize renders them. Each scanner runs once over all of it (checkov starts slowly);
every finding must be covered by ``tests/gitops/scan-allowlist.txt``, where each accepted
finding has its reason, and every line there must still cover a finding.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from gitops import scanners
from gitops.repos import ANSWER_SETS, baked, rendered
from gitops.tools import ROOT, kustomize

TEMPLATE = "template"
TARGETS = [TEMPLATE, *ANSWER_SETS]


def _stage_repo(repo: Path, docs: list[dict], into: Path) -> None:
    shutil.copytree(repo / ".github", into / ".github")
    shutil.copyfile(repo / "Dockerfile", into / "Dockerfile")
    manifests = into / "argocd" / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "rendered.yaml").write_text(yaml.safe_dump_all(docs))


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    """One folder per target, holding what is scanned (manifests rendered by kustomize)."""
    root = tmp_path_factory.mktemp("scans")
    template = root / TEMPLATE
    shutil.copytree(ROOT / ".github", template / ".github")
    (template / "argocd").mkdir()
    (template / "argocd" / "rendered.yaml").write_text(
        yaml.safe_dump_all(kustomize(ROOT / "argocd"))
    )
    for name in ANSWER_SETS:
        _stage_repo(baked(name), list(rendered(name)), root / name)
    return root


@pytest.fixture(scope="module")
def zizmor_findings(staged: Path) -> dict[str, list[scanners.Finding]]:
    return {target: scanners.zizmor(staged / target, target) for target in TARGETS}


@pytest.fixture(scope="module")
def checkov_report(staged: Path) -> scanners.CheckovReport:
    return scanners.checkov(staged)


def test_checkov_parsed_every_workflow_manifest_and_dockerfile(checkov_report) -> None:
    summaries = checkov_report.summaries
    assert set(summaries) == set(scanners.CHECKOV_FRAMEWORKS)
    for framework, summary in summaries.items():
        assert summary["parsing_errors"] == 0, framework
        assert summary["passed"] > 0, f"checkov checked nothing with {framework}"
    # Every answer set's manifests and Dockerfile were read (most checks pass on each).
    assert summaries["kubernetes"]["resource_count"] >= 7 * len(ANSWER_SETS)
    assert summaries["dockerfile"]["resource_count"] == len(ANSWER_SETS)


@pytest.mark.parametrize("target", TARGETS)
def test_zizmor_finds_nothing_outside_the_allowlist(target: str, zizmor_findings) -> None:
    assert scanners.unexplained(zizmor_findings[target], scanners.allowlist()) == []


@pytest.mark.parametrize("target", TARGETS)
def test_checkov_finds_nothing_outside_the_allowlist(target: str, checkov_report) -> None:
    findings = [f for f in checkov_report.findings if f.target == target]
    assert scanners.unexplained(findings, scanners.allowlist()) == []


def test_every_allowlist_line_has_a_reason_and_covers_a_finding(
    zizmor_findings, checkov_report
) -> None:
    findings = [f for found in zizmor_findings.values() for f in found]
    findings += checkov_report.findings
    for entry in scanners.allowlist():
        assert len(entry.reason.split()) >= 5, f"say why {entry} is accepted"
        assert any(entry.covers(f) for f in findings), f"stale allow-list line: {entry}"


def test_a_workflow_that_keeps_its_credentials_is_caught(tmp_path: Path) -> None:
    repo = baked("defaults")
    shutil.copytree(repo / ".github", tmp_path / ".github")
    workflow = tmp_path / ".github" / "workflows" / "ci-cd.yml"
    text = workflow.read_text()
    kept = "        with:\n          persist-credentials: false\n"
    assert kept in text
    workflow.write_text(text.replace(kept, ""))
    found = scanners.unexplained(scanners.zizmor(tmp_path), scanners.allowlist())
    assert any("artipacked .github/workflows/ci-cd.yml" in f for f in found), found


def test_a_privileged_container_is_caught(tmp_path: Path) -> None:
    docs = [dict(d) for d in rendered("defaults")]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = yaml.safe_load(yaml.safe_dump(deployment["spec"]["template"]))
    pod["spec"]["containers"][0]["securityContext"]["privileged"] = True
    deployment["spec"] = {**deployment["spec"], "template": pod}
    _stage_repo(baked("defaults"), docs, tmp_path / "broken")
    found = scanners.unexplained(scanners.checkov(tmp_path).findings, scanners.allowlist())
    assert any("CKV_K8S_16" in f for f in found), found
