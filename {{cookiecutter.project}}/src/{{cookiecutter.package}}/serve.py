"""Start the service: load the model once, then serve it from N workers that share that copy.

The master loads the model and builds the app, takes all it made out of the garbage collector's
reach (`gc.freeze`, so the collector does not write to, and so copy, the shared pages) and
only then forks the workers (gunicorn preload, uvicorn workers). `WORKERS=1` runs one uvicorn
process with no master (less memory, faster start). SIGTERM refuses new connections and lets
in-flight requests finish for up to GRACEFUL_TIMEOUT_S. The workers' Prometheus metrics are
merged through a per-pod folder under /tmp (PROMETHEUS_MULTIPROC_DIR), emptied at start.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from uvicorn_worker import UvicornWorker

from .http_limits import LimitedHttpTools
from .settings import Settings, get_settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DRAIN_S = 0.2  # after SIGTERM, how long requests already on the wire get to arrive


def prepare_metrics_dir(workers: int) -> Path | None:
    """Point prometheus_client at an empty per-pod folder; returns it if we made it.

    Must run before prometheus_client is first imported: it picks its storage at import time.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # left by an earlier run in this pod
            stale.unlink()
        return None
    if workers == 1:
        return None
    path = Path(tempfile.mkdtemp(prefix="prometheus-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


class DrainingServer(uvicorn.Server):
    """uvicorn's server, except that on shutdown a connection accepted just before the signal
    gets its request read (and answered) instead of being closed as idle."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # refuse new connections first
        await asyncio.sleep(DRAIN_S)
        await super().shutdown(sockets)


class Worker(UvicornWorker):
    """The gunicorn worker: uvicorn with DrainingServer and no access log (the app logs each
    request itself, as JSON)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        "access_log": False,
        "http": LimitedHttpTools,
    }

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        # uvloop closes a listening socket's descriptor itself, then gunicorn's wrapper tries
        # again and logs "Error while closing socket [Errno 9]": serve on duplicates instead.
        await server.serve(sockets=[socket.socket(fileno=os.dup(s.fileno())) for s in self.sockets])
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


class JsonLogger(glogging.Logger):
    """gunicorn's logger, handing its lines to the root logger (JSON lines on stdout)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True


def _worker_exited(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _serve_one(app: Any, settings: Settings) -> None:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=LimitedHttpTools,
        timeout_graceful_shutdown=max(1, math.ceil(settings.graceful_timeout_s)),
    )
    DrainingServer(config).run()


def _serve_workers(app: Any, settings: Settings) -> None:
    class Server(BaseApplication):
        def load_config(self) -> None:
            options = dict(
                bind=f"{settings.host}:{settings.port}", workers=settings.workers,
                worker_class=Worker, preload_app=True, keepalive=5, errorlog="-",
                logger_class=JsonLogger,
                graceful_timeout=math.ceil(settings.graceful_timeout_s),
                loglevel=settings.log_level.lower(), child_exit=_worker_exited,
                proc_name=f"serve {app.title}",
                control_socket_disable=True,  # gunicorn >= 25.1 makes one under $HOME: read-only
            )  # fmt: skip
            for name, value in options.items():
                if name in self.cfg.settings:
                    self.cfg.set(name, value)

        def load(self) -> Any:
            return app

    # gunicorn sets TCP_NODELAY on the listening socket and accepted sockets inherit it, so
    # small responses are not held back by Nagle's algorithm and the peer's delayed ACK.
    Server().run()


def main() -> None:
    """Entry point of `serve` and `python -m <package>.serve`."""
    settings = get_settings()
    master = os.getpid()
    metrics_dir = prepare_metrics_dir(settings.workers)
    # Imported only now, after PROMETHEUS_MULTIPROC_DIR is set (see prepare_metrics_dir).
    from .api import create_app
    from .logs import configure_logging
    from .model import ModelLoadError, load_model

    configure_logging(settings.log_level)  # the model's loading logs JSON lines too
    LimitedHttpTools.configure(
        settings.max_header_bytes, settings.max_headers, settings.header_timeout_s
    )

    try:
        model = load_model(settings)
    except ModelLoadError as error:
        sys.exit(f"serve: {error}")
    app = create_app(settings, model)
    # Everything allocated so far (the model above all) is never collected: keep the collector
    # from writing to those pages, so forked workers keep sharing them.
    gc.collect()
    gc.freeze()
    try:
        if settings.workers == 1:
            _serve_one(app, settings)
        else:
            _serve_workers(app, settings)
    finally:
        if metrics_dir is not None and os.getpid() == master:  # not in an exiting worker
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
