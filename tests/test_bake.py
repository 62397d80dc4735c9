"""Baking with several answer sets: the exact files, nothing left unrendered, lint-clean code."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from baking import ANSWER_SETS, bake, import_hook_module

COMMON = {
    ".dockerignore", ".env.example", ".github/dependabot.yml", ".github/workflows/ci-cd.yml",
    ".gitignore", "Dockerfile",
    "Makefile", "README.md", "catalog-info.yaml", "docs/deploy.md", "pyproject.toml",
    "scripts/bump_image_tag.py",
    "argocd/app.json", "argocd/manifests/configmap.yaml",
    "argocd/manifests/deployment.yaml", "argocd/manifests/hpa.yaml",
    "argocd/manifests/kustomization.yaml", "argocd/manifests/networkpolicy.yaml",
    "argocd/manifests/pdb.yaml", "argocd/manifests/service.yaml",
    "argocd/manifests/serviceaccount.yaml",
    "tests/__init__.py", "tests/conftest.py", "tests/model/__init__.py",
    "tests/service/__init__.py", "tests/service/conftest.py", "tests/service/models.py",
    "tests/service/test_microbatch.py", "tests/service/test_microbatch_policy.py",
    "tests/service/test_bump_image_tag.py", "tests/service/test_docs.py",
    "tests/service/test_errors.py", "tests/service/test_hostile_input.py",
    "tests/service/test_invocations.py", "tests/service/test_limits.py",
    "tests/service/test_micro_batching.py", "tests/service/test_model.py",
    "tests/service/test_readme.py", "tests/service/test_register.py",
    "tests/service/test_routes.py", "tests/service/test_s3.py",
    "tests/service/test_schema.py", "tests/service/test_score_files.py",
    "tests/service/test_serve.py", "tests/service/test_settings.py",
}  # fmt: skip
#: The service's modules (the example's files come from the hook's EXAMPLES).
MODULES = (
    "__init__", "api", "card", "errors", "http_limits", "logs", "metrics", "microbatch",
    "model", "outputs", "predictor", "register", "responses", "schema", "score_files", "serve",
    "settings", "training_data", "validation", "routes/__init__", "routes/health",
    "routes/invocations", "routes/predict",
)  # fmt: skip
POST_GEN = import_hook_module("post_gen_project")


def expected_files(answers: dict[str, str]) -> set[str]:
    package = answers.get("package", answers.get("project", "fraud-detector").replace("-", "_"))
    files = COMMON | {f"src/{package}/{module}.py" for module in MODULES}
    files |= set(POST_GEN.example_files({"package": package, "example": "fraud"} | answers))
    switchable = set(POST_GEN.switched_off(dict.fromkeys(POST_GEN.SWITCHES)))
    return files | (switchable - set(POST_GEN.switched_off(answers)))


@pytest.fixture(scope="module", params=list(ANSWER_SETS))
def baked(request, tmp_path_factory) -> tuple[dict[str, str], Path]:
    answers = ANSWER_SETS[request.param]
    return answers, bake(tmp_path_factory.mktemp(request.param), **answers)


def test_exactly_the_expected_files(baked) -> None:
    answers, project = baked
    found = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert found == expected_files(answers)


def test_nothing_left_unrendered(baked) -> None:
    _, project = baked
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "cookiecutter." not in text, path
            assert "{%" not in text, path


def test_data_files_parse_and_carry_the_answers(baked) -> None:
    answers, project = baked
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["name"] == answers.get("project", "fraud-detector")
    if "description" in answers:
        assert meta["description"] == answers["description"]
    for path in project.rglob("*.y*ml"):
        assert list(yaml.safe_load_all(path.read_text(encoding="utf-8"))), path


def test_baked_code_passes_its_own_ruff(baked) -> None:
    _, project = baked
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run(
        [*ruff, "check", "."], check=False, cwd=project, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [*ruff, "format", "--check", "."], check=False, cwd=project, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout


def test_settings_defaults_come_from_the_answers(baked) -> None:
    answers, project = baked
    settings = (project / "src").glob("*/settings.py")
    text = next(settings).read_text(encoding="utf-8")
    assert f"WORKERS = {answers.get('workers', '2')}" in text
    assert f"MAX_REQUEST_ROWS = {answers.get('max_batch_rows', '1000')}" in text
    name = answers.get("mlflow_model_name", answers.get("project", "fraud-detector"))
    assert re.search(rf'^MODEL_NAME = "{re.escape(name)}"$', text, flags=re.MULTILINE)


def test_default_description_is_neutral(tmp_path) -> None:
    readme = (bake(tmp_path) / "README.md").read_text().lower()
    assert "fraud" not in readme.split("\n\n", 2)[1]
