"""Shape the model's raw output, one value per row, into what the API returns.

This is the place to turn a model's output into domain answers. `/invocations` never goes
through it (it answers exactly like `mlflow models serve`); `/predict` and `/predict/batch` do.
The demo model returns `predict_proba` rows `[p_legit, p_fraud]`, which become a fraud score.
Change `postprocess` for your own model; return JSON-ready values.
"""

from typing import Any

FRAUD_THRESHOLD = 0.5


def _fraud_score(row: list[float]) -> dict[str, Any]:
    probability = float(row[1])
    return {
        "is_fraud": probability >= FRAUD_THRESHOLD,
        "fraud_probability": round(probability, 6),
        "confidence": round(max(probability, 1.0 - probability), 6),
    }


def _is_binary_proba(row: Any) -> bool:
    return isinstance(row, list) and len(row) == 2 and all(isinstance(p, float) for p in row)


def postprocess(predictions: list[Any]) -> list[Any]:
    """Domain output for a batch of raw predictions (one entry per input row)."""
    if predictions and all(_is_binary_proba(row) for row in predictions):
        return [_fraud_score(row) for row in predictions]
    return predictions
