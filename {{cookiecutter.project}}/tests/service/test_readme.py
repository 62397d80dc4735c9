"""The README documents every setting, route and make target (one source of truth: the code)."""

import re
from pathlib import Path

from {{ cookiecutter.package }}.api import route_paths
from {{ cookiecutter.package }}.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, name


def test_every_make_target_is_in_the_readme() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][\w-]*):", makefile, flags=re.MULTILINE)
    assert targets
    for target in targets:
        assert f"`make {target}" in README, target


def test_every_route_is_in_the_readme(classifier_client) -> None:
    paths = route_paths(classifier_client.app) - {"/docs/oauth2-redirect"}
    assert {"/predict", "/invocations", "/health/ready", "/metrics", "/docs"} <= paths
    for path in paths:
        assert f"{path}`" in README, path


def test_every_setting_is_in_the_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert re.search(rf"^#? ?{name.upper()}=", example, flags=re.MULTILINE), name
