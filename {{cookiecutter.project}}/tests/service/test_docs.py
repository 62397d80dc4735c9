"""The docs work in a cluster with no internet, and the OpenAPI document types every answer."""

import re


def test_swagger_ui_is_served_by_the_service_itself(classifier_client) -> None:
    page = classifier_client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        assert classifier_client.get(asset).status_code == 200, asset


def test_integer_bounds_are_integers(other_uris, serve) -> None:
    with serve(other_uris["every_type"]) as client:
        text = client.get("/openapi.json").text
    record = client.get("/openapi.json").json()["components"]["schemas"]["Record"]
    assert record["properties"]["big"]["maximum"] == 2**63 - 1
    assert isinstance(record["properties"]["big"]["maximum"], int)
    assert "e+18" not in text


def test_prediction_answers_are_typed(classifier_client) -> None:
    spec = classifier_client.get("/openapi.json").json()
    for path, name in (("/predict", "PredictionAnswer"), ("/predict/batch", "PredictionsAnswer")):
        content = spec["paths"][path]["post"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{name}"}
        answer = spec["components"]["schemas"][name]
        assert {"model", "prediction_time_ms"} <= set(answer["properties"])
        assert set(answer["required"]) >= {"model", "prediction_time_ms"}
