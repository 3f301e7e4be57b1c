"""Copying a large file between two roots of one tree (two workspaces), through a real Jupyter
Server's contents API, beside jupyter_server's file manager copying the same file on local disk.

For onelake-contents OneLake copies the file itself (Put Blob From URL with the user's token as
the source's authorization): it reports the OneLake requests, the time at an injected round trip
and how much the Jupyter server's memory grew (its peak RSS, read from /proc). The file manager's
copy goes through `get` and `save`, so it holds the file in the server's memory, base64 and all.

    python -m benchmarks.tree_copy                  # 1 GiB, 25 ms RTT
    python -m benchmarks.tree_copy --mib 100 --rtt 25
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import requests

from onelake_contents.emulator import Emulator
from tests.servers import JupyterServer

TEAM, SALES = "Team.Lakehouse", "Sales.Lakehouse"


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def copy_through(server: JupyterServer, source: str, folder: str) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = server.api("POST", folder, json={"copy_from": source}, timeout=3600)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed, answer.json()


def onelake_run(size: int, rtt_ms: float, workdir: Path) -> dict:
    with Emulator({"analytics": [TEAM], "sales": [SALES]}) as lake:
        data = os.urandom(1024 * 1024) * (size // (1024 * 1024))
        lake.namespace.write_file(lake.namespace.workspaces["sales"], f"{SALES}/Files/big.bin", data)
        del data
        roots = {"home": f"analytics/{TEAM}/Files/home/bench", "sales": f"sales/{SALES}/Files"}
        server = JupyterServer(
            lake.info,
            "analytics",
            f"{TEAM}/Files/home/bench",
            workdir / "onelake",
            env={"ONELAKE_ROOTS": json.dumps(roots)},
        ).start()
        try:
            server.api("GET", "home").raise_for_status()  # the home exists, both roots are known
            server.api("GET", "sales").raise_for_status()
            before = current_rss_mib(server.process.pid)
            lake.set_latency(rtt_ms)
            lake.reset_requests()
            elapsed, model = copy_through(server, "sales/big.bin", "home")
            operations = [f"{r.operation} {r.status}" for r in lake.requests()]
            copied = lake.namespace.workspaces["analytics"].nodes[f"{TEAM}/Files/home/bench/big.bin"].size
            return {
                "ms": elapsed,
                "requests": operations,
                "bytes_in": sum(r.bytes_in for r in lake.requests()),
                "rss_before_mib": before,
                "peak_rss_mib": peak_rss_mib(server.process.pid),
                "copied": copied == size and model["size"] == size,
            }
        finally:
            server.stop()


def file_manager_run(size: int, workdir: Path) -> dict:
    root = workdir / "local"
    (root / "sales").mkdir(parents=True)
    (root / "home").mkdir()
    with open(root / "sales" / "big.bin", "wb") as out:
        chunk = os.urandom(1024 * 1024)
        for _ in range(size // (1024 * 1024)):
            out.write(chunk)
    server = JupyterServer(
        None,
        "",
        "",
        workdir / "fm",
        "--ServerApp.max_body_size=4294967296",
        contents_manager_class="jupyter_server.services.contents.largefilemanager.AsyncLargeFileManager",
        root_dir=root,
    ).start()
    try:
        before = current_rss_mib(server.process.pid)
        try:
            elapsed, _ = copy_through(server, "sales/big.bin", "home")
            ok = (root / "home" / "big.bin").stat().st_size == size
        except requests.RequestException as error:
            elapsed, ok = float("nan"), f"failed: {error}"
        return {"ms": elapsed, "rss_before_mib": before, "peak_rss_mib": peak_rss_mib(server.process.pid), "copied": ok}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tree_copy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--rtt", type=float, default=25.0, help="injected round trip in ms (default 25)")
    args = parser.parse_args(argv)
    size = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="onelake-bench-tree-") as tmp:
        ours = onelake_run(size, args.rtt, Path(tmp))
        theirs = file_manager_run(size, Path(tmp))
    print(f"| contents manager | copy of {args.mib} MiB between roots | requests | server memory before | peak |")
    print("|---|---:|---|---:|---:|")
    print(
        f"| onelake-contents ({args.rtt:g} ms RTT) | {ours['ms']:.0f} ms | {', '.join(ours['requests'])} "
        f"({ours['bytes_in']} bytes sent) | {ours['rss_before_mib']:.0f} MiB | {ours['peak_rss_mib']:.0f} MiB |"
    )
    print(
        f"| jupyter_server file manager (local disk) | {theirs['ms']:.0f} ms | - "
        f"| {theirs['rss_before_mib']:.0f} MiB | {theirs['peak_rss_mib']:.0f} MiB |"
    )
    print(json.dumps({"onelake": ours, "file_manager": theirs}, default=str))
    return 0 if ours["copied"] is True else 1


if __name__ == "__main__":
    raise SystemExit(main())
