"""Remove what the answers switched off from the baked project, then print the next steps.

Cookiecutter runs this file as a script from inside the new project folder, after rendering
it with Jinja. As in ``pre_gen_project.py``, the only Jinja is the raw string
``ANSWERS_JSON``: Jinja's ``tojson`` filter fills it with the answers as JSON (apostrophes
escaped, so no answer can end the string), and the unrendered file stays valid Python that
tests load with ``importlib``. Standard library only: it runs in cookiecutter's interpreter.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

ANSWERS_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

#: An answer that, left empty, switches off the files listed with it (paths are relative
#: to the project folder; the kustomization renders its resource list from the same answers).
SWITCHES: dict[str, tuple[str, ...]] = {
    "ingress_host": ("argocd/manifests/ingress.yaml",),
    "retrain_schedule": ("argocd/manifests/cronjob-retrain.yaml",),
    "batch_schedule": ("argocd/manifests/cronjob-batch.yaml",),
}


def switched_off(answers: Mapping[str, object]) -> list[str]:
    """The project-relative paths that ``answers`` switch off."""
    return [path for answer, paths in SWITCHES.items() if not answers.get(answer) for path in paths]


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
    off = [answer for answer in SWITCHES if not answers.get(answer)]
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
        lines.append("Switched off (empty answer): " + ", ".join(off))
    return "\n".join(lines)


def main(answers_json: str = ANSWERS_JSON) -> int:
    answers = json.loads(answers_json)
    remove_switched_off(Path.cwd(), answers)
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
