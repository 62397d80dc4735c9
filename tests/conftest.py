"""Session-wide set-up of the template tests."""

import os

# Bakes skip `uv lock` unless a test asks for it (the tests that run a baked repo's own suite).
os.environ.setdefault("MODELSHIP_SKIP_LOCK", "1")
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
