"""Kernels started by Jupyter Server read OneLake through `onelake_contents.fs()` (adlfs)."""

from __future__ import annotations

import json

from tests.servers import run_in_kernel

CODE = """
import os, pandas, onelake_contents
fs = onelake_contents.fs()
folder = onelake_contents.notebook_dir()
print("DIR", folder)
print("LS", json.dumps(sorted(p.rsplit("/", 1)[-1] for p in fs.ls(folder))))
with fs.open(folder + "/data.csv") as handle:
    frame = pandas.read_csv(handle)
print("SUM", int(frame["value"].sum()))
print("CWD_IS_LOCAL", os.path.isdir(os.getcwd()))
"""


def test_kernel_reads_csv_and_lists_its_notebook_folder(server, folder):
    csv = "name,value\na,1\nb,2\nc,39\n"
    server.api("PUT", f"{folder}/data.csv", json={"type": "file", "format": "text", "content": csv})
    server.api("POST", folder, json={"type": "notebook"})
    output = run_in_kernel(server, f"{folder}/Untitled.ipynb", "import json\n" + CODE)
    lines = dict(line.split(" ", 1) for line in output.strip().splitlines())
    assert lines["DIR"].endswith(f"/home/alice/{folder}") and lines["DIR"].startswith("ws/")
    assert json.loads(lines["LS"]) == ["Untitled.ipynb", "data.csv"]
    assert lines["SUM"] == "42"
    assert lines["CWD_IS_LOCAL"] == "True"
