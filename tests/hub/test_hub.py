"""Many users through a real JupyterHub (configurable-http-proxy, jupyter_config/jupyterhub_config.py)
on the emulator with OneLake security: each user's server works in OneLake as that user.

(a) `home`: each root is `<item>/Files/home/<name>`; shared data is read from kernels.
(b) `files`: everyone's root is `<item>/Files`; `home/` shows only the user's own folder and
    `shared/` is read-only.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import sys
from pathlib import Path
from urllib.parse import quote

import jwt
import psutil
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.credential import BrokerCredential
from onelake_contents.hubdemo import ITEM, WORKSPACE, start_hub
from tests.manager.test_kernels import assert_children_get_what_the_readme_says
from tests.servers import environments_of_children, run_in_kernel

CHP = shutil.which("configurable-http-proxy") or str(Path(sys.prefix) / "node_modules/.bin/configurable-http-proxy")
pytestmark = pytest.mark.skipif(
    not Path(CHP).exists(), reason="configurable-http-proxy is not installed (make installs it)"
)

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


class HubUser:
    """One user's server behind the hub's proxy, with that user's JupyterHub API token."""

    def __init__(self, stack, name: str):
        self.name = name
        self.token = stack.user_token(name)
        stack.start_server(name)
        self.url = f"{stack.url}/user/{name}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, f"{self.url}/api/contents/{quote(path)}", **kwargs)

    def names(self, path: str = "") -> list[str]:
        answer = self.api("GET", path)
        assert answer.status_code == 200, answer.text
        return sorted(m["name"] for m in answer.json()["content"])


def admin_fs(stack):
    credential = BrokerCredential(
        stack.emulator.broker_url, client_token=stack.emulator.broker_token, ca_file=stack.emulator.ca_file
    )
    client = DataLakeServiceClient(
        stack.emulator.endpoint, credential=credential, connection_verify=stack.emulator.ca_file
    )
    return client.get_file_system_client(WORKSPACE)


def read_as_admin(stack, path: str) -> bytes | None:
    try:
        return admin_fs(stack).get_file_client(path).download_file().readall()
    except HttpResponseError as error:
        if error.status_code == 404:
            return None
        raise


@pytest.fixture(scope="module")
def home_hub(tmp_path_factory):
    stack = start_hub(layout="home", log_path=tmp_path_factory.mktemp("hub") / "hub.log")
    admin_fs(stack).get_file_client(f"{ITEM}/Files/shared/data.csv").upload_data(
        b"name,value\na,1\nb,41\n", overwrite=True
    )
    users = {name: HubUser(stack, name) for name in ("alice", "bob")}
    yield stack, users
    stack.stop()


@pytest.fixture(scope="module")
def files_hub(tmp_path_factory):
    stack = start_hub(layout="files", log_path=tmp_path_factory.mktemp("hub") / "hub.log")
    admin_fs(stack).get_file_client(f"{ITEM}/Files/shared/guide.ipynb").upload_data(
        json.dumps(NOTEBOOK).encode(), overwrite=True
    )
    users = {name: HubUser(stack, name) for name in ("alice", "bob")}
    yield stack, users
    stack.stop()


# ---- (a) the root is the user's home ---------------------------------------------------------
def test_each_user_sees_only_their_own_home(home_hub):
    stack, users = home_hub
    alice, bob = users["alice"], users["bob"]
    assert alice.api("PUT", "alice.ipynb", json={"type": "notebook", "content": NOTEBOOK}).status_code == 201
    assert bob.api("PUT", "bob.ipynb", json={"type": "notebook", "content": NOTEBOOK}).status_code == 201
    assert "alice.ipynb" in alice.names() and "bob.ipynb" not in alice.names()
    assert "bob.ipynb" in bob.names() and "alice.ipynb" not in bob.names()
    assert read_as_admin(stack, f"{ITEM}/Files/home/alice/alice.ipynb") is not None
    assert read_as_admin(stack, f"{ITEM}/Files/home/bob/bob.ipynb") is not None


