"""A Jupyter Server extension for tests: Python memory of the server process via tracemalloc.

Load with `--ServerApp.jpserver_extensions={'tests.memory_probe': True}`. `PUT /api/test-memory`
starts tracing, `GET` answers the traced current and peak bytes, `DELETE` resets the peak
(`DELETE ?stop=1` stops tracing).

Tracing is switched on only around the measurements that need it: tracemalloc slows some code
enormously (nbformat's validation of a 20 MiB notebook runs ~90 times slower under it), which once
made an unrelated test of the same server wait minutes for an answer.
"""

from __future__ import annotations

import tracemalloc

from jupyter_server.base.handlers import APIHandler
from tornado import web


class MemoryHandler(APIHandler):
    @web.authenticated
    def get(self):
        current, peak = tracemalloc.get_traced_memory()
        top = []
        if self.get_argument("top", None):
            stats = tracemalloc.take_snapshot().statistics("lineno")[:10]
            top = [str(s) for s in stats]
        self.finish({"tracing": tracemalloc.is_tracing(), "current": current, "peak": peak, "top": top})

    @web.authenticated
    def put(self):
        if not tracemalloc.is_tracing():
            tracemalloc.start()
        self.set_status(204)
        self.finish()

    @web.authenticated
    def delete(self):
        if self.get_argument("stop", None):
            tracemalloc.stop()
        else:
            tracemalloc.reset_peak()
        self.set_status(204)
        self.finish()


def _jupyter_server_extension_points():
    return [{"module": "tests.memory_probe"}]


def _load_jupyter_server_extension(serverapp):
    serverapp.web_app.add_handlers(".*$", [(serverapp.base_url + "api/test-memory", MemoryHandler)])
