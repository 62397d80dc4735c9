"""The baked repo's Dockerfile: hadolint, and the rules of the image.

Multi-stage with uv and the locked dependencies only, non-root (the uid the manifests run
as), writes only under /tmp, no model inside, ``serve`` by default and ``train``/``batch``
runnable with the same image. A broken variant is shown to fail.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from gitops import policy
from gitops.repos import answers, baked, rendered
from gitops.tools import run, tool


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [ln.strip() for ln in joined.splitlines()]
    pairs = [tuple(ln.split(None, 1)) for ln in lines if ln and not ln.startswith("#")]
    return [(op.upper(), args) for op, args in pairs]


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def hadolint_errors(dockerfile: Path) -> list[str]:
    done = run([tool("hadolint"), "--no-color", str(dockerfile)])
    return [] if done.returncode == 0 else done.stdout.splitlines()


def rule_errors(repo: Path) -> list[str]:
    """The image rules this template promises, checked on the Dockerfile text."""
    steps = _instructions((repo / "Dockerfile").read_text())
    final = _final_stage(steps)
    errors = []
    if sum(op == "FROM" for op, _ in steps) < 2:
        errors.append("not a multi-stage build")
    users = [args for op, args in final if op == "USER"]
    deployment = next(d for d in rendered("defaults") if d["kind"] == "Deployment")
    uid = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    if users[-1:] != [f"{uid}:{uid}"]:
        errors.append(f"the final stage must run as {uid}:{uid}, not {users[-1:]}")
    if ("CMD", '["serve"]') not in final:
        errors.append('the default command must be ["serve"]')
    if not any(op == "RUN" and "uv sync --locked --no-dev" in args for op, args in steps):
        errors.append("dependencies are not installed with uv sync --locked --no-dev")
    if any(op == "RUN" and re.search(r"\bpip\b|\buv (pip|add)\b", args) for op, args in steps):
        errors.append("installs packages outside uv.lock")
    copied = [args.split()[:-1] for op, args in steps if op == "COPY" and "--from" not in args]
    if any(re.search(r"mlruns|mlflow\.db|\.pkl|model", " ".join(src)) for src in copied):
        errors.append("copies a model or an MLflow store into the image")
    env = " ".join(args for op, args in final if op == "ENV")
    if "HOME=/tmp" not in env or "TMPDIR=/tmp" not in env:
        errors.append("HOME and TMPDIR must point at /tmp (read-only root filesystem)")
    return errors


@pytest.mark.parametrize("name", ["defaults", "everything-on"])
def test_dockerfile_passes_hadolint_and_the_image_rules(name: str) -> None:
    repo = baked(name)
    assert hadolint_errors(repo / "Dockerfile") == []
    assert rule_errors(repo) == []
    version = answers(name)["python_version"]
    assert f"ARG PYTHON_VERSION={version}" in (repo / "Dockerfile").read_text()


def test_copied_files_exist_and_pass_the_dockerignore() -> None:
    repo = baked("defaults")
    steps = _instructions((repo / "Dockerfile").read_text())
    sources = {
        src.rstrip("/")
        for op, args in steps
        if op == "COPY" and "--from" not in args
        for src in args.split()[:-1]
    }
    ignore = (repo / ".dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*", "the build context must be an allow-list"
    for source in sources:
        assert f"!{source}" in ignore or f"!{source}/" in ignore, source
        # The post-generation hook writes uv.lock (not when MODELSHIP_SKIP_LOCK=1 or offline).
        assert source == "uv.lock" or (repo / source).exists(), source


def test_serve_train_and_batch_are_commands_of_the_image() -> None:
    repo = baked("everything-on")
    scripts = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"serve", "train", "batch"} <= set(scripts)
    commands = {
        c["command"][0]
        for _, pod in policy.pod_templates(list(rendered("everything-on")))
        for c in pod["spec"]["containers"]
        if "command" in c
    }
    assert commands == {"train", "batch"}


def test_broken_dockerfiles_fail(tmp_path: Path) -> None:
    repo = baked("defaults")
    text = (repo / "Dockerfile").read_text()
    root_user = tmp_path / "root-user"
    root_user.mkdir()
    (root_user / "Dockerfile").write_text(text.replace("USER 10001:10001", "USER root"))
    assert rule_errors(root_user) != []
    assert hadolint_errors(root_user / "Dockerfile") != []
    unpinned = tmp_path / "Dockerfile"
    unpinned.write_text(text.replace("ghcr.io/astral-sh/uv:0.13.9", "ghcr.io/astral-sh/uv"))
    assert hadolint_errors(unpinned) != []
    pip = tmp_path / "pip"
    pip.mkdir()
    (pip / "Dockerfile").write_text(text.replace("CMD [", "RUN pip install mlflow\nCMD ["))
    assert any("outside uv.lock" in e for e in rule_errors(pip))
