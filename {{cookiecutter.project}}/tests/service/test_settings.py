import pytest
from pydantic import ValidationError

from {{ cookiecutter.package }}.settings import Settings


def test_environment_and_dotenv_are_read(tmp_path, monkeypatch) -> None:
    (tmp_path / ".env").write_text("MODEL_URI=models:/from-dotenv@x\nPORT=9001\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORT", "9002")
    settings = Settings()
    assert settings.model_uri == "models:/from-dotenv@x"
    assert settings.port == 9002  # the environment wins over .env


def test_a_bad_setting_fails_at_start(monkeypatch) -> None:
    monkeypatch.setenv("MAX_REQUEST_ROWS", "0")
    with pytest.raises(ValidationError, match="max_request_rows"):
        Settings(_env_file=None)


def test_the_old_name_of_a_setting_still_works_with_a_warning(monkeypatch) -> None:
    monkeypatch.setenv("MAX_BATCH_ROWS", "7")
    with pytest.warns(DeprecationWarning, match="MAX_BATCH_ROWS is deprecated"):
        assert Settings(_env_file=None).max_request_rows == 7
    monkeypatch.setenv("MAX_REQUEST_ROWS", "9")  # the new name wins
    with pytest.warns(DeprecationWarning):
        assert Settings(_env_file=None).max_request_rows == 9
