"""Validate every answer before cookiecutter writes a single file of the project.

Cookiecutter runs this file as a script after rendering it with Jinja. On a bad answer it
prints one line per problem to stderr, naming the answer, the value and what is allowed, and
exits 1; cookiecutter then stops and removes the (still empty) project folder it created.
The rules themselves are in ``answer_rules.py`` (and the formats they parse in
``answer_formats.py``) beside this file; cookiecutter runs only the files of ``hooks/`` named
after a hook, so it leaves those two alone.

How the answers get in, and how the rules are found
---------------------------------------------------
The only Jinja in this file is the raw string ``ANSWERS_JSON`` below, delimited by three
apostrophes. Cookiecutter fills it with every answer as JSON through Jinja's ``tojson``
filter, which writes every apostrophe (and ``<``, ``>``, ``&``) as a ``\\u00XX`` escape:
no answer (quotes, apostrophes, backslashes, unicode, triple quotes) can end the string
early, the raw string keeps JSON's backslash escapes as they are, and ``json.loads`` turns
it back into exactly the answers that were given. Unrendered, the file is still plain
valid Python (the placeholder is just a string), so the tests import it as it is.

Cookiecutter runs the rendered copy from a temporary file, so this file cannot find its
neighbours from its own path. The answers carry ``_repo_dir``, the template folder, which
cookiecutter sets in the context of every run (command line and API alike), but as it was
given: ``cookiecutter .`` gives ``"."``, relative to the folder cookiecutter started in,
while the hook runs inside the new project folder. A relative ``_repo_dir`` is therefore
taken from where cookiecutter itself runs its hooks, inside the template folder (its working
directory, read from ``/proc`` on Linux), then from ``$PWD``. Without ``_repo_dir`` (the
unrendered file, as the tests load it) the rules are those beside this file. The hook runs in
cookiecutter's own interpreter, so it uses the standard library only.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

ANSWERS_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

RULES_MODULE = "answer_rules"


def hooks_dir_candidates(answers: Mapping[str, object]) -> list[Path]:
    """The folders that may be the template's ``hooks/``, most trustworthy first."""
    repo_dir = answers.get("_repo_dir")
    if not isinstance(repo_dir, str) or not repo_dir:
        return [Path(__file__).resolve().parent]
    if Path(repo_dir).is_absolute():
        return [Path(repo_dir) / "hooks"]
    candidates = []
    cookiecutter_cwd = Path(f"/proc/{os.getppid()}/cwd")
    if cookiecutter_cwd.exists():
        candidates.append(cookiecutter_cwd.resolve() / "hooks")
    if os.environ.get("PWD"):
        candidates.append(Path(os.environ["PWD"], repo_dir).resolve() / "hooks")
    return candidates


def template_hooks_dir(answers: Mapping[str, object]) -> Path | None:
    """The template's ``hooks/`` folder (the one holding the rules), or None if not found."""
    for folder in hooks_dir_candidates(answers):
        if (folder / f"{RULES_MODULE}.py").is_file():
            return folder
    return None


def load_rules(hooks_dir: Path) -> ModuleType:
    """Import ``answer_rules`` (and the modules it imports) from ``hooks_dir``."""
    if str(hooks_dir) not in sys.path:
        sys.path.insert(0, str(hooks_dir))
    return importlib.import_module(RULES_MODULE)


def main(answers_json: str = ANSWERS_JSON) -> int:
    answers = json.loads(answers_json)
    hooks_dir = template_hooks_dir(answers)
    if hooks_dir is None:
        print(
            f"cannot find {RULES_MODULE}.py in the hooks/ folder of the template "
            f"(_repo_dir={answers.get('_repo_dir')!r}); give cookiecutter the template's "
            "absolute path",
            file=sys.stderr,
        )
        return 1
    return 1 if load_rules(hooks_dir).report_problems(answers) else 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True  # leave no __pycache__ in the template's hooks/ folder
    sys.exit(main())
