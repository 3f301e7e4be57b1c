"""Jupyter Server extension for the benchmark: the server's event-loop lag, and cache sizes.

A task wakes every 10 ms and records how late it woke; `GET /api/bench-lag` answers the worst lag
since the last `DELETE`. `GET /api/bench-cache?path=<api path>` answers the bytes the
OneLake contents manager's metadata cache holds for the listing of that folder.
"""

from __future__ import annotations

import asyncio
import sys
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


def deep_size(value, seen: set[int] | None = None) -> int:
    """Bytes of an object and of everything it holds that nothing seen before holds."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        size += sum(deep_size(v, seen) for v in value)
    elif hasattr(value, "__dict__"):
        size += deep_size(vars(value), seen)
    elif hasattr(value, "__slots__"):
        size += sum(deep_size(getattr(value, name), seen) for name in value.__slots__ if hasattr(value, name))
    return size


class CacheHandler(APIHandler):
    @web.authenticated
    def get(self):
        cm = self.settings["contents_manager"]
        cache = cm.files.cache
        listing = cache._listing_of(cm._ol(self.get_argument("path")))
        if listing is None:
            raise web.HTTPError(404, "no fresh listing of that folder in the cache")
        self.finish({"entries": len(listing), "bytes": deep_size(listing)})


def _jupyter_server_extension_points():
    return [{"module": "benchmarks.probe"}]


def _load_jupyter_server_extension(serverapp):
    serverapp.web_app.add_handlers(
        ".*$",
        [(serverapp.base_url + "api/bench-lag", LagHandler), (serverapp.base_url + "api/bench-cache", CacheHandler)],
    )
    serverapp.io_loop.add_callback(lambda: asyncio.ensure_future(_watch()))
