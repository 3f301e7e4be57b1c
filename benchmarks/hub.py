"""Many users through JupyterHub: N users' servers on the emulator, each user opening and saving
notebooks for a while through the hub's proxy, at an injected round trip to OneLake.

    python -m benchmarks.hub                   # 10 users, 2 minutes, 25 ms RTT; updates RESULTS.md
    python -m benchmarks.hub --smoke           # 3 users, 6 s (CI); prints the report only

Reports p50/p95 per action, each server's resident memory, errors (any answer but the expected
one, must be 0) and lost writes (a save the server acknowledged that OneLake does not hold at the
end, must be 0). The report replaces the "Many users" section of RESULTS.md and nothing else.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.credential import BrokerCredential
from onelake_contents.hubdemo import ITEM, WORKSPACE, start_hub

HERE = Path(__file__).resolve().parent
SECTION_START = "<!-- many-users -->"
SECTION_END = "<!-- /many-users -->"
NOTEBOOKS = 3


def notebook(user: str, seq: int) -> dict:
    """A ~2 KB notebook whose last cell says which save made it."""
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": f"x{i} = {i} * 7  # " + "." * 60,
        }
        for i in range(20)
    ]
    cells.append({"cell_type": "markdown", "metadata": {}, "source": f"saved by {user}, #{seq}"})
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@dataclass
class UserRun:
    name: str
    token: str
    url: str
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # notebook -> seq of its last saved version

    def timed(self, action: str, call, expect: int) -> requests.Response | None:
        started = time.perf_counter()
        try:
            answer = call()
        except requests.RequestException as error:
            self.errors.append(f"{action}: {type(error).__name__}")
            return None
        self.times.setdefault(action, []).append((time.perf_counter() - started) * 1000)
        if answer.status_code != expect:
            self.errors.append(f"{action}: HTTP {answer.status_code} {answer.text[:120]}")
            return None
        return answer

    def run(self, until: float, think: float) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"token {self.token}"
        api = f"{self.url}/api/contents"
        seq = 0
        for i in range(NOTEBOOKS):
            path = f"bench-{i}.ipynb"
            if self.timed(
                "create",
                lambda p=path: session.put(
                    f"{api}/{p}", json={"type": "notebook", "content": notebook(self.name, 0)}, timeout=60
                ),
                201,
            ):
                self.acknowledged[path] = 0
        while time.monotonic() < until:
            for i in range(NOTEBOOKS):
                if time.monotonic() >= until:
                    break
                path = f"bench-{i}.ipynb"
                self.timed("open notebook", lambda p=path: session.get(f"{api}/{quote(p)}", timeout=60), 200)
                time.sleep(think)
                seq += 1
                body = {"type": "notebook", "content": notebook(self.name, seq)}
                if self.timed(
                    "save notebook", lambda p=path, b=body: session.put(f"{api}/{quote(p)}", json=b, timeout=60), 200
                ):
                    self.acknowledged[path] = seq
                time.sleep(think)
            self.timed("list home", lambda: session.get(f"{api}/", timeout=60), 200)
        session.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_memory(stack) -> dict[str, float]:
    """Resident memory (MiB) of each user's server process, by user."""
    found = {}
    for proc in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            cmdline = " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            continue
        match = re.search(r"users/([^/\s]+)/work", cmdline)
        if "jupyterhub.singleuser" in cmdline and match:
            found[match.group(1)] = proc.memory_info().rss / 2**20
    return found


def lost_writes(stack, runs: list[UserRun]) -> list[str]:
    """Saves a server acknowledged whose version OneLake does not hold."""
    emulator = stack.emulator
    credential = BrokerCredential(emulator.broker_url, client_token=emulator.broker_token, ca_file=emulator.ca_file)
    client = DataLakeServiceClient(emulator.endpoint, credential=credential, connection_verify=emulator.ca_file)
    fs = client.get_file_system_client(WORKSPACE)
    lost = []
    for run in runs:
        for path, seq in run.acknowledged.items():
            stored = json.loads(fs.get_file_client(f"{ITEM}/Files/home/{run.name}/{path}").download_file().readall())
            source = "".join(stored["cells"][-1]["source"])  # nbformat writes sources as lists of lines
            if source != f"saved by {run.name}, #{seq}":
                lost.append(f"{run.name}/{path}: acknowledged #{seq}, OneLake holds {source!r}")
    return lost


