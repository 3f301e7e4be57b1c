"""Kernels started by Jupyter Server read OneLake through `onelake_contents.fs()` (adlfs)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT
from tests.servers import JupyterServer, environments_of_children, run_in_kernel

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


# What each child of the server gets (README, "Kernels"): a notebook's or a console's kernel the
# relay's address and a token of its own; a kernel without a session and a terminal nothing of
# the broker. None inherits the broker's secret or address, the settings file, a JupyterHub token
# or the server's login token.
NEVER_INHERITED = (
    "ONELAKE_BROKER_TOKEN_FILE",
    "ONELAKE_CONFIG",
    "JUPYTERHUB_API_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTER_TOKEN",
)


def assert_children_get_what_the_readme_says(envs: dict, relay: str, secrets: tuple[str, ...]) -> None:
    for kind, env in envs.items():
        assert not [name for name in NEVER_INHERITED if name in env], (kind, sorted(env))
        assert not [s for s in secrets if s and s in json.dumps(env)], kind
    for kind in ("notebook", "console"):
        assert envs[kind]["ONELAKE_BROKER_URL"] == relay, kind
        assert len(envs[kind]["ONELAKE_BROKER_TOKEN"]) >= 32, kind
    assert envs["notebook"]["ONELAKE_BROKER_TOKEN"] != envs["console"]["ONELAKE_BROKER_TOKEN"]
    for kind in ("sessionless", "terminal"):
        assert "ONELAKE_BROKER_URL" not in envs[kind] and "ONELAKE_BROKER_TOKEN" not in envs[kind], kind


def test_each_kind_of_child_gets_exactly_what_the_readme_says(server, folder, lake):
    server.api("POST", folder, json={"type": "notebook"})
    envs = environments_of_children(server, f"{folder}/Untitled.ipynb")
    assert_children_get_what_the_readme_says(envs, server.url, (lake.broker_token, server.token))


def test_the_relay_answers_only_requests_made_beside_the_server(server, folder):
    server.api("POST", folder, json={"type": "notebook"})
    # a kernel asks its relay with and without a proxy's forwarding headers, while it runs
    code = """
import json, os, requests
url, token = os.environ["ONELAKE_BROKER_URL"] + "/onelake/token", os.environ["ONELAKE_BROKER_TOKEN"]
answers = {"direct": requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code}
for header in ("X-Forwarded-For", "X-Real-Ip", "Forwarded"):
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}", header: "203.0.113.7"}, timeout=10)
    answers[header] = [answer.status_code, answer.json()["error_description"], "access_token" in answer.text]
print(json.dumps(answers))
"""
    answers = json.loads(run_in_kernel(server, f"{folder}/Untitled.ipynb", code).strip().splitlines()[-1])
    assert answers.pop("direct") == 200
    for header, (status, reason, leaked) in answers.items():
        assert (status, leaked) == (403, False), header
        assert reason == "this server hands OneLake tokens only to its own kernels, on loopback"


def test_a_server_without_the_extension_does_not_start(lake, tmp_path):
    """Fail closed: the extension keeps secrets from kernels; without it the manager refuses."""
    jupyter = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path, extensions={"onelake_contents": False})
    try:
        with pytest.raises(RuntimeError, match="jupyter server exited") as caught:
            jupyter.start()
    finally:
        jupyter.stop()  # a server that did start (the defect this pins) is not left running
    assert jupyter.process.returncode != 0
    assert (
        "OneLakeContentsManager needs its server extension, which keeps the broker's secret and JupyterHub's token "
        "away from kernels and terminals: enable it with `jupyter server extension enable onelake_contents`"
    ) in str(caught.value)
    assert lake.broker_token not in jupyter.log()
