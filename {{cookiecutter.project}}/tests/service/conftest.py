"""The service's own tiny models, trained here: these tests never depend on the example model."""

from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package }}.register import use_experiment

from tests.service import models


@pytest.fixture(scope="session")
def classifier_uri(tracking_uri: str) -> str:
    """A scikit-learn pipeline with a categorical column, answering predict_proba."""
    use_experiment(tracking_uri, "service-tests")
    return models.log_classifier("classifier-test")


@pytest.fixture(scope="session")
def other_uris(tracking_uri: str) -> dict[str, str]:
    """The other test models by kind, registered once for the session."""
    use_experiment(tracking_uri, "other-models")
    example = pd.DataFrame({"size": [80.0], "premium": [True], "floors": [2]})
    return {
        "regressor": models.log_pyfunc(
            "regressor", models.Regressor(), models.REGRESSOR_SIGNATURE, example
        ),
        "every_type": models.log_pyfunc(
            "every-type", models.EveryType(), models.EVERY_TYPE_SIGNATURE
        ),
        "tensor": models.log_pyfunc("tensor", models.TensorSum(), models.TENSOR_SIGNATURE),
        "no_signature": models.log_pyfunc("no-signature", models.Echo()),
        "quirky": models.log_pyfunc("quirky", models.Quirky(), models.QUIRKY_SIGNATURE),
        "cross_row": models.log_pyfunc("cross-row", models.CrossRow(), models.CROSS_ROW_SIGNATURE),
    }


@pytest.fixture(scope="module")
def classifier_client(classifier_uri: str, serve) -> Iterator[TestClient]:
    with serve(classifier_uri) as client:
        yield client
