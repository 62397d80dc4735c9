"""Tests of the template's hooks as cookiecutter runs them: the hook files, the
pre-generation hook finding its rules, rejection before anything is written, awkward but
valid answers that must bake into parseable files, and the post-generation removals.

The hook files are imported as they are in the repository: their only Jinja is the string
``ANSWERS_JSON``, so unrendered they are plain Python modules (see their docstrings). The
rules they apply are unit-tested in ``test_answer_rules.py``.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from baking import HOOKS_DIR, TEMPLATE_DIR, bake, bake_command, default_answers, import_hook_module
from cookiecutter.exceptions import FailedHookException
from cookiecutter.hooks import find_hook
from cookiecutter.utils import work_in

pre = import_hook_module("pre_gen_project")
post = import_hook_module("post_gen_project")
rules = import_hook_module("answer_rules")

HOOK_NAMES = ("pre_prompt", "pre_gen_project", "post_gen_project")

# --------------------------------------------------------------------------- the hook files


@pytest.mark.parametrize("name", ["pre_gen_project", "post_gen_project"])
def test_the_only_jinja_in_a_hook_is_the_answers_string(name: str) -> None:
    source = (TEMPLATE_DIR / "hooks" / f"{name}.py").read_text(encoding="utf-8")
    jinja_lines = [line for line in source.splitlines() if re.search(r"\{\{|\{%|\{#", line)]
    assert jinja_lines == ["ANSWERS_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip"]


@pytest.mark.parametrize(
    "name", ["answer_rules", "answer_formats", "resource_rules", "network_rules"]
)
def test_the_rule_modules_have_no_jinja(name: str) -> None:
    source = (HOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert not re.search(r"\{\{|\{%|\{#", source)


def test_cookiecutter_runs_only_the_files_named_after_a_hook() -> None:
    with work_in(TEMPLATE_DIR):
        found = {name: find_hook(name) for name in HOOK_NAMES}
    assert found == {
        "pre_prompt": None,
        "pre_gen_project": [str(HOOKS_DIR / "pre_gen_project.py")],
        "post_gen_project": [str(HOOKS_DIR / "post_gen_project.py")],
    }


def test_the_rules_are_found_through_repo_dir_or_beside_the_unrendered_hook() -> None:
    assert pre.template_hooks_dir({}) == HOOKS_DIR
    assert pre.template_hooks_dir({"_repo_dir": str(TEMPLATE_DIR)}) == HOOKS_DIR


def test_main_fails_when_the_rules_cannot_be_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {**default_answers(), "_repo_dir": str(tmp_path)}
    assert pre.main(json.dumps(answers)) == 1
    assert "cannot find answer_rules.py" in capsys.readouterr().err


def test_main_prints_the_problems_to_stderr_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    bad = default_answers(project="x" * 41, workers="0")
    assert pre.main(json.dumps(bad)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"invalid answer project='{'x' * 41}': ")
    assert lines[1] == "invalid answer workers='0': must be a whole number from 1 to 32"
    assert lines[2] == "2 invalid answer(s); nothing was generated."


def test_main_is_silent_on_valid_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert pre.main(json.dumps(default_answers())) == 0
    assert capsys.readouterr() == ("", "")


# ------------------------------------------------------------------- real cookiecutter runs

BAD_ANSWER_SETS = [
    ({"project": "Fraud_Detector"}, "invalid answer project='Fraud_Detector': must be"),
    ({"project": "x" * 41}, "at most 40 characters"),
    ({"package": "json"}, "invalid answer package='json': shadows the standard-library"),
    ({"cpu_request": "2", "cpu_limit": "1"}, "invalid answer cpu_limit='1': must be at least"),
    ({"memory": "1GB"}, "invalid answer memory='1GB': must be a Kubernetes quantity"),
    ({"retrain_schedule": "0 25 * * *"}, "invalid answer retrain_schedule='0 25 * * *'"),
    ({"price_per_call": "-0.1"}, "invalid answer price_per_call='-0.1': must be"),
    ({"git_repo_url": "git@github.com:acme/x.git"}, "must be an https:// URL"),
    ({"image": "ghcr.io/acme/x:v1"}, "invalid answer image='ghcr.io/acme/x:v1': has a tag"),
    ({"mlflow_model_alias": "latest"}, "invalid answer mlflow_model_alias='latest'"),
    ({"description": "It's fine but \x1b[31m red"}, "control character"),
    ({"namespace": "Models"}, "invalid answer namespace='Models': must be a Kubernetes namespace"),
]


BAD_IDS = ["+".join(answers) for answers, _ in BAD_ANSWER_SETS]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWER_SETS, ids=BAD_IDS)
def test_baking_rejects_bad_answers_and_writes_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str], message: str
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, **answers)
    err = capfd.readouterr().err  # the hook runs in a child process: capture at fd level
    assert message in err
    assert "nothing was generated" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWER_SETS[:3], ids=BAD_IDS[:3])
def test_the_cookiecutter_command_exits_non_zero_and_writes_nothing(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    result = bake_command(tmp_path, **answers)
    assert result.returncode == 1
    assert message in result.stderr
    assert "nothing was generated" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr  # the list and the exit code only
    assert list(tmp_path.iterdir()) == []


def test_every_bad_answer_is_reported_in_one_run(tmp_path: Path) -> None:
    answers = {"project": "x" * 41, "workers": "0", "price_per_row": "free", "ingress_host": "x"}
    result = bake_command(tmp_path, **answers)
    assert result.returncode != 0
    reported = re.findall(r"^invalid answer (\w+)=", result.stderr, flags=re.MULTILINE)
    assert reported == ["project", "ingress_host", "workers", "price_per_row"]
    assert list(tmp_path.iterdir()) == []


def test_a_relative_template_path_finds_the_rules(tmp_path: Path) -> None:
    # cookiecutter passes _repo_dir as typed ("."): relative to where it started, not to the
    # project folder the hook runs in.
    bad = bake_command(tmp_path, template=".", cwd=TEMPLATE_DIR, project="bad_slug")
    assert bad.returncode != 0
    assert "invalid answer project='bad_slug'" in bad.stderr
    assert list(tmp_path.iterdir()) == []
    good = bake_command(tmp_path, template=".", cwd=TEMPLATE_DIR, project="credit-scorer")
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "credit-scorer" / "pyproject.toml").is_file()


def test_cookiecutter_itself_rejects_a_choice_outside_the_list(tmp_path: Path) -> None:
    result = bake_command(tmp_path, visibility="secret")
    assert result.returncode != 0
    assert "choices are ['public', 'private']" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_slug_with_a_slash_leaves_no_file(tmp_path: Path) -> None:
    # The answers are checked while cookiecutter collects them (hooks/answer_check.py), before
    # it creates the project folder (parents included) that its hook would run in.
    result = bake_command(tmp_path, project="a/b")
    assert result.returncode != 0
    assert "invalid answer project='a/b'" in result.stderr
    assert list(tmp_path.rglob("*")) == []


AWKWARD_DESCRIPTIONS = [
    "It's \"quoted\", 'single', ''' and \"\"\" triple",
    "Back\\slashes \\n \\\\ \\u0041 and a trailing one \\",
    "Ünïcødé — “typographic” ‘quotes’, 中文, emoji 🚀🤖, <b>&amp;</b>",
    "YAML-ish: - [a, b] {c: d} # not a comment, *alias &anchor !tag | > % @ `",
    'TOML-ish = [1] key.value = \'x\' """',
]


