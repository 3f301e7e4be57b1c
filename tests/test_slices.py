"""turns.in_slices: long builds give the event loop a turn (counted in turns, not in time)."""

from __future__ import annotations

import asyncio

from onelake_contents.turns import SLICE, in_slices


async def test_a_long_build_lets_other_tasks_run_between_slices():
    turns = 0
    seen_by_ticker: list[int] = []
    built: list[int] = []

    async def ticker():
        nonlocal turns
        while True:
            turns += 1
            seen_by_ticker.append(len(built))
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker starts
    items = list(range(3 * SLICE + 5))
    result = await in_slices(items, lambda i: built.append(i) or i * 2)
    task.cancel()
    assert result == [i * 2 for i in items]
    # the ticker ran between slices, each time after a whole slice was built
    between = [n for n in seen_by_ticker if 0 < n < len(items)]
    assert between == [SLICE, 2 * SLICE, 3 * SLICE]
