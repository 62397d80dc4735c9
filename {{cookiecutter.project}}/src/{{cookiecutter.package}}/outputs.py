"""What `/predict`, `/predict/batch` and the offline scoring job answer for the model's output.

The model's raw output is cut into one JSON-ready value per row (`schema.predictions_to_rows`).
A repo may shape those values into domain answers with its own module `postprocess.py` in this
package, a function `postprocess(rows: list) -> list` (one value in, one value out, per row);
without that file the rows are answered as the model gave them. `/invocations` never goes
through it: it answers exactly like `mlflow models serve`.
"""

import importlib
from collections.abc import Callable
from typing import Any

from .schema import predictions_to_rows

HOOK = f"{__package__}.postprocess"


def _load_hook() -> Callable[[list[Any]], list[Any]] | None:
    try:
        module = importlib.import_module(HOOK)
    except ModuleNotFoundError as error:
        if error.name != HOOK:  # the hook exists but imports something missing: say so
            raise
        return None
    return module.postprocess


_hook = _load_hook()


def answer_rows(raw: Any) -> list[Any]:
    """One answer per input row: the model's output, through the repo's hook when it has one."""
    rows = predictions_to_rows(raw)
    return _hook(rows) if _hook is not None else rows
