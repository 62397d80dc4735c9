"""The example's answers: the fraud model's `predict_proba` rows become a fraud score.

Part of the example model (with `train.py` and `data.py`): `/predict`, `/predict/batch` and the
scoring job pass each row of the model's output through `postprocess` (see `outputs.py`).
Replace it for your own model, returning JSON-ready values, or delete this file to answer the
model's output as it is.
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
