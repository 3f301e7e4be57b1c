"""Fault soak: a scripted workload from concurrent clients through a real Jupyter Server while
OneLake (the emulator) fails 20 % of requests. Nothing may be lost, truncated or half-visible.

Sized for CI by default; `make soak` runs it longer (SOAK_OPS per worker).
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from onelake_contents.emulator import Emulator
from tests.conftest import ARTIFACTS, ITEM, WORKSPACE
from tests.servers import JupyterServer

ROOT = f"{ITEM}/Files/home/soak"
WORKERS = int(os.environ.get("SOAK_WORKERS", "6"))
OPS = int(os.environ.get("SOAK_OPS", "300"))
SLOW = 0.8
REPORT = ARTIFACTS / "soak-report.json"


@dataclass
class FileState:
    path: str
    acceptable: set[bytes] = field(default_factory=set)
    uncertain_path: str | None = None


class Worker(threading.Thread):
    def __init__(self, index: int, server: JupyterServer, stats: Counter, problems: list[str]):
        super().__init__(name=f"soak-{index}")
        self.index, self.server, self.stats, self.problems = index, server, stats, problems
        self.random = random.Random(index)
        self.folder = f"w{index}"
        self.files = [FileState(f"{self.folder}/f{i}.txt") for i in range(4)]
        self.version = 0

    # ---- helpers ---------------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs):
        response = self.server.api(method, path, **kwargs)
        self.stats["operations"] += 1
        if response.status_code >= 500:
            self.stats["client-visible 5xx"] += 1
            if "OneLake" not in response.text:
                self.problems.append(f"unclear 5xx for {method} {path}: {response.text[:200]}")
        return response

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.name}: {text}")

    def settle(self, state: FileState) -> None:
        """After an uncertain rename, find where the file is (retrying reads through faults)."""
        if state.uncertain_path is None:
            return
        # a request that timed out may still be applied by OneLake a moment later (the slow fault
        # sleeps SLOW seconds): look once that has passed, as a user would after an error
        time.sleep(SLOW + 0.2)
        where = {}
        for candidate in (state.path, state.uncertain_path):
            for _ in range(20):
                response = self.server.api("GET", candidate, params={"content": 0})
                if response.status_code < 500:
                    where[candidate] = response.status_code == 200
                    break
            else:
                return  # could not tell yet; try again later
        if where[state.path] == where[state.uncertain_path]:
            self.problem(f"after an uncertain rename both or neither exist: {state.path}, {state.uncertain_path}")
        elif where[state.uncertain_path]:
            state.path = state.uncertain_path
        state.uncertain_path = None

    # ---- operations --------------------------------------------------------------------------
    def save(self, state: FileState) -> None:
        self.version += 1
        content = f"{state.path}#v{self.version}\n".encode() * self.random.randint(1, 50)
        response = self.call("PUT", state.path, json={"type": "file", "format": "text", "content": content.decode()})
        if response.status_code in (200, 201):
            state.acceptable = {content}
        elif response.status_code >= 500:
            state.acceptable.add(content)  # it may or may not have landed
        elif response.status_code == 409:
            self.stats["false conflicts"] += 1
            self.problem(f"409 on {state.path}, which only this client writes: {response.text[:200]}")
        else:
            self.problem(f"save {state.path}: HTTP {response.status_code} {response.text[:200]}")

    def open(self, state: FileState) -> None:
        response = self.call("GET", state.path)
        if response.status_code == 200:
            model = response.json()
            data = base64.b64decode(model["content"]) if model["format"] == "base64" else model["content"].encode()
            if data not in state.acceptable:
                self.problem(f"read of {state.path} gave a version never written ({len(data)} bytes)")
        elif response.status_code < 500:
            self.problem(f"open {state.path}: HTTP {response.status_code}")

    def listing(self) -> None:
        response = self.call("GET", self.folder)
        if response.status_code == 200:
            names = {m["name"] for m in response.json()["content"]}
            if any(n.startswith(".") for n in names):
                self.problem(f"hidden or staged names listed: {names}")

    def rename(self, state: FileState) -> None:
        self.version += 1
        target = f"{self.folder}/f-{self.version}.txt"
        response = self.call("PATCH", state.path, json={"path": target})
        if response.status_code == 200:
            state.path = target
        elif response.status_code >= 500:
            state.uncertain_path = target
        else:
            self.problem(f"rename {state.path}: HTTP {response.status_code} {response.text[:200]}")

    def checkpoint(self, state: FileState) -> None:
        response = self.call("POST", f"{state.path}/checkpoints")
        if response.status_code not in (201,) and response.status_code < 500:
            self.problem(f"checkpoint {state.path}: HTTP {response.status_code} {response.text[:200]}")

    def upload(self, state: FileState) -> None:
        self.version += 1
        content = os.urandom(64 * 1024) * 3
        pieces = [content[i : i + 64 * 1024] for i in range(0, len(content), 64 * 1024)]
        for _attempt in range(4):
            for number, piece in enumerate(pieces, start=1):
                chunk = -1 if number == len(pieces) else number
                response = self.call(
                    "PUT",
                    state.path,
                    json={
                        "type": "file",
                        "format": "base64",
                        "chunk": chunk,
                        "content": base64.b64encode(piece).decode(),
                    },
                )
                if response.status_code >= 500:
                    if chunk == -1:
                        state.acceptable.add(content)
                    break
                if response.status_code >= 400:
                    self.problem(
                        f"upload {state.path} chunk {chunk}: HTTP {response.status_code} {response.text[:200]}"
                    )
                    return
            else:
                state.acceptable = {content}
                return

    def run(self) -> None:
        self.call("PUT", self.folder, json={"type": "directory"})
        for state in self.files:
            for _ in range(10):
                self.save(state)
                if len(state.acceptable) == 1:
                    break
        actions = [
            (self.save, 35),
            (self.open, 25),
            (None, 15),
            (self.rename, 10),
            (self.checkpoint, 10),
            (self.upload, 5),
        ]
        for _ in range(OPS):
            state = self.random.choice(self.files)
            self.settle(state)
            if state.uncertain_path is not None:
                continue
            action = self.random.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
            if action is None:
                self.listing()
            else:
                action(state)
        for state in self.files:
            for _ in range(20):
                self.settle(state)
                if state.uncertain_path is None:
                    break


@pytest.fixture
def soak_lake():
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


def test_fault_soak_loses_nothing(soak_lake, tmp_path):
    server = JupyterServer(
        soak_lake.info,
        WORKSPACE,
        ROOT,
        tmp_path,
        "--OneLakeContentsManager.read_timeout=0.5",
        "--OneLakeContentsManager.metadata_ttl=1",
    ).start()
    stats: Counter = Counter()
    problems: list[str] = []
    try:
        soak_lake.set_faults(
            probability=0.2,
            kinds={"503": 1, "429": 1, "reset": 1, "slow": 1, "lost": 1},
            retry_after=0.1,
            slow_seconds=SLOW,
            seed=7,
        )
        workers = [Worker(i, server, stats, problems) for i in range(WORKERS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        injected = soak_lake.faults_injected
        soak_lake.clear_faults()

        nodes = soak_lake.namespace.workspaces[WORKSPACE].nodes
        checked = lost = 0
        for worker in workers:
            for state in worker.files:
                checked += 1
                node = nodes.get(f"{ROOT}/{state.path}")
                if node is None or node.data not in state.acceptable:
                    lost += 1
                    problems.append(
                        f"{state.path}: OneLake holds {None if node is None else len(node.data)} bytes, not a version written"
                    )
            visible = {m["name"] for m in server.api("GET", worker.folder).json()["content"]}
            expected = {s.path.rsplit("/", 1)[1] for s in worker.files}
            if visible != expected:
                problems.append(f"{worker.folder} lists {sorted(visible)}, expected {sorted(expected)}")
        report = {
            "workers": WORKERS,
            "operations": stats["operations"],
            "faults injected": {k: v for k, v in injected.items() if v},
            "faults injected (total)": sum(injected.values()),
            "client-visible 5xx": stats["client-visible 5xx"],
            "false conflicts": stats["false conflicts"],
            "files checked": checked,
            "lost or truncated": lost,
            "problems": problems[:20],
        }
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(report, indent=1))
        print(json.dumps(report, indent=1))
    finally:
        server.stop()
    assert stats["operations"] >= WORKERS * OPS
    assert sum(injected.values()) > stats["operations"] * 0.1
    assert problems == []
    assert lost == 0 and stats["false conflicts"] == 0