def test_no_api_path_reaches_outside_the_root(home_hub):
    stack, users = home_hub
    alice = users["alice"]
    stack.emulator.reset_requests()
    for path in ("../bob/bob.ipynb", "..%2Fbob%2Fbob.ipynb", "/../../home/bob", "%2e%2e/bob"):
        answer = alice.session.get(f"{alice.url}/api/contents/{path}", timeout=60)
        assert answer.status_code in (400, 403, 404), (path, answer.status_code)
        assert alice.session.get(f"{alice.url}/files/{path}", timeout=60).status_code in (400, 403, 404)
    assert not [r for r in stack.emulator.requests() if "/home/bob" in r.path]


def test_alices_token_reads_nothing_of_bobs_home(home_hub):
    stack, users = home_hub
    # what alice's server presents to the broker: her JupyterHub API token
    credential = BrokerCredential(
        stack.emulator.broker_url, client_token=users["alice"].token, ca_file=stack.emulator.ca_file
    )
    client = DataLakeServiceClient(
        stack.emulator.endpoint, credential=credential, connection_verify=stack.emulator.ca_file
    )
    fs = client.get_file_system_client(WORKSPACE)
    with pytest.raises(HttpResponseError) as caught:
        fs.get_file_client(f"{ITEM}/Files/home/bob/bob.ipynb").download_file().readall()
    assert caught.value.status_code == 403
    assert fs.get_file_client(f"{ITEM}/Files/shared/data.csv").download_file().readall().startswith(b"name,value")


SHARED_FROM_A_KERNEL = """
import json, onelake_contents
fs = onelake_contents.fs()
shared = "{ws}/{item}/Files/shared"
print(json.dumps({{"sum": sum(int(line.split(",")[1]) for line in fs.cat(shared + "/data.csv").decode().splitlines()[1:])}}))
try:
    fs.pipe(shared + "/mine.csv", b"x")
    print(json.dumps({{"write": "done"}}))
except Exception as error:
    print(json.dumps({{"write": type(error).__name__, "status": getattr(error, "status_code", None) or str(error)[:200]}}))
"""


def test_kernels_read_shared_and_cannot_write_it(home_hub):
    stack, users = home_hub
    for user in users.values():
        user.api("PUT", "k.ipynb", json={"type": "notebook", "content": NOTEBOOK})
        lines = (
            run_in_kernel(user, "k.ipynb", SHARED_FROM_A_KERNEL.format(ws=WORKSPACE, item=ITEM)).strip().splitlines()
        )
        assert json.loads(lines[0]) == {"sum": 42}
        assert json.loads(lines[1])["write"] != "done"
    assert read_as_admin(stack, f"{ITEM}/Files/shared/mine.csv") is None


