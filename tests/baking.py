"""Bake the modelship template from tests.

``bake`` is the one way the template tests generate a project: cookiecutter's own API, no
prompts, hooks on, every answer not given keeping its default from ``cookiecutter.json``.
``bake_command`` runs the real ``cookiecutter`` command line instead, for tests that need
its exit status and what it printed (a rejected answer, the next steps).

Both are hermetic: they ignore any user configuration (``~/.cookiecutterrc``,
``COOKIECUTTER_CONFIG``) and put cookiecutter's replay file in a throwaway folder, so a test
writes nothing outside the folder it passes in.

``import_hook_module`` imports a file of ``hooks/`` as it is in the repository (the hooks'
only Jinja is a string, so unrendered they are plain Python), and ``default_answers`` gives
the answers a bake with no input starts from.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

#: The template repository: the folder holding cookiecutter.json and hooks/.
TEMPLATE_DIR = Path(__file__).resolve().parents[1]
HOOKS_DIR = TEMPLATE_DIR / "hooks"


#: The answer sets every template test bakes: together they switch every conditional part of
#: the template on and off (Ingress, GPU, both schedules, the ServiceMonitor, in-cluster and
#: external MLflow, public and private egress, both examples) and try awkward text.
ANSWER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "everything-on": {
        "project": "credit-scorer",
        "ingress_host": "credit.models.example.com",
        "gpu_count": "1",
        "retrain_schedule": "0 3 * * 0",
        "batch_schedule": "*/30 * * * *",
        "visibility": "private",
        "replicas": "3",
        "mlflow_tracking_uri": "https://mlflow.example.com",
        # MLflow and a cloud object store outside the cluster: public addresses only.
        "mlflow_namespace": "",
        "artifact_store_namespace": "",
        "egress_cidrs": "0.0.0.0/0,203.0.113.10/32",
        "service_monitor": "true",
        "monitoring_namespace": "observability",
        "workers": "4",
        "max_batch_rows": "10",
        "example": "skeleton",
    },
    "retrain-only": {
        "project": "churn-model",
        "namespace": "models-churn",
        "retrain_schedule": "15 2 * * *",
        "replicas": "1",
        "gpu_count": "2",
        "cpu_request": "250m",
        "memory": "512Mi",
        "download_size": "10Gi",
    },
    "batch-and-ingress": {
        "project": "o-brien-scorer",
        "description": "Scores \"tricky\" rows: O'Brien's ünïcode model",
        "ingress_host": "scorer.example.org",
        "batch_schedule": "0 * * * *",
        "mlflow_tracking_uri": "http://mlflow.tracking:8080",
        "mlflow_namespace": "tracking",
        "mlflow_pod_labels": "app=mlflow,tier=server",
        "artifact_store_namespace": "storage",
        "artifact_store_port": "9900",
        # An on-premises endpoint on a private address, allowed explicitly.
        "egress_cidrs": "10.20.30.0/24",
        "egress_private_allowed": "true",
    },
    "awkward": {
        "project": "x9",
        "package": "churn_model_v2",
        "description": "Ça \"marche\" — l'équipe's model \\ with {braces} & ünïcödé 🚀",
        "mlflow_model_name": "churn.model_v2",
        "owner": "data.science",
        "batch_schedule": "*/15 1-5 * * mon-fri",
    },
}


def import_hook_module(name: str) -> ModuleType:
    """Import ``hooks/<name>.py`` unrendered, with ``hooks/`` on ``sys.path`` as the
    pre-generation hook puts it (``answer_rules`` imports ``answer_formats`` by name)."""
    if str(HOOKS_DIR) not in sys.path:
        sys.path.insert(0, str(HOOKS_DIR))
    return importlib.import_module(name)


def default_answers(**overrides: str) -> dict[str, str]:
    """The answers cookiecutter.json gives with no input (its Jinja defaults rendered)."""
    context = generate_context(
        context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=overrides
    )
    # Not checked on the way: tests hand invalid answers to the rules themselves.
    context["cookiecutter"].pop("__answers_checked")
    answers = prompt_for_config(context, no_input=True)
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def bake(tmp_path: Path, **answers: str) -> Path:
    """Bake the template into ``tmp_path`` with ``answers`` and return the project folder.

    For example ``bake(tmp_path, project="credit-scorer", ingress_host="cs.example.com")``
    returns ``tmp_path / "credit-scorer"``.

    ``tmp_path`` must not already hold a folder named like the project. A rejected answer
    raises ``cookiecutter.exceptions.FailedHookException`` (the pre-generation hook printed
    the reasons to stderr) and leaves ``tmp_path`` as it was.
    """
    with tempfile.TemporaryDirectory(prefix="cookiecutter-") as scratch:
        config = {"replay_dir": scratch, "cookiecutters_dir": scratch}
        project_dir = cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context=answers,
            output_dir=str(tmp_path),
            default_config=config,
        )
    return Path(project_dir)


def bake_command(
    output_dir: Path, *, template: str = str(TEMPLATE_DIR), cwd: Path | None = None, **answers: str
) -> subprocess.CompletedProcess[str]:
    """Run ``cookiecutter --no-input <template> key=value ...`` into ``output_dir``.

    Returns the finished process (``returncode``, ``stdout``, ``stderr`` as text) without
    raising on failure. The command runs with this interpreter (``python -m cookiecutter``),
    from ``cwd`` when given (for a relative ``template`` such as ``"."``).
    """
    with tempfile.TemporaryDirectory(prefix="cookiecutter-") as scratch:
        config_file = Path(scratch, "config.yaml")
        # JSON is YAML: quoting the folder this way is safe for any path.
        config_file.write_text(
            "\n".join(
                f"{key}: {json.dumps(scratch)}" for key in ("replay_dir", "cookiecutters_dir")
            ),
            encoding="utf-8",
        )
        command = [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--config-file",
            str(config_file),
            "--output-dir",
            str(output_dir),
            template,
            *(f"{key}={value}" for key, value in answers.items()),
        ]
        return subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=120, cwd=cwd
        )
