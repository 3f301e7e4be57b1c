"""A notebook's kernel, started through a real Jupyter Server, sees the file browser's OneLake:
`onelake://` URLs with pandas, pyarrow, polars and DuckDB, `import helpers` from beside the
notebook, and the mount-era idioms of README's "Moving from BlobFuse2", each run here."""

from __future__ import annotations

import json
import os
import re

import nbformat
import pytest

from onelake_contents.lakeimport import kernel_startup_env
from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT
from tests.servers import JupyterServer, run_in_kernel


@pytest.fixture(scope="module")
def server(lake, tmp_path_factory):
    """The server's kernels install the import finder at start, as `kernel_startup_env` says."""
    env = kernel_startup_env(os.environ)
    jupyter = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path_factory.mktemp("jupyter"), env=env).start()
    yield jupyter
    jupyter.stop()


def put_text(server, path: str, text: str) -> None:
    answer = server.api("PUT", path, json={"type": "file", "format": "text", "content": text})
    assert answer.status_code in (200, 201), answer.text


def put_notebook(server, path: str, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    answer = server.api("PUT", path, json={"type": "notebook", "content": json.loads(nbformat.writes(notebook))})
    assert answer.status_code in (200, 201), answer.text


def run_notebook(server, path: str) -> dict[str, str]:
    """Run the code cells of a notebook stored in OneLake in the kernel the server starts for it;
    the lines each printed, by the name the cell prints first (`== name`)."""
    notebook = server.api("GET", path).json()["content"]
    code = "\n".join(cell["source"] for cell in notebook["cells"] if cell["cell_type"] == "code")
    printed: dict[str, str] = {}
    current = None
    for line in run_in_kernel(server, path, code).splitlines():
        if line.startswith("== "):
            current = line[3:]
            printed[current] = ""
        elif current is not None:
            printed[current] += line + "\n"
    return printed


# The mount-era idioms (left: with BlobFuse2, right: in the cell) of README's "Moving from BlobFuse2"
IDIOMS = [
    # pd.read_csv("data.csv")
    'import pandas as pd\nprint("== read_csv")\nprint(int(pd.read_csv("onelake://data.csv")["value"].sum()))',
    # df.to_parquet("out/result.parquet")
    'df = pd.DataFrame({"value": range(100)})\ndf.to_parquet("onelake://out/result.parquet")\nprint("== to_parquet")',
    # import helpers  (helpers.py beside the notebook)
    'import helpers\nprint("== import")\nprint(helpers.double(21), helpers.__file__)',
    # with open("notes.txt", "w") as f: f.write(...)
    'import fsspec\nwith fsspec.open("onelake://notes.txt", "w") as f:\n    f.write("written by the kernel\\n")\nprint("== open_w")',
    # glob.glob("*.csv")
    'fs = fsspec.filesystem("onelake")\nprint("== glob")\nprint(sorted(p.rsplit("/", 1)[1] for p in fs.glob("onelake://*.csv")))',
    # pd.read_csv("/mnt/lake/shared/lookup.csv")  (an absolute path on the mount)
    'print("== absolute")\nprint(len(pd.read_csv("onelake:///shared/lookup.csv")))',
]


def test_the_mount_era_idioms_run_in_a_notebook_stored_in_onelake(server, folder):
    put_text(server, f"{folder}/data.csv", "name,value\na,1\nb,2\nc,39\n")
    put_text(server, f"{folder}/more.csv", "name,value\nd,4\n")
    put_text(server, f"{folder}/helpers.py", "def double(x):\n    return 2 * x\n")
    put_text(server, "shared/lookup.csv", "k\n1\n2\n3\n")
    put_notebook(server, f"{folder}/idioms.ipynb", IDIOMS)
    printed = run_notebook(server, f"{folder}/idioms.ipynb")
    assert printed["read_csv"] == "42\n"
    assert printed["import"] == f"42 onelake:///{folder}/helpers.py\n"
    assert printed["glob"] == "['data.csv', 'more.csv']\n"
    assert printed["absolute"] == "3\n"
    assert {"to_parquet", "open_w"} <= set(printed)
    listed = {m["name"]: m for m in server.api("GET", f"{folder}/out").json()["content"]}
    assert listed["result.parquet"]["size"] > 0
    notes = server.api("GET", f"{folder}/notes.txt").json()
    assert notes["content"] == "written by the kernel\n"


KERNEL = """
import importlib, fsspec, pandas, pyarrow.parquet, polars, duckdb, helpers
fs = fsspec.filesystem("onelake")
pandas.DataFrame({"k": ["a", "b"], "v": [40, 2]}).to_parquet("onelake://frame.parquet")
print("PANDAS", int(pandas.read_parquet("onelake://frame.parquet")["v"].sum()))
with fs.open("onelake://frame.parquet") as f:
    print("PYARROW", pyarrow.parquet.read_table(f).num_rows)
with fs.open("onelake://frame.parquet") as f:
    print("POLARS", polars.read_parquet(f)["v"].sum())
duckdb.register_filesystem(fs)
print("DUCKDB", duckdb.sql("select sum(v) from 'onelake://*.parquet'").fetchall()[0][0])
print("HELPERS", helpers.VERSION)
fs.pipe("onelake://helpers.py", b"VERSION = 2\\n")  # another writer (the file browser) saves it
importlib.reload(helpers)
print("RELOADED", helpers.VERSION)
"""


def test_a_kernel_reads_with_every_library_and_imports_and_reloads_a_helper(server, folder):
    put_text(server, f"{folder}/helpers.py", "VERSION = 1\n")
    server.api("POST", folder, json={"type": "notebook"})
    printed = run_in_kernel(server, f"{folder}/Untitled.ipynb", KERNEL)
    lines = dict(line.split(" ", 1) for line in printed.splitlines())
    assert lines == {"PANDAS": "42", "PYARROW": "2", "POLARS": "42", "DUCKDB": "42", "HELPERS": "1", "RELOADED": "2"}


def test_a_traceback_in_a_kernel_shows_the_helpers_onelake_path_and_line(server, folder):
    put_text(server, f"{folder}/helpers.py", "def fail():\n    raise KeyError('from the helper')\n")
    server.api("POST", folder, json={"type": "notebook"})
    with pytest.raises(RuntimeError) as failed:
        run_in_kernel(server, f"{folder}/Untitled.ipynb", "import helpers\nhelpers.fail()")
    shown = re.sub(r"\x1b\[[0-9;]*m", "", failed.value.args[0])  # IPython colours its tracebacks
    assert f"onelake:///{folder}/helpers.py" in shown
    assert "raise KeyError('from the helper')" in shown


def test_onelake_imports_0_turns_imports_off_in_a_kernel(server, folder, lake, tmp_path):
    put_text(server, f"{folder}/helpers.py", "VERSION = 1\n")
    env = {**kernel_startup_env({}), "ONELAKE_IMPORTS": "0"}
    plain = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path, env=env).start()
    try:
        plain.api("POST", folder, json={"type": "notebook"})
        with pytest.raises(RuntimeError, match="ModuleNotFoundError"):
            run_in_kernel(plain, f"{folder}/Untitled.ipynb", "import helpers")
    finally:
        plain.stop()
