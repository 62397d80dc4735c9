"""The platform's tests."""

import sys
from pathlib import Path

#: The ``modelship`` console script of the environment the tests run in.
SCRIPT = Path(sys.executable).parent / "modelship"
