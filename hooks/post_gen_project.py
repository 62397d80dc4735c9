"""Remove what the answers switched off from the baked project, then print the next steps.

Cookiecutter runs this file as a script from inside the new project folder, after rendering
it with Jinja. As in ``pre_gen_project.py``, the only Jinja is the raw string
``ANSWERS_JSON``: Jinja's ``tojson`` filter fills it with the answers as JSON (apostrophes
escaped, so no answer can end the string), and the unrendered file stays valid Python that
tests load with ``importlib``. Standard library only: it runs in cookiecutter's interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

ANSWERS_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

#: An answer that, left empty (or "false"), switches off the files listed with it (paths are
#: relative to the project folder; the kustomization renders its resource list from the same
#: answers).
SWITCHES: dict[str, tuple[str, ...]] = {
    "ingress_host": ("argocd/manifests/ingress.yaml",),
    "retrain_schedule": ("argocd/manifests/cronjob-retrain.yaml",),
    "batch_schedule": ("argocd/manifests/cronjob-batch.yaml",),
    "service_monitor": ("argocd/manifests/servicemonitor.yaml",),
}


#: The example model each answer of `example` bakes: its files (training code, data, the
#: output hook, their tests; `{package}` is the package folder). The example's files are the
#: only ones a team replaces; everything else is the service and its tests.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "fraud": (
        "src/{package}/train.py", "src/{package}/data.py", "src/{package}/postprocess.py",
        "tests/model/test_train.py", "tests/model/test_postprocess.py",
        "tests/model/test_example_routes.py", "tests/model/test_retrain.py",
    ),
    "skeleton": ("src/{package}/train.py", "tests/model/test_train.py"),
}  # fmt: skip
#: Where the skeleton's files wait in the template until a bake that chooses it moves them.
SKELETON_SOURCES = {
    "src/{package}/train.py": "src/{package}/train_skeleton.py",
    "tests/model/test_train.py": "tests/model/test_train_skeleton.py",
}


def example_files(answers: Mapping[str, object]) -> list[str]:
    """The project-relative paths of the example model the answers chose."""
    package = str(answers["package"])
    return [path.format(package=package) for path in EXAMPLES[str(answers["example"])]]


def keep_chosen_example(project_dir: Path, answers: Mapping[str, object]) -> None:
    """Leave exactly the chosen example's files: the fraud demo's, or the skeleton's."""
    package = str(answers["package"])
    chosen = str(answers["example"])
    for path in {p for files in EXAMPLES.values() for p in files} - set(EXAMPLES[chosen]):
        (project_dir / path.format(package=package)).unlink(missing_ok=True)
    for target, source in SKELETON_SOURCES.items():
        waiting = project_dir / source.format(package=package)
        if chosen == "skeleton":
            waiting.replace(project_dir / target.format(package=package))
        else:
            waiting.unlink(missing_ok=True)


def is_off(answers: Mapping[str, object], answer: str) -> bool:
    return answers.get(answer) in (None, "", "false")


def switched_off(answers: Mapping[str, object]) -> list[str]:
    """The project-relative paths that ``answers`` switch off."""
    return [path for answer, paths in SWITCHES.items() if is_off(answers, answer) for path in paths]


def remove_switched_off(project_dir: Path, answers: Mapping[str, object]) -> list[str]:
    """Delete the switched-off files that exist under ``project_dir``; return those deleted."""
    removed = []
    for relative in switched_off(answers):
        path = project_dir / relative
        if path.is_file():
            path.unlink()
            removed.append(relative)
    return removed


def next_steps(answers: Mapping[str, object]) -> str:
    """What to do with the freshly baked project, as printed after baking."""
    project = answers["project"]
    off = [answer for answer in SWITCHES if is_off(answers, answer)]
    lines = [
        f"Baked {project}. Next steps:",
        f"  cd {project}",
        "  make install   # create .venv with uv",
        "  make train     # train the demo model and register it in ./mlflow.db",
        "  make serve     # serve it on http://127.0.0.1:8000 (try /docs)",
        "  make test      # run its tests",
        "Deploying to Kubernetes with Argo CD: see docs/deploy.md",
    ]
    if off:
        lines.append("Switched off (empty or false answer): " + ", ".join(off))
    return "\n".join(lines)


def lock_dependencies(project_dir: Path) -> str:
    """Write uv.lock (the image and CI install exactly it); say what happened, never fail."""
    if os.environ.get("MODELSHIP_SKIP_LOCK") == "1":
        return "uv.lock not written (MODELSHIP_SKIP_LOCK=1): run `uv lock` before the first push"
    uv = shutil.which("uv")
    command = [uv] if uv else [sys.executable, "-m", "uv"] if find_spec("uv") else None
    if command is None:
        return "uv not found: run `make install` (it installs uv and writes uv.lock)"
    print("Locking dependencies with uv (uv.lock)...", flush=True)
    done = subprocess.run(
        [*command, "lock", "--quiet"],
        check=False,
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        return (
            f"`uv lock` failed ({done.stderr.strip()[-300:]}): run it again before the first push"
        )
    return "uv.lock written"


def main(answers_json: str = ANSWERS_JSON) -> int:
    answers = json.loads(answers_json)
    remove_switched_off(Path.cwd(), answers)
    keep_chosen_example(Path.cwd(), answers)
    print(lock_dependencies(Path.cwd()))
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
