"""The training entrypoint logs, registers and sets the alias; retraining adds a version."""

import mlflow
import numpy as np

from {{ cookiecutter.package }}.data import MERCHANT_CATEGORIES, make_transactions
from {{ cookiecutter.package }}.train import main


def test_train_registers_a_model_with_signature_example_and_alias(tracking_uri, capsys) -> None:
    main(["--tracking-uri", tracking_uri, "--model-name", "retrained", "--alias", "champion",
          "--rows", "400", "--trees", "4"])  # fmt: skip
    main(["--tracking-uri", tracking_uri, "--model-name", "retrained", "--alias", "challenger",
          "--rows", "400", "--trees", "4", "--seed", "1"])  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1] == "models:/retrained@challenger"
    client = mlflow.MlflowClient(tracking_uri)
    assert str(client.get_model_version_by_alias("retrained", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("retrained", "challenger").version) == "2"
    model = mlflow.pyfunc.load_model("models:/retrained@challenger")
    assert model.metadata.signature.inputs.input_names() == [
        "amount", "merchant_category", "hour", "day_of_week", "user_age", "account_balance",
    ]  # fmt: skip
    assert model.input_example is not None
    run = client.get_run(client.get_model_version("retrained", "2").run_id)
    assert run.data.metrics["roc_auc"] > 0.6


def test_synthetic_data_is_reproducible_and_plausible() -> None:
    first, label = make_transactions(500, seed=3)
    second, _ = make_transactions(500, seed=3)
    assert first.equals(second)
    assert set(first["merchant_category"]) <= set(MERCHANT_CATEGORIES)
    assert first["hour"].between(0, 23).all() and (first["amount"] > 0).all()
    assert 0.05 < label.mean() < 0.5 and np.isin(label, [0, 1]).all()