# Everything alice's kernel can find: its environment, its server's (its parent process, same OS
# user), the files in its home, `onelake_contents.fs()`, the relay and the real broker. Each client
# token found is tried at each broker; each OneLake token obtained is tried on bob's home.
ATTACK = r"""
import json, os, pathlib, requests, onelake_contents
endpoint, ca, ws = os.environ["ONELAKE_ENDPOINT"], os.environ.get("ONELAKE_CA_FILE"), os.environ["ONELAKE_WORKSPACE"]
bob = f"{ws}/ITEM/Files/home/bob"
envs = [dict(os.environ)]
raw = pathlib.Path(f"/proc/{os.getppid()}/environ").read_bytes()
envs.append(dict(kv.split("=", 1) for kv in raw.decode(errors="replace").split("\0") if "=" in kv))
brokers, secrets = set(), set()
for env in envs:
    for key, value in env.items():
        if key.endswith("BROKER_URL"):
            brokers.add(value)
        if key.endswith("TOKEN") and len(value) >= 16:
            secrets.add(value)
        if key.endswith("TOKEN_FILE") and os.path.isfile(value):
            secrets.add(open(value).read().strip())
for path in pathlib.Path.home().rglob("*"):
    try:
        if path.is_file() and path.stat().st_size < 65536:
            secrets.update(w for w in path.read_text(errors="ignore").split() if 20 <= len(w) <= 200)
    except OSError:
        pass
secrets = sorted(secrets)[:400]
tokens, outcomes = set(), []
for broker in sorted(brokers):
    for secret in secrets:
        try:
            answer = requests.get(broker.rstrip("/") + "/onelake/token", headers={"Authorization": f"Bearer {secret}"}, verify=ca or True, timeout=10)
        except requests.RequestException:
            continue
        if answer.status_code == 200:
            tokens.add(answer.json()["access_token"])
for token in tokens:
    headers = {"Authorization": f"Bearer {token}", "x-ms-version": "2023-11-03"}
    outcomes.append(requests.get(f"{endpoint}/{bob}/bob.ipynb", headers=headers, verify=ca, timeout=10).status_code)
    outcomes.append(requests.put(f"{endpoint}/{bob}/pwned.txt", data=b"x", headers={**headers, "x-ms-blob-type": "BlockBlob"}, verify=ca, timeout=10).status_code)
    outcomes.append(requests.delete(f"{endpoint}/{bob}?recursive=true", headers=headers, verify=ca, timeout=10).status_code)
fs = onelake_contents.fs()
for attempt in (lambda: fs.cat(bob + "/bob.ipynb"), lambda: fs.pipe(bob + "/pwned2.txt", b"x"), lambda: fs.ls(bob)):
    try:
        attempt()
        outcomes.append("fs: done")
    except Exception as error:
        outcomes.append(type(error).__name__)
print(json.dumps({"brokers": len(brokers), "secrets": len(secrets), "tokens": len(tokens), "outcomes": outcomes}))
"""


def test_alices_kernel_cannot_reach_bobs_home_with_anything_it_can_find(home_hub):
    stack, users = home_hub
    alice = users["alice"]
    alice.api("PUT", "attack.ipynb", json={"type": "notebook", "content": NOTEBOOK})
    before = read_as_admin(stack, f"{ITEM}/Files/home/bob/bob.ipynb")
    report = json.loads(run_in_kernel(alice, "attack.ipynb", ATTACK.replace("ITEM", ITEM)).strip().splitlines()[-1])
    assert report["brokers"] >= 2 and report["tokens"] >= 1  # the relay and the broker both answered (as alice)
    http = [o for o in report["outcomes"] if isinstance(o, int)]
    assert http and set(http) <= {401, 403}, report
    assert "fs: done" not in report["outcomes"], report
    assert read_as_admin(stack, f"{ITEM}/Files/home/bob/bob.ipynb") == before
    assert read_as_admin(stack, f"{ITEM}/Files/home/bob/pwned.txt") is None
    assert read_as_admin(stack, f"{ITEM}/Files/home/bob/pwned2.txt") is None


# ---- (b) the root is Files for everyone --------------------------------------------------------
def test_home_lists_only_the_users_own_folder(files_hub):
    _, users = files_hub
    for name, user in users.items():
        assert user.names() == ["home", "shared"]
        assert user.names("home") == [name]


def test_another_users_home_is_a_clear_403(files_hub):
    stack, users = files_hub
    alice, bob = users["alice"], users["bob"]
    assert bob.api("PUT", "home/bob/x.ipynb", json={"type": "notebook", "content": NOTEBOOK}).status_code == 201
    for method in ("GET", "DELETE"):
        answer = alice.api(method, "home/bob/x.ipynb")
        assert answer.status_code == 403
        assert "OneLake denied access to home/bob/x.ipynb" in answer.json()["message"]
    answer = alice.api("PUT", "home/bob/y.ipynb", json={"type": "notebook", "content": NOTEBOOK})
    assert answer.status_code == 403
    assert read_as_admin(stack, f"{ITEM}/Files/home/bob/x.ipynb") is not None
    assert read_as_admin(stack, f"{ITEM}/Files/home/bob/y.ipynb") is None