def yaml_strings(node: object) -> list[str]:
    """Every string (keys and values) of a parsed YAML document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in yaml_strings(key) + yaml_strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in yaml_strings(item)]
    return []


@pytest.mark.parametrize(
    "description", AWKWARD_DESCRIPTIONS, ids=["quotes", "backslashes", "unicode", "yaml", "toml"]
)
def test_awkward_descriptions_bake_into_parseable_files(tmp_path: Path, description: str) -> None:
    project = bake(tmp_path, description=description)

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description

    yaml_files = sorted(project.rglob("*.yaml")) + sorted(project.rglob("*.yml"))
    assert yaml_files
    carried = []
    for path in yaml_files:
        strings = [
            s
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
            for s in yaml_strings(doc)
        ]
        # Wherever the description shows up, even inside a longer text, it is whole.
        partial = [s for s in strings if description[:12] in s and description not in s]
        assert partial == [], f"{path.relative_to(project)} carries a damaged description"
        if any(description in s for s in strings):
            carried.append(path.relative_to(project).as_posix())
    assert "catalog-info.yaml" in carried

    for path in sorted(project.rglob("*.py")):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_other_awkward_but_valid_answers_bake(tmp_path: Path) -> None:
    answers = {
        "project": "x" * 40,
        "package": "x_model",
        "owner": "risk.ml_team-2",
        "github_org": "Acme-Corp",
        "mlflow_model_alias": "prod_eu-1",
        "ingress_host": "x.models.example.com",
        "retrain_schedule": "30 2 * * MON-FRI",
        "batch_schedule": "@daily",
        "price_per_call": "0.000001",
        "visibility": "private",
    }
    project = bake(tmp_path, **answers)
    assert project.name == "x" * 40
    for path in sorted((project / "argocd").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict) or "kind" not in doc:
                continue
            name = doc.get("metadata", {}).get("name", "")
            limit = rules.CRONJOB_NAME_MAX if doc["kind"] == "CronJob" else rules.K8S_NAME_MAX
            assert len(name) <= limit, f"{path.name}: {doc['kind']} {name!r} is too long"


# ------------------------------------------------------------------- post-generation removals

SWITCHABLE = {
    "ingress_host": ("fraud.models.example.com", "argocd/manifests/ingress.yaml"),
    "retrain_schedule": ("0 3 * * sun", "argocd/manifests/cronjob-retrain.yaml"),
    "batch_schedule": ("@hourly", "argocd/manifests/cronjob-batch.yaml"),
    "service_monitor": ("true", "argocd/manifests/servicemonitor.yaml"),
}
OFF = {"service_monitor": "false"}  # a choice, not a text that may be empty


def test_switched_off_lists_the_files_of_empty_answers() -> None:
    assert post.switched_off({"ingress_host": "", "retrain_schedule": "@daily"}) == [
        "argocd/manifests/ingress.yaml",
        "argocd/manifests/cronjob-batch.yaml",
        "argocd/manifests/servicemonitor.yaml",
    ]
    assert "argocd/manifests/servicemonitor.yaml" in post.switched_off(OFF)
    assert post.switched_off({key: on for key, (on, _) in SWITCHABLE.items()}) == []


def test_remove_switched_off_deletes_only_existing_switched_off_files(tmp_path: Path) -> None:
    manifests = tmp_path / "argocd" / "manifests"
    manifests.mkdir(parents=True)
    for name in ("ingress.yaml", "cronjob-retrain.yaml", "deployment.yaml"):
        (manifests / name).write_text("kind: X\n", encoding="utf-8")
    answers = {"ingress_host": "", "retrain_schedule": "@daily", "batch_schedule": ""}
    # cronjob-batch.yaml is switched off too but missing: that is fine.
    assert post.remove_switched_off(tmp_path, answers) == ["argocd/manifests/ingress.yaml"]
    assert sorted(p.name for p in manifests.iterdir()) == [
        "cronjob-retrain.yaml",
        "deployment.yaml",
    ]


def test_next_steps_name_the_commands_and_the_deploy_guide() -> None:
    text = post.next_steps(
        {
            "project": "credit-scorer",
            "ingress_host": "",
            "retrain_schedule": "",
            "batch_schedule": "@daily",
        }
    )
    for expected in (
        "cd credit-scorer",
        "make install",
        "make train",
        "make serve",
        "docs/deploy.md",
    ):
        assert expected in text
    assert "Switched off (empty or false answer): ingress_host, retrain_schedule" in text


SWITCH_SETS = [
    {},
    {"ingress_host"},
    {"retrain_schedule"},
    {"batch_schedule"},
    set(SWITCHABLE),
]


@pytest.mark.parametrize("on", SWITCH_SETS, ids=lambda on: "+".join(sorted(on)) or "all-off")
def test_baking_removes_what_the_answers_switched_off(tmp_path: Path, on: set[str]) -> None:
    answers = {
        key: value if key in on else OFF.get(key, "") for key, (value, _) in SWITCHABLE.items()
    }
    project = bake(tmp_path, **answers)
    for key, (_, relative) in SWITCHABLE.items():
        assert (project / relative).is_file() == (key in on), relative
    kustomization = project / "argocd" / "manifests" / "kustomization.yaml"
    if kustomization.is_file():
        resources = yaml.safe_load(kustomization.read_text(encoding="utf-8"))["resources"]
        missing = [r for r in resources if not (kustomization.parent / r).exists()]
        assert missing == [], "kustomization.yaml lists removed files"


def test_cookiecutter_prints_the_next_steps(tmp_path: Path) -> None:
    result = bake_command(tmp_path, project="credit-scorer")
    assert result.returncode == 0, result.stderr
    assert "cd credit-scorer" in result.stdout
    assert "docs/deploy.md" in result.stdout
    assert (tmp_path / "credit-scorer").is_dir()
