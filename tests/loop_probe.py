"""What each event-loop callback costs in CPU time of the loop's own thread.

A callback that parses, serialises or hashes a big notebook on the loop burns CPU there; waiting
for the GIL, for I/O or for a machine busy with other processes does not. Measuring
`time.thread_time()` per callback therefore blames the loop for its own work only, and gives the
same answer on an idle laptop and on a 2-core CI machine running CPU hogs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager


@contextmanager
def loop_callback_cpu():
    """Yields a list that fills with (cpu seconds, callback) for every callback run on this thread."""
    costs: list[tuple[float, str]] = []
    thread = threading.get_ident()
    original = asyncio.events.Handle._run

    def measured(handle):
        if threading.get_ident() != thread:
            return original(handle)
        started = time.thread_time()
        try:
            return original(handle)
        finally:
            costs.append((time.thread_time() - started, repr(handle)[:300]))

    asyncio.events.Handle._run = measured
    try:
        yield costs
    finally:
        asyncio.events.Handle._run = original
