"""Batch files of every format -> records with where each came from; unreadable files refused
with the reason."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from modelship.catalog.uploads import UploadError, read_records

ROWS = [{"income": 1.5, "age": 30}, {"income": 2.0, "age": 41}]


def _parquet() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ROWS), out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "places"),
    [
        ("a.csv", b"income,age\n1.5,30\n2.0,41\n", ["line 2", "line 3"]),
        ("a.json", json.dumps(ROWS).encode(), ["record 1", "record 2"]),
        ("a.jsonl", b"\n".join(json.dumps(r).encode() for r in ROWS), ["line 1", "line 2"]),
        ("a.yaml", yaml.safe_dump(ROWS).encode(), ["record 1", "record 2"]),
        ("a.parquet", _parquet(), ["row 1", "row 2"]),
    ],
)
def test_every_format_reads_to_records(name, data, places):
    found = read_records(name, data)
    assert [where for where, _ in found] == places
    if name != "a.csv":  # CSV cells stay text until the signature types them
        assert [record for _, record in found] == ROWS


def test_a_bad_json_line_is_reported_on_its_line():
    found = read_records("a.jsonl", b'{"age": 1}\n{"age": \n')
    assert found[0] == ("line 1", {"age": 1})
    assert found[1][0] == "line 2" and isinstance(found[1][1], ValueError)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.exe", b"MZ", "is not one of"),
        ("a.json", b'{"not": "a list"}', "must hold a list of records"),
        ("a.json", b"[1,", "cannot be read as JSON"),
        ("a.parquet", b"PAR1 nope", "not a Parquet file"),
        ("a.csv", b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_an_unreadable_file_is_refused_with_the_reason(name, data, reason):
    with pytest.raises(UploadError, match=reason):
        read_records(name, data)
