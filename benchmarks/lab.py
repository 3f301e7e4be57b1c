"""What a user feels when JupyterLab loads: `/lab` restoring a workspace with two notebooks open
and the file browser in a folder of 200 entries, in headless Chromium (Debian's, like the browser
tests).

For each backend: the first load after the server started, then reloads. Measured: the time from
navigation until the notebook on screen shows its cells and the file browser its 200 entries, and
the store requests the whole load made (counted until the page has been quiet for a while, so
late requests such as checkpoint listings are in).
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from benchmarks.harness import Backend, OneLakeBackend

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FOLDER = "lab200"
NOTEBOOKS = ("analysis.ipynb", "report.ipynb")
ENTRIES = 200
SETTLE_MS = 3000  # the page is loaded; what it still asks for in this time counts too


BIG = 20000  # the large folder opened in the file browser
BIG_FOLDER = f"big{BIG}"


def seed(notebook: bytes) -> dict[str, bytes]:
    files = {f"{FOLDER}/{name}": notebook for name in NOTEBOOKS}
    for i in range(ENTRIES - len(NOTEBOOKS)):
        files[f"{FOLDER}/data-{i:03d}.csv"] = b"a,b\n1,2\n"
    for i in range(BIG):
        files[f"{BIG_FOLDER}/f{i:05d}.txt"] = b"x"
    return files


def available() -> str | None:
    """Why the row cannot be measured here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt install chromium, or set CHROMIUM)"
    return None


def workspace(name: str) -> dict:
    ids = [f"notebook:{FOLDER}/{n}" for n in NOTEBOOKS]
    data = {
        "layout-restorer:data": {
            "main": {"dock": {"type": "tab-area", "currentIndex": 1, "widgets": ids}, "current": ids[1]},
            "left": {"collapsed": False, "visible": True, "current": "filebrowser", "widgets": ["filebrowser"]},
            "right": {"collapsed": True, "visible": True, "widgets": []},
            "down": {"size": 0, "widgets": []},
            "relativeSizes": [0.25, 0.75, 0],
        },
        "file-browser-filebrowser:cwd": {"path": FOLDER},
    }
    for notebook_id, notebook in zip(ids, NOTEBOOKS, strict=True):
        data[notebook_id] = {"data": {"path": f"{FOLDER}/{notebook}", "factory": "Notebook"}}
    return {"data": data, "metadata": {"id": name}}


@dataclass
class LabLoad:
    backend: str
    first_ms: float
    reload_ms: list[float]
    first_requests: int | None
    reload_requests: list[int | None]
    first_operations: Counter = field(default_factory=Counter)
    big_ms: float | None = None
    big_requests: int | None = None


@contextmanager
def fresh_page(browser):
    """A page in a browser context of its own (no cookies, cache or storage from before)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def notebook_shown(page) -> None:
    page.locator(".jp-NotebookPanel >> visible=true").locator(".jp-Cell .cm-content").first.wait_for(timeout=120_000)


def measure(backend: Backend, browser, reloads: int = 2) -> LabLoad:
    server = backend.server
    name = f"bench-{secrets.token_hex(3)}"
    server.session.put(f"{server.url}/lab/api/workspaces/{name}", json=workspace(name), timeout=60).raise_for_status()
    times, counts, operations = [], [], Counter()
    for attempt in range(1 + reloads):
        with fresh_page(browser) as page:
            backend.reset()
            started = time.perf_counter()
            page.goto(f"{server.url}/lab/workspaces/{name}?token={server.token}")
            notebook_shown(page)
            page.wait_for_function(
                "n => document.querySelectorAll('#filebrowser .jp-DirListing-item').length >= n",
                arg=ENTRIES,
                timeout=120_000,
            )
            times.append((time.perf_counter() - started) * 1000)
            page.wait_for_timeout(SETTLE_MS)
            counts.append(backend.requests())
            if attempt == 0 and isinstance(backend, OneLakeBackend):
                operations = Counter(r["operation"] for r in backend.records())
    big_ms, big_requests = open_big_folder(backend, browser)
    return LabLoad(backend.name, times[0], times[1:], counts[0], counts[1:], operations, big_ms, big_requests)


def open_big_folder(backend: Backend, browser) -> tuple[float, int | None]:
    """The file browser sent to the folder of BIG entries (`/lab/tree/<it>`): time until it shows
    them, then a notebook opened from another folder still renders (the server is not stuck)."""
    server = backend.server
    with fresh_page(browser) as page:
        backend.reset()
        started = time.perf_counter()
        page.goto(f"{server.url}/lab/tree/{BIG_FOLDER}?token={server.token}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#filebrowser .jp-DirListing-itemText')]"
            ".some(e => e.textContent === 'f19999.txt' || e.textContent === 'f00000.txt')",
            timeout=300_000,
        )
        elapsed = (time.perf_counter() - started) * 1000
        requests_made = backend.requests()
        page.goto(f"{server.url}/lab/tree/{FOLDER}/{NOTEBOOKS[0]}?token={server.token}")
        notebook_shown(page)
        return elapsed, requests_made


def table(loads: list[LabLoad], rtt: float) -> str:
    lines = [
        "| contents manager | first load ms | store requests | reload ms (median) | store requests | "
        f"folder of {BIG:,} shown ms | store requests |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for load in loads:
        reload_ms = statistics.median(load.reload_ms) if load.reload_ms else None
        reload_requests = [r for r in load.reload_requests if r is not None]
        lines.append(
            f"| {load.backend} | {load.first_ms:.0f} | {'-' if load.first_requests is None else load.first_requests} | "
            f"{'-' if reload_ms is None else f'{reload_ms:.0f}'} | "
            f"{statistics.median(reload_requests) if reload_requests else '-'} | "
            f"{'-' if load.big_ms is None else f'{load.big_ms:.0f}'} | "
            f"{'-' if load.big_requests is None else load.big_requests} |"
        )
    ours = next((load for load in loads if load.first_operations), None)
    if ours is not None:
        made = ", ".join(f"{op} {n}" for op, n in sorted(ours.first_operations.items()))
        lines.append(f"\nOneLake requests of the first load, by operation: {made} (at {rtt:g} ms RTT).")
    return "\n".join(lines)


def run(backends: list[Backend], rtt: float) -> str:
    """The Markdown section, or a line saying why it was not measured."""
    missing = available()
    if missing:
        return f"Not measured in this run: {missing}."
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            loads = [measure(backend, browser) for backend in backends]
        finally:
            browser.close()
    return table(loads, rtt)
