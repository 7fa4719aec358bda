"""The queues every worker consumes, and a worker started from Python as every environment
starts it (``scripts/worker.sh``), for the commands and tests that need one of their own."""

import subprocess
import sys
from pathlib import Path
from typing import IO

ROOT_DIR = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = ROOT_DIR / "scripts" / "worker.sh"

# A task goes to the queue its name starts with, any other to the default queue.
ROUTED_QUEUES = ("matching", "notifications")
DEFAULT_QUEUE = "default"
QUEUES = (*ROUTED_QUEUES, DEFAULT_QUEUE)


def worker_start(
    *,
    name: str,
    env: dict[str, str],
    stderr: int | IO[bytes] | None = subprocess.DEVNULL,
) -> "subprocess.Popen[bytes]":
    """A worker on every queue with the solo pool (a task runs in the worker's own process, so
    stopping the worker stops the task), quiet and without the cluster chatter a single worker
    does not need. ``env`` is the worker's whole environment (database, broker, clock)."""
    return subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [
            "/bin/sh",
            str(WORKER_SCRIPT),
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}@%h",
        ],
        cwd=ROOT_DIR,
        env={**env, "PYTHON": sys.executable},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
