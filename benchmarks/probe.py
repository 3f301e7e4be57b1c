"""Jupyter Server extension for the benchmark: the server's event-loop lag.

A task wakes every 10 ms and records how late it woke; `GET /api/bench-lag` answers the worst lag
since the last `DELETE`.
"""

from __future__ import annotations

import asyncio
import time

from jupyter_server.base.handlers import APIHandler
from tornado import web

_worst = {"lag_ms": 0.0}


async def _watch() -> None:
    while True:
        started = time.monotonic()
        await asyncio.sleep(0.01)
        lag = (time.monotonic() - started - 0.01) * 1000
        _worst["lag_ms"] = max(_worst["lag_ms"], lag)


class LagHandler(APIHandler):
    @web.authenticated
    def get(self):
        self.finish({"max_lag_ms": round(_worst["lag_ms"], 1)})

    @web.authenticated
    def delete(self):
        _worst["lag_ms"] = 0.0
        self.set_status(204)
        self.finish()


def _jupyter_server_extension_points():
    return [{"module": "benchmarks.probe"}]


def _load_jupyter_server_extension(serverapp):
    serverapp.web_app.add_handlers(".*$", [(serverapp.base_url + "api/bench-lag", LagHandler)])
    serverapp.io_loop.add_callback(lambda: asyncio.ensure_future(_watch()))
