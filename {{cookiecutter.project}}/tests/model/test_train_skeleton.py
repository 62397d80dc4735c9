"""The training entrypoint fits the team's table, registers the model and sets the alias."""

import mlflow
import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.train import main


def test_train_registers_the_tables_model_with_signature_and_alias(
    tracking_uri, tmp_path, capsys
) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    table["label"] = 3 * table["a"] - table["c"]
    table.to_parquet(tmp_path / "table.parquet")
    data = str(tmp_path / "table.parquet")
    main(["--data", data, "--target", "label", "--tracking-uri", tracking_uri,
          "--model-name", "own", "--alias", "champion"])  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1] == "models:/own@champion"
    model = mlflow.pyfunc.load_model("models:/own@champion")
    assert model.metadata.signature.inputs.input_names() == ["a", "b", "c"]
    assert model.input_example is not None
    assert model.predict(table[["a", "b", "c"]].head(1))[0] == pytest.approx(table["label"][0])


def test_a_missing_table_or_target_says_what_to_do(tracking_uri, tmp_path) -> None:
    with pytest.raises(SystemExit, match="TRAINING_DATA"):
        main(["--data", "", "--tracking-uri", tracking_uri])
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SystemExit, match="no target column 'target'"):
        main(["--data", str(tmp_path / "t.csv"), "--tracking-uri", tracking_uri])
