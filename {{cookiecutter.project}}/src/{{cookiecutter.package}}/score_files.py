"""Offline scoring: score the input partition of one scheduled time, in bounded chunks.

`batch --input DIR_OR_URI --output DIR_OR_URI --scheduled-time ISO` (the batch CronJob runs it
with the service's image and settings). It reads only `<input>/scheduled_time=YYYYmmddTHHMM/`
(CSV or Parquet files), streams it through the model `SCORE_CHUNK_ROWS` rows at a time, so
memory stays flat whatever the input size, and writes
`<output>/scheduled_time=YYYYmmddTHHMM/predictions.parquet` atomically (a temporary file moved
into place): a rerun for the same scheduled time replaces its partition, never adds one.
Local paths and `s3://` URIs work; S3 uses MLFLOW_S3_ENDPOINT_URL and the AWS_* settings.

Sharded (`--shard-index I --shard-count N`, by default from a Kubernetes Indexed Job's
`JOB_COMPLETION_INDEX` and `SHARD_COUNT`): shard I scores chunks I, I+N, I+2N, ... of the same
stream and writes only its own part, `predictions-<I>-of-<N>.parquet`; the N parts together
hold exactly the rows of one unsharded run.
"""

import argparse
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.dataset
import pyarrow.fs
import pyarrow.parquet

from .logs import configure_logging
from .model import ModelLoadError, ServedModel, load_model
from .outputs import answer_rows
from .settings import Settings, get_settings

log = logging.getLogger(__name__)
FORMATS = {".csv": "csv", ".parquet": "parquet"}
# A CronJob names its Jobs <cronjob>-<scheduled time in minutes since the epoch>.
JOB_SUFFIX = re.compile(r"-(\d{8,})$")


def filesystem(uri: str, settings: Settings) -> tuple[pyarrow.fs.FileSystem, str]:
    if urlparse(uri).scheme == "s3":
        secret = settings.aws_secret_access_key
        fs = pyarrow.fs.S3FileSystem(
            endpoint_override=settings.mlflow_s3_endpoint_url,
            access_key=settings.aws_access_key_id,
            secret_key=secret.get_secret_value() if secret else None,
        )
        return fs, uri.removeprefix("s3://")
    return pyarrow.fs.LocalFileSystem(), str(uri)


def partition_name(scheduled: datetime) -> str:
    return f"scheduled_time={scheduled:%Y%m%dT%H%M}"


def scheduled_time(value: str) -> datetime:
    """An ISO time, or the name of a CronJob's Job (its suffix is the scheduled minute)."""
    match = JOB_SUFFIX.search(value)
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=int(match[1]))
    return datetime.fromisoformat(value)


