"""R on OneLake: the `onelake` R package (r/onelake) in an R notebook's kernel (IRkernel, started
through a real Jupyter server, tokens from the server's relay) and in a cron-style `Rscript` with
the settings file, with the same path rules as `onelake://`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE
from tests.servers import JupyterServer, run_in_kernel

PACKAGE = Path(__file__).resolve().parent.parent / "r" / "onelake"
ROOT = f"{ITEM}/Files/home/ruser"
pytestmark = pytest.mark.skipif(
    shutil.which("Rscript") is None or not Path("/usr/share/jupyter/kernels/ir").exists(),
    reason="R and IRkernel come from Debian (r-base-core, r-cran-irkernel; .ci/run installs them)",
)


@pytest.fixture(scope="module")
def r_library(tmp_path_factory) -> Path:
    library = tmp_path_factory.mktemp("r-library")
    installed = subprocess.run(
        ["R", "CMD", "INSTALL", "-l", str(library), str(PACKAGE)], capture_output=True, text=True, timeout=300
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    return library


@pytest.fixture(scope="module")
def lake():
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


def held(lake, path: str) -> bytes | None:
    node = lake.namespace.workspaces[WORKSPACE].nodes.get(f"{ROOT}/{path}")
    return None if node is None else node.data


R_NOTEBOOK = """
library(onelake)
sales <- onelake_read_csv("data.csv")
cat("SUM", sum(sales$value), "\\n")
onelake_write_csv(data.frame(total = sum(sales$value)), "out/total.csv")
listed <- onelake_ls()
cat("LISTED", paste(sort(listed$name), collapse = ","), "\\n")
shared <- tryCatch(onelake_read_csv("//other-ws/X.Lakehouse/Files/y.csv"), error = function(e) conditionMessage(e))
cat("ELSEWHERE", shared, "\\n")
cat("BROKER", Sys.getenv("ONELAKE_BROKER_URL"), "\\n")
"""


def test_an_r_notebook_reads_and_writes_beside_itself_through_its_server(lake, r_library, tmp_path):
    server = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path, env={"R_LIBS": str(r_library)}).start()
    try:
        assert server.api("PUT", "proj", json={"type": "directory"}).status_code == 201
        csv = "name,value\na,1\nb,41\n"
        server.api("PUT", "proj/data.csv", json={"type": "file", "format": "text", "content": csv})
        server.api("PUT", "proj/analysis.ipynb", json={"type": "notebook", "content": EMPTY_R_NOTEBOOK})
        printed = run_in_kernel(server, "proj/analysis.ipynb", R_NOTEBOOK, kernel_name="ir")
        lines = dict(line.split(" ", 1) for line in printed.strip().splitlines())
        assert lines["SUM"].strip() == "42"
        assert lines["LISTED"].strip() == "analysis.ipynb,data.csv,out"
        assert "HTTP 403" in lines["ELSEWHERE"] or "HTTP 404" in lines["ELSEWHERE"]
        assert lines["BROKER"].strip() == server.url  # the kernel's tokens come from its own server
        assert held(lake, "proj/out/total.csv") == b'"total"\n42\n'
        listing = server.api("GET", "proj/out").json()["content"]
        assert [m["name"] for m in listing] == ["total.csv"]
        assert lake.broker_token not in printed
    finally:
        server.stop()


EMPTY_R_NOTEBOOK = {
    "cells": [],
    "metadata": {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def cron_environment(lake, tmp_path: Path, r_library: Path) -> dict:
    """A script's environment under cron: no ONELAKE_* variables, only the settings file."""
    token_file = tmp_path / "client-token"
    token_file.write_text(lake.broker_token)
    settings = {
        "endpoint": lake.endpoint,
        "workspace": WORKSPACE,
        "root": ROOT,
        "broker_url": lake.broker_url,
        "broker_token_file": str(token_file),
        "ca_file": lake.ca_file,
    }
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONELAKE_")}
    return {**env, "ONELAKE_CONFIG": str(tmp_path / "settings.json"), "R_LIBS": str(r_library)}


def rscript(code: str, env: dict) -> str:
    done = subprocess.run(["Rscript", "-e", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_a_cron_script_uploads_downloads_and_lists_with_the_settings_file(lake, r_library, tmp_path):
    env = cron_environment(lake, tmp_path, r_library)
    (tmp_path / "report.bin").write_bytes(bytes(range(256)) * 64)
    out = rscript(
        f"""
library(onelake)
onelake_upload("{tmp_path / "report.bin"}", "/reports/2026/report.bin")
onelake_download("onelake:///reports/2026/report.bin", "{tmp_path / "back.bin"}")
cat("PATH", onelake_path("abfss://{WORKSPACE}@onelake.dfs.fabric.microsoft.com/{ITEM}/Files/x.csv"), "\\n")
cat("LS", nrow(onelake_ls("/reports/2026")), "\\n")
""",
        env,
    )
    assert (tmp_path / "back.bin").read_bytes() == bytes(range(256)) * 64
    assert held(lake, "reports/2026/report.bin") == bytes(range(256)) * 64
    assert f"PATH {WORKSPACE}/{ITEM}/Files/x.csv" in out and "LS 1" in out
    assert not list(tmp_path.glob("*.part"))


def test_a_long_reader_fetches_one_token_per_lifetime(lake, r_library, tmp_path):
    lake.broker.state.token_lifetime = 6  # refreshed 3 s before it expires
    try:
        env = cron_environment(lake, tmp_path, r_library)
        rscript('library(onelake); onelake_write_csv(data.frame(x = 1:3), "/long.csv")', env)
        before = lake.broker.state.requests
        out = rscript(
            """
library(onelake)
started <- Sys.time()
for (i in 1:20) stopifnot(nrow(onelake_read_csv("/long.csv")) == 3)
Sys.sleep(3.5)
for (i in 1:20) stopifnot(nrow(onelake_read_csv("/long.csv")) == 3)
cat("ELAPSED", as.numeric(Sys.time() - started, units = "secs"), "\\n")
""",
            env,
        )
        fetches = lake.broker.state.requests - before
        elapsed = float(out.split("ELAPSED", 1)[1])
        # a new token each time the held one is within its refresh margin: never one per read
        assert 2 <= fetches <= 1 + int(elapsed // 3), (fetches, elapsed)
        assert len([r for r in lake.requests() if r.operation == "GetBlob" and r.path == f"{ROOT}/long.csv"]) >= 40
    finally:
        lake.broker.state.token_lifetime = 3600
