"""The try-it form generated from a signature: a control per MLflow column type, a JSON
editor with the expected shape for tensors, and form or file values typed (or refused)."""

from __future__ import annotations

import base64
import json

import pytest
from modelship.catalog.forms import check_record, form_spec

EVERY_TYPE = {
    "inputs": [
        {"type": "long", "name": "count", "required": True},
        {"type": "integer", "name": "small", "required": True},
        {"type": "double", "name": "amount", "required": True},
        {"type": "float", "name": "ratio", "required": False},
        {"type": "boolean", "name": "flag", "required": True},
        {"type": "string", "name": "city", "required": True},
        {"type": "datetime", "name": "at", "required": True},
        {"type": "binary", "name": "photo", "required": False},
    ]
}
EXAMPLE = {"count": 3, "small": 1, "amount": 9.5, "ratio": 0.25, "flag": True, "city": "Oslo",
           "at": "2024-05-01 10:30:00"}  # fmt: skip


def test_a_control_per_mlflow_column_type_prefilled_from_the_example():
    spec = form_spec(EVERY_TYPE, EXAMPLE)
    assert spec.kind == "columns"
    shown = {c.name: (c.input_type, c.step, c.required, c.value) for c in spec.controls}
    assert shown == {
        "count": ("number", "1", True, 3),
        "small": ("number", "1", True, 1),
        "amount": ("number", "any", True, 9.5),
        "ratio": ("number", "any", False, 0.25),
        "flag": ("checkbox", None, True, True),
        "city": ("text", None, True, "Oslo"),
        "at": ("datetime-local", "1", True, "2024-05-01T10:30:00"),
        "photo": ("file", None, False, None),
    }


def test_form_text_is_typed_by_the_signature():
    spec = form_spec(EVERY_TYPE)
    form = {"count": "3", "small": "-2", "amount": "9.5", "ratio": "", "flag": True,
            "city": "Oslo", "at": "2024-05-01T10:30", "photo": b"\x89PNG"}  # fmt: skip
    typed, problems = check_record(spec, form)
    assert problems == []
    assert typed == {"count": 3, "small": -2, "amount": 9.5, "flag": True, "city": "Oslo",
                     "at": "2024-05-01T10:30:00",
                     "photo": base64.b64encode(b"\x89PNG").decode()}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("count", "3.5", "count: must be a whole number, not '3.5'"),
        ("amount", "lots", "amount: must be a number, not 'lots'"),
        ("amount", "nan", "amount: must be a number, not 'nan'"),
        ("flag", "maybe", "flag: must be true or false, not 'maybe'"),
        ("at", "yesterday", "at: must be a date and time, not 'yesterday'"),
        ("count", "", "count: required"),
        ("extra", "1", "extra: not a column of this model"),
    ],
)
def test_a_bad_value_is_named_with_its_column(field, value, problem):
    record = {"count": "1", "small": "1", "amount": "1", "flag": "true", "city": "x",
              "at": "2024-01-01T00:00"}  # fmt: skip
    _, problems = check_record(form_spec(EVERY_TYPE), {**record, field: value})
    assert problems == [problem]


TENSOR = {
    "inputs": [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2, 3]}}],
    "outputs": [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}],
}


def test_a_tensor_model_gets_a_json_editor_with_the_shape():
    spec = form_spec(TENSOR)
    assert spec.kind == "tensor" and spec.controls == []
    (editor,) = spec.tensors
    assert (editor.name, editor.dtype, editor.shape) == ("input", "float32", [-1, 2, 3])
    assert json.loads(editor.value) == [[0, 0, 0], [0, 0, 0]]
    good = json.dumps([[1, 2, 3], [4, 5, 6.5]])
    assert check_record(spec, {"input": good}) == ({"input": [[1, 2, 3], [4, 5, 6.5]]}, [])
    _, problems = check_record(spec, {"input": "[[1, 2], [3, 4]]"})
    assert problems == ["input: shape [2, 3]: 3 items expected, got 2"]
    _, problems = check_record(spec, {"input": "[[1,"})
    assert problems[0].startswith("input: not JSON")


def test_a_model_without_signature_takes_free_records():
    assert form_spec(None).kind == "free"
    assert check_record(form_spec(None), {"anything": 1}) == ({"anything": 1}, [])
