from {{ cookiecutter.package }}.postprocess import postprocess


def test_probability_rows_become_a_fraud_score() -> None:
    assert postprocess([[0.2, 0.8], [0.9, 0.1]]) == [
        {"is_fraud": True, "fraud_probability": 0.8, "confidence": 0.8},
        {"is_fraud": False, "fraud_probability": 0.1, "confidence": 0.9},
    ]


def test_other_outputs_pass_through() -> None:
    assert postprocess([1.5, 2.5]) == [1.5, 2.5]
    assert postprocess([{"a": 1}]) == [{"a": 1}]
