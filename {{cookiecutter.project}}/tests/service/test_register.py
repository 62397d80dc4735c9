"""`python -m <package>.register SOURCE`: a model logged elsewhere becomes the one served."""

import mlflow
import pytest

from {{ cookiecutter.package }}.register import main


def test_registers_a_run_or_a_saved_folder_under_the_name_and_alias(
    other_uris, tracking_uri, tmp_path, capsys
) -> None:
    source = mlflow.MlflowClient().get_model_version_by_alias("regressor", "test")
    main([f"runs:/{source.run_id}/model", "--tracking-uri", tracking_uri,
          "--name", "adopted", "--alias", "champion"])  # fmt: skip
    assert capsys.readouterr().out.strip() == "models:/adopted@champion"
    folder = mlflow.artifacts.download_artifacts(other_uris["regressor"], dst_path=str(tmp_path))
    main([folder, "--tracking-uri", tracking_uri, "--name", "adopted", "--alias", "champion"])
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("adopted", "champion").version) == "2"
    served = mlflow.pyfunc.load_model("models:/adopted@champion").metadata.signature
    assert served == mlflow.pyfunc.load_model(other_uris["regressor"]).metadata.signature


def test_an_unknown_source_exits_naming_it(tracking_uri) -> None:
    with pytest.raises(SystemExit, match="cannot register 'runs:/0123456789abcdef/model'"):
        main(["runs:/0123456789abcdef/model", "--tracking-uri", tracking_uri])
