"""turns.fair_turn: steps that wake together share the event loop's turns.

Time is a fake clock each step advances by hand, and turns are counted by a callback that runs
once in every turn of the loop: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from onelake_contents.turns import TURN_BUDGET, _Turns, fair_turn


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_Turns, "clock", staticmethod(fake))
    return fake


class TurnCounter:
    """Counts the loop's turns: a callback that runs once per turn and schedules itself again."""

    def __init__(self):
        self.turn = 0
        self.loop = asyncio.get_running_loop()
        self.handle = self.loop.call_soon(self._tick)

    def _tick(self):
        self.turn += 1
        self.handle = self.loop.call_soon(self._tick)

    def stop(self):
        self.handle.cancel()


async def steps_at_once(clock, count: int, cost: float) -> list[tuple[int, int]]:
    """`count` tasks woken in one turn, each passing `fair_turn` and then working `cost` seconds:
    (step, turn it ran in), in the order they ran."""
    counter = TurnCounter()
    ran: list[tuple[int, int]] = []
    start = asyncio.Event()

    async def step(i):
        await start.wait()
        await fair_turn()
        ran.append((i, counter.turn))
        clock.now += cost

    tasks = [asyncio.create_task(step(i)) for i in range(count)]
    await asyncio.sleep(0)
    start.set()  # all of them wake in the same turn
    await asyncio.gather(*tasks)
    counter.stop()
    return ran


async def test_steps_woken_together_run_within_the_budget_then_one_per_turn_in_order(clock):
    cost = TURN_BUDGET * 0.6  # two fit in a budget: the second starts before it is spent
    ran = await steps_at_once(clock, 10, cost)
    assert [i for i, _ in ran] == list(range(10))  # in the order they arrived
    turns = [turn for _, turn in ran]
    assert turns[0] == turns[1]  # the budget's worth in the first turn
    assert all(later > earlier for earlier, later in itertools.pairwise(turns[1:]))  # then one per turn
    per_turn = {turn: turns.count(turn) for turn in turns}
    assert max(per_turn.values()) == 2


async def test_cheap_steps_all_run_in_one_turn(clock):
    ran = await steps_at_once(clock, 20, 0.0)
    assert len({turn for _, turn in ran}) == 1


async def test_a_new_turn_starts_a_new_budget(clock):
    await fair_turn()
    clock.now += TURN_BUDGET * 2  # this turn's budget is spent
    counter = TurnCounter()
    first = counter.turn
    await fair_turn()  # waits for a later turn
    assert counter.turn > first
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    turn = counter.turn
    await fair_turn()  # the queue is empty and a new turn began: through at once
    assert counter.turn == turn
    counter.stop()


async def test_a_cancelled_waiter_does_not_hold_up_the_others(clock):
    async def spend():
        await fair_turn()
        clock.now += TURN_BUDGET * 2

    spender = asyncio.create_task(spend())
    waiting = [asyncio.create_task(fair_turn()) for _ in range(3)]
    await asyncio.sleep(0)  # one turn: the first spends the budget, the three queue
    await spender
    assert not any(task.done() for task in waiting)
    waiting[0].cancel()
    await asyncio.wait_for(asyncio.gather(waiting[1], waiting[2]), timeout=30)
    assert waiting[0].cancelled()


def test_each_event_loop_has_its_own_turns(clock):
    async def spend_and_leave():
        await fair_turn()
        clock.now += TURN_BUDGET * 10  # a loop that ends mid-turn, its budget spent

    asyncio.run(spend_and_leave())

    async def fresh():
        counter = TurnCounter()
        turn = counter.turn
        await fair_turn()  # a new loop owes nothing to the old one's turn
        assert counter.turn == turn
        counter.stop()

    asyncio.run(fresh())
