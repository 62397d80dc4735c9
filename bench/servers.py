"""The two servers under test: bake and train once, start, time the cold start, measure, stop."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psutil

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "{{cookiecutter.project}}"
VENV_BIN = Path(sys.executable).parent
PROJECT = "bench-model"
PACKAGE = PROJECT.replace("-", "_")
ALIAS = "champion"


@dataclass(frozen=True)
class Workspace:
    """build/bench: the baked project and the MLflow store the benchmark model lives in."""

    root: Path

    @property
    def project(self) -> Path:
        return self.root / PROJECT

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def model_uri(self) -> str:
        return f"models:/{PROJECT}@{ALIAS}"

    def python_env(self) -> dict[str, str]:
        """The environment that runs the baked package from its source, with this venv."""
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(
            PYTHONPATH=str(self.project / "src"),
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            MLFLOW_TRACKING_URI=self.tracking_uri,
            PYTHONUNBUFFERED="1",
        )
        return env


def bake(root: Path) -> Workspace:
    """Bake the template with default answers into root/bench-model (replacing an old bake)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / PROJECT, ignore_errors=True)
    subprocess.run(
        [VENV_BIN / "cookiecutter", "--no-input", "-f", "-o", root, ROOT, f"project={PROJECT}"],
        check=True,
        timeout=120,
        stdout=subprocess.DEVNULL,
    )
    return Workspace(root)


def train(ws: Workspace, rows: int, trees: int) -> bool:
    """Train and register the demo model unless this very model is registered already."""
    package = TEMPLATE / "src" / "{{cookiecutter.package}}"
    digest = hashlib.sha256(f"{rows}:{trees}".encode())
    for name in ("train.py", "data.py"):
        digest.update((package / name).read_bytes())
    stamp = ws.root / "model.stamp"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return False
    for stale in ("mlflow.db", "mlruns", "mlartifacts"):
        shutil.rmtree(ws.root / stale, ignore_errors=True)
        (ws.root / stale).unlink(missing_ok=True)
    command = [sys.executable, "-m", f"{PACKAGE}.train", "--tracking-uri", ws.tracking_uri]
    command += ["--model-name", PROJECT, "--alias", ALIAS, "--rows", str(rows)]
    command += ["--trees", str(trees)]
    subprocess.run(
        command,
        cwd=ws.root,
        env=ws.python_env(),
        check=True,
        timeout=900,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_text(digest.hexdigest())
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pss_mib(pid: int) -> float:
    """Proportional set size of a process and all its descendants, in MiB."""
    total_kib = 0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            text = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        total_kib += sum(
            int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")
        )
    return round(total_kib / 1024, 1)


@dataclass
class Server:
    """One server process tree: `ours` (python -m <pkg>.serve) or `mlflow` (mlflow models serve)."""

    kind: str
    ws: Workspace
    workers: int
    ready_body: bytes
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    cold_start_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "ours":
            return [sys.executable, "-m", f"{PACKAGE}.serve"]
        return [
            str(VENV_BIN / "mlflow"), "models", "serve", "-m", self.ws.model_uri,
            "--env-manager", "local", "-w", str(self.workers), "-h", "127.0.0.1",
            "-p", str(self.port),
        ]  # fmt: skip

    def start(self, timeout_s: float = 180) -> float:
        """Start it; return the seconds from process start to the first successful prediction."""
        env = self.ws.python_env()
        env.update(
            MODEL_URI=self.ws.model_uri, HOST="127.0.0.1", PORT=str(self.port),
            WORKERS=str(self.workers), **self.env,
        )  # fmt: skip
        log = (self.ws.root / f"{self.kind}-{self.workers}w-{self.port}.log").open("wb")
        started = time.monotonic()
        cwd = self.ws.project if self.kind == "ours" else self.ws.root
        self.process = subprocess.Popen(
            self.command(), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} exited with {self.process.returncode}; see {log.name}"
                )
            if self._answers():
                self.cold_start_s = round(time.monotonic() - started, 3)
                return self.cold_start_s
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer within {timeout_s:g} s; see {log.name}")

    def _answers(self) -> bool:
        request = urllib.request.Request(
            f"{self.url}/invocations", data=self.ready_body,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def pss_mib(self) -> float:
        assert self.process is not None
        return pss_mib(self.process.pid)

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM the process group, SIGKILL it after timeout_s; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