def report(
    args, runs: list[UserRun], memory: dict[str, float], lost: list[str], requests_by_op: dict[str, int], broker: dict
) -> str:
    lines = [
        SECTION_START,
        "## Many users through JupyterHub\n",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {psutil.cpu_count()} CPUs "
        f"(the hub, the proxy, {args.users} servers, the emulator and the clients share them): {args.users} users, each "
        f"opening and saving {NOTEBOOKS} notebooks of ~2 KB in turn (a {args.think_ms:g} ms pause after each action, a "
        f"listing of the home after each round) for {args.seconds:g} s through the hub's proxy; "
        f"**{args.rtt_ms:g} ms** injected round trip to OneLake; every user its own OneLake identity "
        "(the broker in hub mode). `python -m benchmarks.hub` (`make bench-hub`).\n",
        "| action | samples | p50 ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    for action in ("create", "open notebook", "save notebook", "list home"):
        values = [v for run in runs for v in run.times.get(action, [])]
        if values:
            lines.append(
                f"| {action} | {len(values)} | {statistics.median(values):.0f} | {percentile(values, 0.95):.0f} |"
            )
    errors = [e for run in runs for e in run.errors]
    rss = sorted(memory.values())
    lines += [
        "",
        f"- errors: **{len(errors)}**; lost writes: **{len(lost)}** (of {sum(len(r.acknowledged) for r in runs)} notebooks, "
        f"{sum(len(r.times.get('save notebook', [])) for r in runs)} acknowledged saves)",
        f"- server memory (RSS) per user ({len(rss)} servers): median {statistics.median(rss):.0f} MiB, max {max(rss):.0f} MiB"
        if rss
        else "- server memory: not measured",
        f"- OneLake requests: {sum(requests_by_op.values())} ({', '.join(f'{op} {n}' for op, n in sorted(requests_by_op.items(), key=lambda kv: -kv[1]))})",
        f"- broker: {broker['tokens_issued']} tokens issued, {broker['hub_lookups']} questions to the hub",
        SECTION_END,
    ]
    if errors:
        lines.insert(-1, "- first errors: " + "; ".join(errors[:5]))
    if lost:
        lines.insert(-1, "- lost: " + "; ".join(lost[:5]))
    return "\n".join(lines) + "\n"


def replace_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if SECTION_START in text:
        before, _, rest = text.partition(SECTION_START)
        text = before + section + rest.partition(SECTION_END)[2].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--rtt-ms", type=float, default=25.0)
    parser.add_argument("--think-ms", type=float, default=100.0, help="pause after each action (default 100)")
    parser.add_argument("--smoke", action="store_true", help="3 users for 6 s; the report is printed, not saved")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.seconds = 3, 6.0
    names = tuple(f"user{i:02d}" for i in range(args.users))
    stack = start_hub(layout="home", users=names, latency_ms=args.rtt_ms)
    try:
        runs = [UserRun(name, stack.user_token(name), f"{stack.url}/user/{name}") for name in names]
        starters = [threading.Thread(target=stack.start_server, args=(name,)) for name in names]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        stack.emulator.reset_requests()
        until = time.monotonic() + args.seconds
        workers = [threading.Thread(target=run.run, args=(until, args.think_ms / 1000)) for run in runs]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        memory = server_memory(stack)
        by_op: dict[str, int] = {}
        for record in stack.emulator.requests():
            by_op[record.operation] = by_op.get(record.operation, 0) + 1
        lost = lost_writes(stack, runs)
        broker = {
            "tokens_issued": stack.emulator.broker.state.tokens_issued,
            "hub_lookups": stack.emulator.broker.state.hub_lookups,
        }
    finally:
        stack.stop()
    section = report(args, runs, memory, lost, by_op, broker)
    print(section)
    if not args.smoke:
        replace_section(HERE / "RESULTS.md", section)
    errors = sum(len(run.errors) for run in runs)
    print(json.dumps({"errors": errors, "lost_writes": len(lost), "users": args.users}))
    return 1 if errors or lost else 0


if __name__ == "__main__":
    sys.exit(main())
