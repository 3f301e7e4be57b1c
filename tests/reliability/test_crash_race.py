"""kill -9 in the middle of saves and uploads; two servers racing on one notebook."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE
from tests.servers import JupyterServer

ROOT = f"{ITEM}/Files/home/crash"


@pytest.fixture
def lake():
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


def test_kill_9_during_saves_and_uploads_leaves_whole_files(lake, tmp_path):
    server = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path / "a").start()
    server.api("PUT", "c", json={"type": "directory"})
    versions: dict[str, set[bytes]] = {f"c/s{i}.txt": set() for i in range(3)}
    versions["c/upload.bin"] = set()
    stop = threading.Event()

    def saver(path: str) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            content = f"{path} version {n}\n".encode() * (1000 + n)
            versions[path].add(content)
            try:
                server.api(
                    "PUT", path, json={"type": "file", "format": "text", "content": content.decode()}, timeout=10
                )
            except Exception:
                return

    def uploader() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            content = bytes([n % 256]) * (3 * 1024 * 1024 + n)
            versions["c/upload.bin"].add(content)
            pieces = [content[i : i + 1024 * 1024] for i in range(0, len(content), 1024 * 1024)]
            for number, piece in enumerate(pieces, start=1):
                chunk = -1 if number == len(pieces) else number
                try:
                    server.api(
                        "PUT",
                        "c/upload.bin",
                        timeout=10,
                        json={
                            "type": "file",
                            "format": "base64",
                            "chunk": chunk,
                            "content": base64.b64encode(piece).decode(),
                        },
                    )
                except Exception:
                    return

    threads = [threading.Thread(target=saver, args=(p,)) for p in versions if p.endswith(".txt")]
    threads.append(threading.Thread(target=uploader))
    for t in threads:
        t.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    for t in threads:
        t.join()

    restarted = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path / "b").start()
    try:
        nodes = lake.namespace.workspaces[WORKSPACE].nodes
        for path, written in versions.items():
            node = nodes.get(f"{ROOT}/{path}")
            if node is not None:
                assert node.data in written, f"{path} holds {len(node.data)} bytes that no client wrote whole"
                assert node.data, f"{path} is empty"
        listed = {m["name"] for m in restarted.api("GET", "c").json()["content"]}
        assert listed <= {p.split("/")[1] for p in versions}
        assert not [m for m in listed if m.startswith(".")]
        assert sum(1 for p in versions if f"{ROOT}/{p}" in nodes) >= 3  # saves did happen before the kill
    finally:
        restarted.stop()


def test_two_servers_racing_on_one_notebook_lose_no_update(lake, tmp_path):
    servers = [JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path / name).start() for name in ("one", "two")]
    path = "race.txt"
    servers[0].api("PUT", path, json={"type": "file", "format": "text", "content": "start\n"})
    accepted: list[str] = []
    conflicts = [0]
    lock = threading.Lock()

    def client(server: JupyterServer, name: str) -> None:
        for n in range(15):
            for _attempt in range(50):
                current = server.api("GET", path).json()["content"]
                line = f"{name} edit {n}\n"
                response = server.api("PUT", path, json={"type": "file", "format": "text", "content": current + line})
                if response.status_code in (200, 201):
                    with lock:
                        accepted.append(line)
                    break
                assert response.status_code == 409, response.text
                assert "changed in OneLake" in response.json()["message"]
                with lock:
                    conflicts[0] += 1

    # one browser per server, as in JupyterHub: each server guards its own user's saves with
    # If-Match; two tabs on one server are JupyterLab's business (its "file changed" check)
    threads = [
        threading.Thread(target=client, args=(server, name)) for server, name in zip(servers, ("a", "b"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        final = lake.namespace.workspaces[WORKSPACE].nodes[f"{ROOT}/{path}"].data.decode()
        # every save that was accepted is in the file: no update was lost
        assert sorted(final.splitlines()[1:]) == sorted(line.strip() for line in accepted)
        assert len(accepted) == 30
        assert conflicts[0] > 0  # the race did happen, and losers were told
    finally:
        for server in servers:
            server.stop()
