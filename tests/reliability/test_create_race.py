"""Two servers creating a new notebook in the same folder at the same moment: one takes
`Untitled.ipynb`, the other the next free name; never both the same (the same bytes written by
another server are not mistaken for our own landed write)."""

from __future__ import annotations

import asyncio
import multiprocessing

from onelake_contents import OneLakeContentsManager
from tests.conftest import ITEM, WORKSPACE

ROOT = f"{ITEM}/Files/home/race"
ROUNDS = 50


def create_in_every_round(settings: dict, barrier, results) -> None:
    async def run() -> list[str]:
        names = []
        async with OneLakeContentsManager(**settings) as cm:
            await cm.dir_exists("")
            for round_number in range(ROUNDS):
                await asyncio.to_thread(barrier.wait)  # both servers go at once
                model = await cm.new_untitled(path=f"r{round_number}", type="notebook")
                names.append(model["path"])
        return names

    results.put(asyncio.run(run()))


async def test_two_servers_never_both_create_the_same_new_notebook(emulator):
    settings = {
        "workspace": WORKSPACE,
        "root": ROOT,
        "endpoint": emulator.endpoint,
        "broker_url": emulator.broker_url,
        "broker_token": emulator.broker_token,
        "ca_file": emulator.ca_file,
    }
    async with OneLakeContentsManager(**settings) as cm:
        for round_number in range(ROUNDS):
            await cm.save({"type": "directory"}, f"r{round_number}")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    servers = [context.Process(target=create_in_every_round, args=(settings, barrier, results)) for _ in range(2)]
    for server in servers:
        server.start()
    first, second = await asyncio.to_thread(results.get, timeout=300), await asyncio.to_thread(results.get, timeout=300)
    for server in servers:
        server.join(timeout=60)
    assert all(server.exitcode == 0 for server in servers)
    same = [(a, b) for a, b in zip(first, second, strict=True) if a == b]
    assert same == []
    assert sorted(first + second) == sorted(
        f"r{i}/{name}" for i in range(ROUNDS) for name in ("Untitled.ipynb", "Untitled1.ipynb")
    )
    nodes = emulator.namespace.workspaces[WORKSPACE].nodes
    assert all(f"{ROOT}/{path}" in nodes for path in first + second)
