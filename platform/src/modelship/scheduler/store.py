"""Where job inputs, chunk outputs and results live: a local folder or S3 (``RESULTS_URL``).

Every write is a temporary object moved into place (S3: one PUT), so a reader sees a whole
file or none, and a chunk scored twice (a worker that lost its lease) simply replaces itself.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq

from modelship.settings import Settings


def filesystem(uri: str, settings: Settings) -> tuple[pyarrow.fs.FileSystem, str]:
    """The file system of ``uri`` (s3://bucket/key or a path) and the path inside it."""
    if urlparse(uri).scheme == "s3":
        secret = settings.s3_secret_access_key
        fs = pyarrow.fs.S3FileSystem(
            endpoint_override=settings.s3_endpoint_url,
            access_key=settings.s3_access_key_id,
            secret_key=secret.get_secret_value() if secret else None,
            region=settings.s3_region,
            scheme="http" if (settings.s3_endpoint_url or "").startswith("http:") else "https",
            connect_timeout=5,
            request_timeout=60,
            retry_strategy=pyarrow.fs.AwsStandardS3RetryStrategy(max_attempts=3),
        )
        return fs, uri.removeprefix("s3://")
    path = uri.removeprefix("file://")
    return pyarrow.fs.LocalFileSystem(), os.path.abspath(path)


def write_table(
    fs: pyarrow.fs.FileSystem, path: str, table: pa.Table, group_rows: int | None = None
) -> None:
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    if isinstance(fs, pyarrow.fs.LocalFileSystem):
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        pq.write_table(table, temporary, filesystem=fs, row_group_size=group_rows)
        fs.move(temporary, path)
    else:  # an S3 object appears whole at the end of its upload
        pq.write_table(table, path, filesystem=fs, row_group_size=group_rows)


class ResultStore:
    """``<results_url>/jobs/<id>/{input.parquet, chunks/<n>.parquet, result.parquet}``."""

    def __init__(self, settings: Settings) -> None:
        self.fs, self.root = filesystem(settings.results_url, settings)
        self.root = self.root.rstrip("/")

    def _job(self, job_id: str) -> str:
        return f"{self.root}/jobs/{job_id}"

    def put_input(self, job_id: str, table: pa.Table, chunk_rows: int) -> None:
        """The validated input, one Parquet row group per chunk (a chunk is read alone)."""
        write_table(self.fs, f"{self._job(job_id)}/input.parquet", table, chunk_rows)

    def input_chunk(self, job_id: str, index: int) -> pa.Table:
        with self.fs.open_input_file(f"{self._job(job_id)}/input.parquet") as f:
            return pq.ParquetFile(f).read_row_group(index)

    def put_chunk(self, job_id: str, index: int, table: pa.Table) -> None:
        write_table(self.fs, f"{self._job(job_id)}/chunks/{index:08d}.parquet", table)

    def assemble(self, job_id: str, indexes: list[int]) -> pa.Table:
        """The chunks ``indexes`` in order, as one table, stored as the job's result."""
        parts = []
        for i in sorted(indexes):
            with self.fs.open_input_file(f"{self._job(job_id)}/chunks/{i:08d}.parquet") as f:
                parts.append(pq.read_table(f))
        table = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
        write_table(self.fs, f"{self._job(job_id)}/result.parquet", table)
        return table

    def result(self, job_id: str) -> pa.Table:
        with self.fs.open_input_file(f"{self._job(job_id)}/result.parquet") as f:
            return pq.read_table(f)

    def delete(self, job_id: str) -> None:
        folder = self._job(job_id)
        if self.fs.get_file_info(folder).type != pyarrow.fs.FileType.NotFound:
            self.fs.delete_dir(folder)
