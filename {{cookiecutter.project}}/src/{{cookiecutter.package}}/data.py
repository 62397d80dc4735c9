"""Synthetic card transactions for the demo fraud model (no download, reproducible by seed)."""

import numpy as np
import pandas as pd

MERCHANT_CATEGORIES = ("grocery", "electronics", "travel", "restaurant", "gaming", "fuel")
_CATEGORY_RISK = dict(zip(MERCHANT_CATEGORIES, (-1.0, 0.8, 0.6, -0.6, 1.2, -0.3), strict=True))


def make_transactions(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Transactions and an `is_fraud` label that depends on amount, hour, category and balance."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3.5, 1.2, rows).round(2),
            "merchant_category": rng.choice(MERCHANT_CATEGORIES, rows),
            "hour": rng.integers(0, 24, rows),
            "day_of_week": rng.integers(0, 7, rows),
            "user_age": rng.integers(18, 90, rows),
            "account_balance": rng.gamma(2.0, 1500.0, rows).round(2),
        }
    )
    night = ((frame["hour"] < 6) | (frame["hour"] > 22)).astype(float)
    logit = (
        -5.5
        + 1.1 * np.log1p(frame["amount"]) / np.log1p(frame["amount"]).std()
        + 1.3 * night
        + frame["merchant_category"].map(_CATEGORY_RISK)
        + 0.8 * (frame["amount"] > frame["account_balance"]).astype(float)
        - 0.01 * (frame["user_age"] - 40)
    )
    label = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return frame, pd.Series(label.astype(int), name="is_fraud")
