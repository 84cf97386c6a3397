"""Run the simulator: in a background thread (tests, the demo) or in the foreground (CLI)."""

from __future__ import annotations

import logging
import threading

import requests
from werkzeug.serving import make_server

from cem_pipeline.simulator.app import SimulatorState, create_app
from cem_pipeline.simulator.corpus import Corpus
from cem_pipeline.simulator.world import World

DEFAULT_API_KEY = "demo-key"


class SimulatorServer:
    """The simulator on 127.0.0.1 in a thread. Port 0 picks a free port. ``style`` is how it speaks
    (:mod:`cem_pipeline.simulator.styles`: ``default``, or ``mixed``, declared by ``sources/mixed/``).

    >>> with SimulatorServer(seed=7, customers=200) as sim:
    ...     sim.url, sim.api_key
    """

    def __init__(self, seed: int = 7, customers: int = 2000, days: int = 30, port: int = 0,
                 api_key: str = DEFAULT_API_KEY, corpus: Corpus | None = None, world: World | None = None,
                 drops: bool = True, style: str = "default", token_ttl_s: float = 3600.0):
        self.world = world or World(seed=seed, customers=customers, days=days, corpus=corpus, drops=drops)
        self.state = SimulatorState(self.world, api_key, style, token_ttl_s)
        self.style = style
        self.api_key = api_key
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", port, create_app(self.state), threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "SimulatorServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name="cem-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SimulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Admin helpers, over HTTP like any client would.
    def _admin(self, method: str, path: str, **kwargs):
        response = requests.request(method, self.url + path, headers={"X-API-Key": self.api_key}, timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def advance(self, hours: float = 1) -> dict:
        return self._admin("POST", "/admin/advance", params={"hours": hours})

    def set_faults(self, **plan) -> dict:
        return self._admin("POST", "/admin/faults", json=plan)

    def oauth(self, **settings) -> dict:
        """``ttl_s=`` sets the lifetime of the access tokens it issues next; ``revoke=True`` ends every token."""
        return self._admin("POST", "/admin/oauth", json=settings)

    def stats(self) -> dict:
        return self._admin("GET", "/admin/stats")

    def write_truth(self, path) -> list[str]:
        return self._admin("POST", "/admin/truth", json={"path": str(path)})["written"]

    @property
    def now(self) -> int:
        return self.state.now
