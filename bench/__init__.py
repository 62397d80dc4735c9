"""Benchmarks of the generated service against `mlflow models serve` (run: `python -m bench`)."""
