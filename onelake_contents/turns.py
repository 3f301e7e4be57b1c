"""Sharing the event loop's turns among requests that wake together, and work kept off it.

A leaf: the store, the files layer and the manager all take their turns here (nothing here knows
OneLake). `fair_turn` before each step that follows a OneLake answer; `in_slices` for a list built
item by item; `off_the_loop` for work on a file's bytes.
"""

from __future__ import annotations

import asyncio
import collections
import time
import weakref

# bytes above which hashing or parsing a file runs in a worker thread rather than on the loop
THREAD_THRESHOLD = 1024 * 1024

SLICE = 1000  # items built between two turns of the event loop (see `in_slices`)


async def in_slices(items, build) -> list:
    """`[build(item) for item in items]`, giving the event loop a turn every SLICE items: a
    listing of thousands of entries does not hold up the server's other requests meanwhile."""
    built: list = []
    for start in range(0, len(items), SLICE):
        if start:
            await asyncio.sleep(0)
        built.extend(build(item) for item in items[start : start + SLICE])
    return built


# Our work in one turn of the event loop before the rest of it waits for later turns
TURN_BUDGET = 0.005


class _Turns:
    """One event loop's turns as `fair_turn` hands them out."""

    clock = staticmethod(time.perf_counter)

    def __init__(self):
        self.started: float | None = None  # when our work began in this turn
        self.waiting: collections.deque[asyncio.Future] = collections.deque()
        self.ticking = False

    def tick(self) -> None:
        """Once in every turn while needed: a new turn begins, and the longest waiting step is
        let through (it runs in the next turn)."""
        self.started = None
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():  # done: its task was cancelled meanwhile
                waiter.set_result(None)
                break
        if self.waiting:
            asyncio.get_running_loop().call_soon(self.tick)
        else:
            self.ticking = False

    def keep_ticking(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.ticking:
            self.ticking = True
            loop.call_soon(self.tick)


_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # by event loop


async def fair_turn() -> None:
    """Wait for a later turn of the event loop when this one has run our work for `TURN_BUDGET`.

    Fifty notebooks opened at once come back from OneLake together, and their requests all wake
    in one turn of the loop: each then has the SDK read its answer, parses its notebook and
    builds its model. Back to back, they would hold the loop (every other request, a keystroke's
    save, a kernel's message) for as long as all of them take. Called before each such step,
    this lets steps through while the turn's budget lasts; the rest wait in order of arrival and
    go one per turn until none waits.
    """
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns()
    if not turns.waiting:
        now = turns.clock()
        if turns.started is None:
            turns.started = now
            turns.keep_ticking(loop)
            return
        if now - turns.started < TURN_BUDGET:
            return
    waiter = loop.create_future()
    turns.waiting.append(waiter)
    turns.keep_ticking(loop)
    await waiter


async def off_the_loop(func, data: bytes, *args):
    """`func(data, *args)`: in a worker thread when `data` is big, else on the loop in its fair turn."""
    if len(data) > THREAD_THRESHOLD:
        return await asyncio.to_thread(func, data, *args)
    await fair_turn()
    return func(data, *args)
