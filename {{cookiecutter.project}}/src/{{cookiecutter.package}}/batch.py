"""Batch scoring: score every CSV/Parquet file under an input folder and write the predictions.

`batch --input DIR_OR_URI --output DIR_OR_URI [--scheduled-time ISO]` (the batch CronJob runs
it with the service's image and settings). Local paths and `s3://` URIs work; S3 uses
MLFLOW_S3_ENDPOINT_URL and the AWS_* settings. Output is partitioned by the scheduled time,
`<output>/scheduled_time=YYYYmmddTHHMM/predictions.parquet`, so a rerun of the same occurrence
overwrites its partition instead of adding a duplicate.
"""

import argparse
import logging
import sys
from datetime import UTC, datetime
from urllib.parse import urlparse

import pandas as pd
import pyarrow.csv
import pyarrow.fs
import pyarrow.parquet

from .logs import configure_logging
from .model import ModelLoadError, ServedModel, load_model
from .postprocess import postprocess
from .schema import predictions_to_rows
from .settings import Settings, get_settings

log = logging.getLogger(__name__)
READERS = {".csv": pyarrow.csv.read_csv, ".parquet": pyarrow.parquet.read_table}


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


def input_files(fs: pyarrow.fs.FileSystem, path: str) -> list[str]:
    """The CSV and Parquet files at `path` (a file, or a folder searched recursively)."""
    info = fs.get_file_info(path)
    if info.type == pyarrow.fs.FileType.File:
        return [path]
    if info.type != pyarrow.fs.FileType.Directory:
        raise FileNotFoundError(f"no input at {path!r}")
    found = fs.get_file_info(pyarrow.fs.FileSelector(path, recursive=True))
    return sorted(f.path for f in found if f.extension and f".{f.extension}" in READERS)


def score(model: ServedModel, frame: pd.DataFrame, chunk_rows: int) -> pd.DataFrame:
    """The input rows with one `prediction` column (or one column per output field)."""
    outputs: list = []
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        outputs += postprocess(predictions_to_rows(model.predict(chunk)))
    shaped = pd.DataFrame(outputs if outputs and isinstance(outputs[0], dict) else None)
    if shaped.empty:
        shaped = pd.DataFrame({"prediction": outputs})
    return pd.concat([frame.reset_index(drop=True), shaped.add_prefix("prediction_")], axis=1)


def run(settings: Settings, source: str, target: str, scheduled: datetime) -> str:
    """Score everything under `source`; return the partition written under `target`."""
    model = load_model(settings)
    in_fs, in_path = filesystem(source, settings)
    files = input_files(in_fs, in_path)
    if not files:
        raise FileNotFoundError(f"no .csv or .parquet file under {source!r}")
    frames = []
    for number, path in enumerate(files, 1):
        ext = "." + path.rsplit(".", 1)[-1]
        with in_fs.open_input_file(path) as handle:
            frames.append(READERS[ext](handle).to_pandas())
        log.info("read %s (%d/%d, %d rows)", path, number, len(files), len(frames[-1]))
    scored = score(model, pd.concat(frames, ignore_index=True), settings.max_batch_rows)
    out_fs, out_path = filesystem(target, settings)
    partition = f"{out_path.rstrip('/')}/scheduled_time={scheduled:%Y%m%dT%H%M}"
    out_fs.create_dir(partition, recursive=True)
    with out_fs.open_output_stream(f"{partition}/predictions.parquet") as handle:
        pyarrow.parquet.write_table(pyarrow.Table.from_pandas(scored), handle)
    log.info("wrote %d predictions to %s", len(scored), partition)
    return partition


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="file or folder (local path or s3://)")
    parser.add_argument("--output", required=True, help="folder (local path or s3://)")
    parser.add_argument(
        "--scheduled-time",
        type=datetime.fromisoformat,
        default=datetime.now(UTC).replace(second=0, microsecond=0),
        help="the occurrence this run stands for (default: now, to the minute)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        print(run(settings, args.input, args.output, args.scheduled_time))
    except (ModelLoadError, FileNotFoundError, OSError) as exc:
        print(f"batch: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