def input_batches(
    fs: pyarrow.fs.FileSystem, path: str, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    """The rows of the CSV and Parquet files under `path`, at most `chunk_rows` at a time."""
    if fs.get_file_info(path).type != pyarrow.fs.FileType.Directory:
        raise FileNotFoundError(f"no input partition at {path!r}")
    found = fs.get_file_info(pyarrow.fs.FileSelector(path, recursive=True))
    for ext, fmt in FORMATS.items():
        files = sorted(f.path for f in found if f.path.endswith(ext))
        if files:
            dataset = pyarrow.dataset.dataset(files, format=fmt, filesystem=fs)
            # Read ahead one batch only, and Parquet pages as they are needed rather than whole
            # row groups at once: memory stays a few chunks whatever the input size.
            ahead = {"batch_readahead": 1, "fragment_readahead": 1, "use_threads": False}
            if fmt == "parquet":
                ahead["fragment_scan_options"] = pyarrow.dataset.ParquetFragmentScanOptions(
                    pre_buffer=False, use_buffered_stream=True, buffer_size=1 << 20
                )
            for batch in dataset.to_batches(batch_size=chunk_rows, **ahead):
                # CSV blocks ignore batch_size: cut them down to chunk_rows too.
                for start in range(0, batch.num_rows, chunk_rows):
                    yield batch.slice(start, chunk_rows)


def model_columns(model: ServedModel, batch: pa.RecordBatch) -> list[str]:
    """The columns the model reads: its signature's inputs, or every column without one."""
    signature = model.signature
    if signature is None or not signature.inputs.has_input_names():
        return batch.schema.names
    wanted = set(signature.inputs.input_names())
    return [name for name in batch.schema.names if name in wanted]


def score(model: ServedModel, batch: pa.RecordBatch) -> pa.Table:
    """The input rows with one `prediction` column (or one column per output field).

    Only the model's columns become pandas objects; the others pass through as Arrow, so a
    wide column the model does not read (free text, ids) costs no Python objects.
    """
    frame = batch.select(model_columns(model, batch)).to_pandas()
    outputs = answer_rows(model.predict(frame))
    if outputs and isinstance(outputs[0], dict):
        shaped = pd.DataFrame(outputs).add_prefix("prediction_")
    else:
        shaped = pd.DataFrame({"prediction": outputs})
    predictions = pa.Table.from_pandas(shaped, preserve_index=False)
    table = pa.Table.from_batches([batch])
    for name, column in zip(predictions.column_names, predictions.columns, strict=True):
        table = table.append_column(name, column)
    return table


def part_name(shard: tuple[int, int]) -> str:
    index, count = shard
    return "predictions.parquet" if count == 1 else f"predictions-{index}-of-{count}.parquet"


def run(
    settings: Settings,
    source: str,
    target: str,
    scheduled: datetime,
    shard: tuple[int, int] = (0, 1),
) -> str:
    """Score the partition of `scheduled` under `source` (only the chunks of `shard` = (index,
    count)); return the partition written under `target`."""
    index, count = shard
    model = load_model(settings)
    in_fs, in_path = filesystem(source, settings)
    out_fs, out_path = filesystem(target, settings)
    partition = f"{out_path.rstrip('/')}/{partition_name(scheduled)}"
    batches = input_batches(
        in_fs, f"{in_path.rstrip('/')}/{partition_name(scheduled)}", settings.score_chunk_rows
    )
    out_fs.create_dir(partition, recursive=True)
    name = part_name(shard)
    temporary = f"{partition}/.{name}.{os.getpid()}.tmp"
    rows, writer = 0, None
    try:
        with out_fs.open_output_stream(temporary) as handle:
            for number, batch in enumerate(batches):
                if number % count != index:
                    continue
                table = score(model, batch)
                if writer is None:
                    writer = pyarrow.parquet.ParquetWriter(handle, table.schema)
                elif table.schema != writer.schema:  # CSV string vs Parquet large_string
                    table = table.cast(writer.schema)
                writer.write_table(table)
                rows += table.num_rows
            if writer is None and count == 1:
                raise FileNotFoundError(f"no .csv or .parquet rows under {source!r}")
            if writer is not None:
                writer.close()
        if writer is not None:
            out_fs.move(temporary, f"{partition}/{name}")
    finally:
        if out_fs.get_file_info(temporary).type == pyarrow.fs.FileType.File:
            out_fs.delete_file(temporary)
    log.info("wrote %d predictions to %s (shard %d of %d)", rows, partition, index, count)
    return partition


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="folder of partitions (path or s3://)")
    parser.add_argument("--output", required=True, help="folder (local path or s3://)")
    parser.add_argument(
        "--scheduled-time",
        type=scheduled_time,
        required=True,
        help="the occurrence this run stands for: ISO time, or the CronJob's Job name",
    )
    parser.add_argument(
        "--shard-index",
        type=int,
        default=int(os.environ.get("JOB_COMPLETION_INDEX", "0")),
        help="this shard, from 0 (default: JOB_COMPLETION_INDEX of a Kubernetes Indexed Job)",
    )
    parser.add_argument(
        "--shard-count",
        type=int,
        default=int(os.environ.get("SHARD_COUNT", "1")),
        help="how many shards share the input (default: SHARD_COUNT, else 1)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.shard_index < args.shard_count:
        parser.error(f"--shard-index must be from 0 to {args.shard_count - 1}")
    # Arrow's default allocator keeps what its I/O threads free (measured: the peak memory of
    # a run grew with the number of input files). jemalloc with no decay gives it back at once,
    # so memory stays bounded by a few row groups, however many files the partition holds.
    pa.set_memory_pool(pa.jemalloc_memory_pool())
    pa.jemalloc_set_decay_ms(0)
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        shard = (args.shard_index, args.shard_count)
        print(run(settings, args.input, args.output, args.scheduled_time, shard))
    except (ModelLoadError, FileNotFoundError, OSError) as exc:
        print(f"batch: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
