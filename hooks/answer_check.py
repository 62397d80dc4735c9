"""Check the answers while cookiecutter collects them, before it creates anything.

``cookiecutter.json`` lists this Jinja extension in ``_extensions`` and renders its last
private variable, ``__answers_checked``, through the filter ``modelship_check_answers``: by
then every answer is known. A bad answer prints one line per problem (the rules of
``answer_rules.py``) and stops cookiecutter with its ``FailedHookException``, which the
command line reports in one line with exit status 1. The pre-generation hook checks the same
answers with the same rules again, but cookiecutter logs a failing hook with a traceback, so
that is the second line of defence (for replays), not the first.

Cookiecutter imports this module from the template folder (``hooks.answer_check``), in its
own interpreter: standard library and what cookiecutter itself depends on (Jinja2) only.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

HOOKS_DIR = Path(__file__).resolve().parent


def check_answers(answers: Mapping[str, object]) -> str:
    """Say "ok" to valid answers; otherwise print each problem and stop the generation."""
    if str(HOOKS_DIR) not in sys.path:
        sys.path.insert(0, str(HOOKS_DIR))
    import answer_rules

    if not answer_rules.report_problems(answers):
        return "ok"
    from cookiecutter.exceptions import FailedHookException

    raise FailedHookException("cookiecutter stopped on the answers above (exit status 1)")


class AnswerCheck(Extension):
    """Adds the filter ``modelship_check_answers`` to cookiecutter's Jinja environment."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["modelship_check_answers"] = check_answers
