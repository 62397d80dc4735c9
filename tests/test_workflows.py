"""The baked repo's CI/CD workflow and this repository's CI, validated offline.

Both pass check-jsonschema's vendored GitHub-workflow schema and actionlint (with shellcheck),
and follow the rules of the pipeline: least-privilege permissions, a concurrency group,
timeouts, actions pinned to full versions, no project values in the copied-verbatim file, and
a bump commit that cannot start the pipeline again. A broken variant is shown to fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from gitops.repos import baked
from gitops.tools import ROOT
from gitops.workflows import actionlint_errors, schema_errors

TEMPLATE_WORKFLOW = ROOT / "{{cookiecutter.project}}" / ".github" / "workflows" / "ci-cd.yml"
TOP_LEVEL_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
# A full commit SHA, with the release it is (for people and Dependabot) in a comment.
PINNED = re.compile(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _workflows() -> dict[str, Path]:
    return {
        "baked ci-cd.yml": baked("defaults") / ".github" / "workflows" / "ci-cd.yml",
        "top-level ci.yml": TOP_LEVEL_WORKFLOW,
    }


def _unpinned(path: Path) -> list[str]:
    """Actions not pinned to a full commit SHA with its version in a comment (a tag can be
    moved to other code; a commit cannot)."""
    lines = [line.strip().removeprefix("- ") for line in path.read_text().splitlines()]
    return [line for line in lines if line.startswith("uses:") and not PINNED.match(line)]


def _load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


@pytest.mark.parametrize("which", ["baked ci-cd.yml", "top-level ci.yml"])
def test_workflow_passes_schema_and_actionlint(which: str) -> None:
    workflow = _workflows()[which]
    assert schema_errors(workflow) == []
    assert actionlint_errors(workflow) == []


@pytest.mark.parametrize("which", ["baked ci-cd.yml", "top-level ci.yml"])
def test_least_privilege_timeouts_concurrency_and_pins(which: str) -> None:
    data = _load(_workflows()[which])
    assert data["permissions"] == {"contents": "read"}
    assert "group" in data["concurrency"]
    for name, job in data["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 60, name
    assert _unpinned(_workflows()[which]) == []


def test_baked_workflow_is_copied_verbatim_and_reads_values_from_files() -> None:
    repo = baked("everything-on")
    workflow = repo / ".github" / "workflows" / "ci-cd.yml"
    assert workflow.read_bytes() == TEMPLATE_WORKFLOW.read_bytes()
    text = workflow.read_text()
    assert "cookiecutter" not in text and "credit-scorer" not in text and "acme" not in text
    assert "scripts/bump_image_tag.py --print-image" in text
    assert (repo / "scripts" / "bump_image_tag.py").exists()
    assert (repo / "argocd" / "manifests" / "kustomization.yaml").exists()


def test_pipeline_builds_pushes_and_bumps_without_retriggering() -> None:
    jobs = _load(TEMPLATE_WORKFLOW)["jobs"]
    assert jobs["image"]["needs"] == "test" and jobs["deploy"]["needs"] == "image"
    assert jobs["image"]["permissions"] == {"contents": "read", "packages": "write"}
    assert jobs["deploy"]["permissions"] == {"contents": "write"}
    assert "refs/heads/main" in jobs["deploy"]["if"] and "push" in jobs["deploy"]["if"]
    assert "github-actions[bot]" in jobs["test"]["if"]
    uses = {s["uses"].split("@")[0] for job in jobs.values() for s in job["steps"] if "uses" in s}
    assert {
        "actions/checkout",
        "astral-sh/setup-uv",
        "docker/login-action",
        "docker/metadata-action",
        "docker/build-push-action",
    } <= uses
    meta = next(s for s in jobs["image"]["steps"] if s.get("id") == "meta")["with"]["tags"]
    assert "type=sha" in meta and "type=semver" in meta
    bump = "\n".join(s.get("run", "") for s in jobs["deploy"]["steps"])
    assert 'bump_image_tag.py "sha-${GITHUB_SHA}"' in bump
    assert "[skip ci]" in bump and "push origin HEAD:main" in bump
    test_steps = "\n".join(s.get("run", "") for s in jobs["test"]["steps"])
    for command in ("uv sync --locked", "ruff check", "ruff format --check", "pytest"):
        assert command in test_steps


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("${{ github.event_name != 'pull_request' }}", "${{ github.event_nam != 'pull_request' }}"),
        ("${{ steps.meta.outputs.tags }}", "${{ steps.metadata.outputs.tags }}"),
        ("${{ secrets.GITHUB_TOKEN }}", "${{ secrets.GITHUB_TOKEN }"),
    ],
)
def test_a_bad_expression_fails(old: str, new: str, tmp_path: Path) -> None:
    text = TEMPLATE_WORKFLOW.read_text()
    assert old in text
    broken = tmp_path / "ci-cd.yml"
    broken.write_text(text.replace(old, new, 1))
    assert actionlint_errors(broken) != []


def test_an_unknown_key_and_a_floating_pin_fail(tmp_path: Path) -> None:
    text = TEMPLATE_WORKFLOW.read_text()
    broken = tmp_path / "ci-cd.yml"
    broken.write_text(text.replace("timeout-minutes: 20", "timeout-minute: 20", 1))
    assert schema_errors(broken) != []
    assert actionlint_errors(broken) != []
    floating = tmp_path / "floating.yml"
    floating.write_text(re.sub(r"actions/checkout@\S+ # v[\d.]+", "actions/checkout@v7", text))
    assert _unpinned(floating) == ["uses: actions/checkout@v7"] * 3


@pytest.mark.parametrize("which", ["baked ci-cd.yml", "top-level ci.yml"])
def test_dependabot_keeps_the_pinned_actions_fresh(which: str) -> None:
    repo = _workflows()[which].parents[2]
    config = yaml.safe_load((repo / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert ecosystems["github-actions"]["directory"] == "/"
    assert ecosystems["github-actions"]["schedule"]["interval"]


def test_no_build_cache_in_the_job_that_publishes() -> None:
    image = _load(_workflows()["baked ci-cd.yml"])["jobs"]["image"]
    for step in image["steps"]:
        assert not {"cache-from", "cache-to"} & set(step.get("with", {})), step
        assert "enable-cache" not in step.get("with", {}), step
