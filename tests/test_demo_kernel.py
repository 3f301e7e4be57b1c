"""The README's kernel example, run as a new user would: in a kernel of `onelake-contents demo` as
shipped, on a notebook in the demo's OneLake home."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from types import SimpleNamespace

import requests

from tests.servers import free_port, run_in_kernel
from tests.test_demo import demo_process

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_kernel_example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Kernels\n")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_the_readmes_kernel_example_runs_in_a_kernel_of_the_demo(tmp_path):
    demo = demo_process(tmp_path, free_port())
    try:
        for line in demo.stdout:
            if "open:" in line:
                url, token = line.split("open:", 1)[1].strip().split("/lab?token=")
            if "Press Ctrl-C" in line:
                break
        session = requests.Session()
        session.headers["Authorization"] = f"token {token}"
        server = SimpleNamespace(url=url, token=token, session=session)
        csv = "name,value\na,1\nb,41\n"
        put = session.put(
            f"{url}/api/contents/data.csv", json={"type": "file", "format": "text", "content": csv}, timeout=60
        )
        assert put.status_code == 201, put.text
        assert session.post(f"{url}/api/contents", json={"type": "notebook"}, timeout=60).status_code == 201
        code = readme_kernel_example() + "\nprint('ROWS', len(df), 'SUM', int(df['value'].sum()))\n"
        code += "print('LISTED', sorted(p.rsplit('/', 1)[-1] for p in fs.ls(onelake_contents.notebook_dir())))\n"
        printed = run_in_kernel(server, "Untitled.ipynb", code, timeout=60)
        assert "ROWS 2 SUM 42" in printed
        assert "LISTED ['Untitled.ipynb', 'Welcome.ipynb', 'data.csv', 'sample.csv']" in printed
        # the Welcome notebook's sample cell, as shipped, in the same kind of kernel
        welcome = session.get(f"{url}/api/contents/Welcome.ipynb", timeout=60).json()["content"]
        sample = welcome["cells"][-1]["source"]
        assert "onelake://sample.csv" in sample
        shown = run_in_kernel(server, "Welcome.ipynb", sample.replace("sales.groupby", "print(sales.groupby") + ")")
        assert "north" in shown and "143" in shown  # the east row, read from OneLake
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