def test_shared_opens_for_everyone_and_writes_for_no_one(files_hub):
    stack, users = files_hub
    for user in users.values():
        opened = user.api("GET", "shared/guide.ipynb")
        assert opened.status_code == 200 and opened.json()["content"]["cells"] == []
        changed = {**NOTEBOOK, "metadata": {"by": user.name}}
        refused = user.api("PUT", "shared/guide.ipynb", json={"type": "notebook", "content": changed})
        assert refused.status_code == 403
        assert refused.json()["message"] == "OneLake denied access to shared/guide.ipynb: read-only for you"
        assert user.api("GET", "shared/guide.ipynb", params={"content": "0"}).json()["writable"] is False
        download = user.session.get(f"{user.url}/files/shared/guide.ipynb", timeout=60)
        assert download.status_code == 200 and json.loads(download.content)["cells"] == []
    assert json.loads(read_as_admin(stack, f"{ITEM}/Files/shared/guide.ipynb")) == NOTEBOOK


def test_the_many_users_benchmark_runs_clean_in_its_ci_size(capsys):
    from benchmarks.hub import main

    assert main(["--smoke"]) == 0
    out = capsys.readouterr().out
    assert '"errors": 0, "lost_writes": 0, "users": 3' in out
    assert "| save notebook |" in out and "(3 servers)" in out


# ---- what a token must carry to become a OneLake token (README, "The token broker contract") ----
def broker_answer(stack, token: str) -> requests.Response:
    return requests.get(
        f"{stack.emulator.broker_url}/onelake/token",
        headers={"Authorization": f"Bearer {token}"},
        verify=stack.emulator.ca_file,
        timeout=30,
    )


def oauth_token_seen_by_the_server_visited(stack, owner: str, visitor: str) -> str:
    """`visitor` logs in to the hub, opens `owner`'s server (shared with them) and authorizes it:
    the OAuth token `owner`'s server then holds for the visitor, read from its cookie."""
    assert stack.api("POST", f"shares/{owner}/", json={"user": visitor}).status_code in (200, 201)
    browser = requests.Session()
    login = browser.get(f"{stack.url}/hub/login", timeout=60)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login.text).group(1)
    logged_in = browser.post(
        f"{stack.url}/hub/login", data={"username": visitor, "password": "", "_xsrf": xsrf}, timeout=60
    )
    assert logged_in.status_code == 200, logged_in.text[:500]
    consent = browser.get(f"{stack.url}/user/{owner}/lab", timeout=60)
    assert "/hub/api/oauth2/authorize" in consent.url, consent.url  # the hub asks the visitor first
    form = {"_xsrf": re.search(r'name="_xsrf" value="([^"]+)"', consent.text).group(1)}
    form["scopes"] = re.findall(r'name="scopes" value="([^"]+)"', consent.text)
    authorized = browser.post(consent.url, data=form, timeout=60)
    assert authorized.status_code == 200 and authorized.url.endswith(f"/user/{owner}/lab"), authorized.url
    cookie = browser.cookies.get(f"jupyterhub-user-{owner}", path=f"/user/{owner}/")
    # tornado's signed cookie: 2|1:0|<len>:<time>|<len>:<name>|<len>:<base64 value>|<signature>
    return base64.b64decode(cookie.split("|")[4].split(":", 1)[1]).decode()


