"""The baked `docs/deploy.md` of every answer set, followed as a new user would, offline.

Every `bash` block parses; the blocks that start with `# offline` run in a copy of the baked
repo (kubectl kustomize, kubernetes-validate, the image name); every file the guide names in
backticks exists in the baked repo (or, written `modelship:<path>`, in this template
repository), every environment variable it names is used by the repo, and every in-page
link leads to a heading. The checks are shown to catch a missing file and variable.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from gitops.repos import ANSWER_SETS, answers, baked
from gitops.tools import ROOT, kubectl, run, tool_env

GUIDE = Path("docs") / "deploy.md"
BLOCK = re.compile(r"^( *)```bash\n(.*?)^\1```", re.DOTALL | re.MULTILINE)
CODE = re.compile(r"`([^`\n]+)`")
FILE_SUFFIXES = (".py", ".yaml", ".yml", ".json", ".md", ".toml", ".lock")
VARIABLE = re.compile(r"^\$?\{?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|TMPDIR)\}?$")
SHELL_VARIABLE = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
#: Files the guide names that a command of the guide makes (`uv lock`), with no bake needed.
MADE_BY_THE_GUIDE = {"uv.lock"}


def shell_blocks(text: str) -> list[str]:
    """The bash blocks of a Markdown text, each without the indent of its fence."""
    blocks = []
    for indent, body in BLOCK.findall(text):
        blocks.append("".join(line.removeprefix(indent) for line in body.splitlines(True)))
    return blocks


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to '-'."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def guide_problems(text: str, repo: Path) -> list[str]:
    """Files and variables the guide names that the repo lacks, and links to no heading."""
    others = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in repo.rglob("*")
        if p.is_file() and p.relative_to(repo) != GUIDE
    )
    problems = []
    for token in CODE.findall(text):
        if token.startswith("modelship:"):
            if "<" not in token and not (ROOT / token.removeprefix("modelship:")).exists():
                problems.append(f"{token}: not in the template repository")
            continue
        variable = VARIABLE.match(token)
        if variable and variable[1] not in others:
            problems.append(f"{token}: a variable the repo never uses")
        domain = "." in token.split("/")[0].lstrip(".")  # ghcr.io/..., a host, not a file
        is_path = ("/" in token and not domain) or token.endswith(FILE_SUFFIXES)
        if not is_path or re.search(r"[\s<>{}@:=$*\[]", token) or token.startswith("/"):
            continue
        if token in MADE_BY_THE_GUIDE:
            continue
        found = (repo / token).exists() or ("/" not in token and any(repo.rglob(token)))
        if not found:
            problems.append(f"{token}: no such file in the baked repo")
    for block in shell_blocks(text):
        assigned = set(re.findall(r"(?:^|\s|export\s+)([A-Z][A-Z0-9_]*)=", block))
        for name in set(SHELL_VARIABLE.findall(block)) - assigned:
            if name not in others:
                problems.append(f"${name} in a shell block: a variable the repo never uses")
    headings = {_slug(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.MULTILINE)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        if anchor not in headings:
            problems.append(f"#{anchor}: a link to no heading")
    return problems


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_the_guide_names_only_what_exists(name: str) -> None:
    repo = baked(name)
    assert guide_problems((repo / GUIDE).read_text(encoding="utf-8"), repo) == []


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_every_shell_block_parses(name: str) -> None:
    blocks = shell_blocks((baked(name) / GUIDE).read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    for block in blocks:
        # <placeholders> are for the reader to fill in: parse what is left around them.
        done = run(["bash", "-n"], input=re.sub(r"<[^>\n]+>", "PLACEHOLDER", block))
        assert done.returncode == 0, f"{done.stderr}\n{block}"


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_the_offline_blocks_run_in_the_baked_repo(name: str, tmp_path: Path) -> None:
    repo = shutil.copytree(baked(name), tmp_path / "repo")
    offline = [b for b in shell_blocks((repo / GUIDE).read_text()) if b.startswith("# offline")]
    assert offline, "the guide has no block to check the manifests offline"
    env = tool_env()
    env["PATH"] = f"{Path(kubectl()).parent}{os.pathsep}{env['PATH']}"
    env["TMPDIR"] = str(tmp_path)
    for block in offline:
        done = run(["bash", "-euo", "pipefail", "-c", block], cwd=repo, env=env)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{block}"
    assert done.stdout.splitlines()[-1] == answers(name)["image"]
    assert not (run(["git", "status", "--porcelain"], cwd=repo).stdout.strip())


def test_a_missing_file_variable_or_anchor_is_caught() -> None:
    repo = baked("defaults")
    text = (repo / GUIDE).read_text()
    text += (
        "\nSee `argocd/manifests/missing.yaml`, `modelship:argocd/missing.yaml` and"
        " `NOT_A_SETTING_ANYWHERE`, or [there](#nowhere).\n"
        "```bash\necho $UNKNOWN_VARIABLE_X\n```\n"
    )
    assert guide_problems(text, repo) == [
        "argocd/manifests/missing.yaml: no such file in the baked repo",
        "modelship:argocd/missing.yaml: not in the template repository",
        "NOT_A_SETTING_ANYWHERE: a variable the repo never uses",
        "$UNKNOWN_VARIABLE_X in a shell block: a variable the repo never uses",
        "#nowhere: a link to no heading",
    ]
