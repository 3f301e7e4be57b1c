"""Kernels started by Jupyter Server read OneLake through `onelake_contents.fs()` (adlfs)."""

from __future__ import annotations

import json

import requests

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


SNOOP = """
import json, os
print(json.dumps({k: v for k, v in os.environ.items() if k.startswith(("ONELAKE_", "JUPYTERHUB_"))}))
"""


def test_kernels_get_no_broker_secret_only_a_token_of_their_own_from_their_server(server, folder, lake):
    server.api("PUT", f"{folder}/a.txt", json={"type": "file", "format": "text", "content": "relayed"})
    code = (
        SNOOP + "import onelake_contents\nprint(onelake_contents.fs().cat(onelake_contents.notebook_dir() + '/a.txt'))"
    )
    output = run_in_kernel(server, f"{folder}/k.ipynb", code)
    env_line, read = output.strip().splitlines()
    env = json.loads(env_line)
    assert lake.broker_token not in output
    assert "ONELAKE_BROKER_TOKEN_FILE" not in env
    assert env["ONELAKE_BROKER_URL"] == server.url  # the kernel's broker is its own server
    assert read == "b'relayed'"
    relay = f"{server.url}/onelake/token"
    # the kernel is gone: so is its token; a made-up token never worked
    for token in (env["ONELAKE_BROKER_TOKEN"], "made-up"):
        answer = requests.get(relay, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 401 and "access_token" not in answer.text


def test_a_kernel_without_a_session_inherits_no_broker_secret(server, lake):
    env = json.loads(run_in_kernel(server, None, SNOOP))
    assert "ONELAKE_BROKER_TOKEN" not in env and "ONELAKE_BROKER_TOKEN_FILE" not in env
    assert lake.broker_token not in json.dumps(env)
