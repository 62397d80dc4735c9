"""Validators of GitHub Actions workflows: check-jsonschema's vendored schema and actionlint."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gitops.tools import run, tool, tool_env


def schema_errors(workflow: Path) -> list[str]:
    """check-jsonschema --builtin-schema vendor.github-workflows."""
    done = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)]
    )
    return [] if done.returncode == 0 else [done.stdout + done.stderr]


def actionlint_errors(workflow: Path) -> list[str]:
    """actionlint (with shellcheck on PATH) on the workflow, inside a throwaway git repo."""
    with tempfile.TemporaryDirectory(prefix="actionlint-") as scratch:
        target = Path(scratch, ".github", "workflows", workflow.name)
        target.parent.mkdir(parents=True)
        shutil.copyfile(workflow, target)
        init = run(["git", "init", "-q", scratch])
        assert init.returncode == 0, init.stderr
        done = run([tool("actionlint"), "-no-color", "-verbose"], cwd=Path(scratch), env=tool_env())
    assert "shellcheck" not in _disabled_rules(done.stderr), "actionlint runs without shellcheck"
    if done.returncode == 0:
        return []
    return [line for line in done.stdout.splitlines() if line and not line.startswith(" ")]


def _disabled_rules(verbose: str) -> str:
    return "\n".join(line for line in verbose.splitlines() if "was disabled" in line)