def test_only_a_servers_own_token_becomes_a_onelake_token(home_hub):
    stack, users = home_hub
    alice = users["alice"]
    refused = {
        "bob's OAuth token, as alice's server sees it": oauth_token_seen_by_the_server_visited(stack, "alice", "bob"),
        "a token with no scopes": stack.user_token("bob", scopes=[]),
        "a read:users:name token": stack.user_token("bob", scopes=["read:users:name!user=bob"]),
        "an access:servers token": stack.user_token("bob", scopes=["access:servers!server=alice/"]),
    }
    for what, token in refused.items():
        whoami = requests.get(f"{stack.url}/hub/api/user", headers={"Authorization": f"token {token}"}, timeout=30)
        assert whoami.status_code == 200 and whoami.json()["name"] == "bob", what  # a good token of bob's
        answer = broker_answer(stack, token)
        assert answer.status_code == 403, (what, answer.status_code, answer.text)
        assert (
            answer.json()["error_description"] == "this JupyterHub token lacks the scope custom:onelake:token!user=bob"
        )
    # a user's own token, with all the user's scopes, and the token each server was started with
    assert broker_answer(stack, alice.token).status_code == 200
    code = "import os; print(open(f'/proc/{os.getppid()}/environ', 'rb').read().split(b'JUPYTERHUB_API_TOKEN=')[1].split(b'\\0')[0].decode())"
    alice.api("PUT", "own.ipynb", json={"type": "notebook", "content": NOTEBOOK})
    servers_token = run_in_kernel(alice, "own.ipynb", code).strip()
    answer = broker_answer(stack, servers_token)
    assert answer.status_code == 200
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["name"] == "alice"


def test_each_kind_of_child_of_a_hub_server_gets_exactly_what_the_readme_says(home_hub):
    stack, users = home_hub
    alice = users["alice"]
    alice.api("PUT", "env.ipynb", json={"type": "notebook", "content": NOTEBOOK})
    envs = environments_of_children(alice, "env.ipynb")
    relay = envs["notebook"]["ONELAKE_BROKER_URL"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/user/alice", relay), relay
    assert_children_get_what_the_readme_says(envs, relay, (alice.token, stack.admin_token))


def test_the_relay_refuses_a_kernel_token_that_comes_through_the_hubs_proxy(home_hub):
    stack, users = home_hub
    alice = users["alice"]
    alice.api("PUT", "relay.ipynb", json={"type": "notebook", "content": NOTEBOOK})
    code = f"""
import json, os, requests
token = os.environ["ONELAKE_BROKER_TOKEN"]
def ask(base):
    answer = requests.get(base + "/onelake/token", headers={{"Authorization": "Bearer " + token}}, timeout=30)
    return [answer.status_code, "access_token" in answer.text]
print(json.dumps({{"direct": ask(os.environ["ONELAKE_BROKER_URL"]), "proxy": ask("{stack.url}/user/alice")}}))
"""
    answers = json.loads(run_in_kernel(alice, "relay.ipynb", code).strip().splitlines()[-1])
    assert answers == {"direct": [200, True], "proxy": [403, False]}


def test_a_module_planted_in_the_home_is_not_imported_by_the_next_server(home_hub):
    stack, users = home_hub
    alice = users["alice"]
    home = stack.state / "users" / "alice"
    marker = stack.state / "planted-module-ran"
    planted = home / "jupyterhub"
    planted.mkdir(parents=True, exist_ok=True)
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    try:
        stack.stop_server("alice")
        stack.start_server("alice")
        assert alice.names() is not None
        assert not marker.exists()
    finally:
        shutil.rmtree(planted)


def test_make_hubs_samples_read_from_a_kernel_and_its_scratch_space_is_private_and_gone_on_stop(tmp_path):
    stack = start_hub(layout="home", users=("carol",), log_path=tmp_path / "hub.log", samples=True)
    try:
        carol = HubUser(stack, "carol")
        assert carol.names() == ["Shared data.ipynb"]
        cell = carol.api("GET", "Shared data.ipynb").json()["content"]["cells"][1]["source"]
        printed = run_in_kernel(carol, "Shared data.ipynb", cell + "\nprint(int(sales['sales'].sum()))")
        assert printed.strip().splitlines()[-1] == "446"
        scratch = stack.state / "scratch" / "carol"
        assert scratch.is_dir() and stat.S_IMODE(scratch.stat().st_mode) == 0o700
        assert stat.S_IMODE(stack.state.stat().st_mode) == 0o700
        assert f"--SQLiteYStore.db_path={scratch / 'ystore.db'}" in " ".join(
            " ".join(p.cmdline()) for p in psutil.Process(stack.process.pid).children(recursive=True)
        )
    finally:
        stack.stop()
    assert not stack.state.exists()
