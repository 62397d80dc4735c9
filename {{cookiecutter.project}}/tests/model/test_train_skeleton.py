"""The training entrypoint fits the team's table, registers the model and sets the alias."""

import mlflow
import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.train import main


def test_train_registers_the_tables_model_with_signature_and_alias(
    tracking_uri, tmp_path, capsys, monkeypatch
) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    table["label"] = 3 * table["a"] - table["c"]
    table.to_parquet(tmp_path / "table.parquet")
    monkeypatch.setenv("TARGET", "label")
    data = str(tmp_path / "table.parquet")
    main(["--data", data, "--tracking-uri", tracking_uri,
          "--model-name", "own", "--alias", "champion"])  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1] == "models:/own@champion"
    model = mlflow.pyfunc.load_model("models:/own@champion")
    assert model.metadata.signature.inputs.input_names() == ["a", "b", "c"]
    assert model.input_example is not None
    assert model.predict(table[["a", "b", "c"]].head(1))[0] == pytest.approx(table["label"][0])


def test_no_data_or_no_label_says_what_to_do(tracking_uri, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--tracking-uri", tracking_uri])  # a local store, and no demo data here
    assert stopped.value.code == 2 and "set TRAINING_DATA" in capsys.readouterr().err
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "t.csv"), "--tracking-uri", tracking_uri])
    assert "no label column TARGET='target'" in capsys.readouterr().err
