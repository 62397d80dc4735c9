"""The image-bump script CI runs after pushing an image: it changes the tag and nothing else."""

from __future__ import annotations

import difflib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bump_image_tag.py"
KUSTOMIZATION = ROOT / "argocd" / "manifests" / "kustomization.yaml"

_spec = importlib.util.spec_from_file_location("bump_image_tag", SCRIPT)
assert _spec and _spec.loader
bump_image_tag = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bump_image_tag)


def _changed(before: str, after: str) -> list[str]:
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return [line for line in diff if line[:2] in ("- ", "+ ")]


@pytest.fixture
def kustomization(tmp_path: Path) -> Path:
    copy = tmp_path / "kustomization.yaml"
    copy.write_text(KUSTOMIZATION.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def test_cli_changes_exactly_the_tag(kustomization: Path) -> None:
    before = kustomization.read_text(encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "sha-0123abc", "--file", str(kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    after = kustomization.read_text(encoding="utf-8")
    changed = _changed(before, after)
    assert len(changed) == 2, changed
    assert changed[0] == '-     newTag: "ci-must-set-this-tag"'
    assert changed[1] == '+     newTag: "sha-0123abc"'


def test_print_image_names_the_kustomization_image(kustomization: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--print-image", "--file", str(kustomization)],
        capture_output=True,
        text=True,
        check=True,
    )
    name = run.stdout.strip()
    assert name and ":" not in name
    assert f"name: {name}" in kustomization.read_text(encoding="utf-8")


SEVERAL = """\
resources:
  - deployment.yaml
images:
  - name: ghcr.io/acme/sidecar  # pinned by hand
    newTag: '1.2'
  - newTag: old   # the tag CI writes
    name: ghcr.io/acme/model
labels:
  - pairs:
      newTag: not-an-image
"""


def test_print_image_prefers_new_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kustomization = tmp_path / "kustomization.yaml"
    kustomization.write_text("images:\n  - name: app\n    newName: ghcr.io/acme/app\n")
    assert bump_image_tag.main(["--print-image", "--file", str(kustomization)]) == 0
    assert capsys.readouterr().out == "ghcr.io/acme/app\n"


def test_picks_the_named_image_and_keeps_comments() -> None:
    after = bump_image_tag.bump(SEVERAL, "2024", image="ghcr.io/acme/model")
    assert _changed(SEVERAL, after) == [
        "-   - newTag: old   # the tag CI writes",
        '+   - newTag: "2024"   # the tag CI writes',
    ]


@pytest.mark.parametrize(
    ("text", "tag", "image"),
    [
        (SEVERAL, "sha-1", None),  # two images and none named
        (SEVERAL, "sha-1", "ghcr.io/acme/missing"),
        ("images:\n  - name: x\n", "sha-1", None),  # no newTag line
        ("resources: []\n", "sha-1", None),
        (SEVERAL, "bad tag", "ghcr.io/acme/model"),
        (SEVERAL, "-leading-dash", "ghcr.io/acme/model"),
    ],
)
def test_refuses_what_it_cannot_do_exactly(text: str, tag: str, image: str | None) -> None:
    with pytest.raises(bump_image_tag.BumpError):
        bump_image_tag.bump(text, tag, image=image)


def test_cli_reports_errors_without_writing(kustomization: Path) -> None:
    before = kustomization.read_text(encoding="utf-8")
    code = bump_image_tag.main(["not a tag", "--file", str(kustomization)])
    assert code == 1
    assert kustomization.read_text(encoding="utf-8") == before
