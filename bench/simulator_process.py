"""The simulator in its own process for benchmarks, so server and client never share one GIL."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def simulator_process(customers: int, seed: int = 7, timeout_s: float = 300):
    """Start `cem-simulator` on a free port, wait for /health, yield (url, start-up seconds), stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "cem_pipeline.simulator.cli", "--seed", str(seed),
                               "--customers", str(customers), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the simulator exited with {server.returncode}")
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"the simulator did not come up in {timeout_s:.0f} s")
            time.sleep(0.1)
        yield url, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
