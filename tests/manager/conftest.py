"""Where the contract runs: the emulator, or a real OneLake workspace with ONELAKE_LIVE=1.

Live mode takes the usual settings from the environment (ONELAKE_ENDPOINT, ONELAKE_WORKSPACE,
ONELAKE_ROOT, ONELAKE_BROKER_URL, ONELAKE_BROKER_TOKEN or ONELAKE_BROKER_TOKEN_FILE,
ONELAKE_CA_FILE); each test works in a fresh folder below ONELAKE_ROOT, deleted afterwards. Tests
that need the emulator's instruments (request log, faults, 403 rules) are skipped there.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents import OneLakeContentsManager
from onelake_contents.credential import BrokerCredential
from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE
from tests.servers import JupyterServer

LIVE = os.environ.get("ONELAKE_LIVE") == "1"
ROOT = f"{ITEM}/Files/home/alice"


@dataclass
class Target:
    """A OneLake (emulated or real) and the folder a test owns in it."""

    endpoint: str
    workspace: str
    root: str
    broker_url: str
    broker_token: str | None
    broker_token_file: str | None
    ca_file: str | None
    emulator: Emulator | None = None

    def client(self) -> DataLakeServiceClient:
        credential = BrokerCredential(
            self.broker_url,
            client_token=self.broker_token,
            client_token_file=self.broker_token_file,
            ca_file=self.ca_file,
        )
        return DataLakeServiceClient(self.endpoint, credential=credential, connection_verify=self.ca_file or True)

    def filesystem(self):
        return self.client().get_file_system_client(self.workspace)

    def read(self, path: str) -> bytes | None:
        """What OneLake holds at an API path under the root, read through the SDK."""
        try:
            return self.filesystem().get_file_client(f"{self.root}/{path}").download_file().readall()
        except ResourceNotFoundError:
            return None

    def write(self, path: str, data: bytes) -> None:
        """A file written behind the managers' backs (on the emulator straight into its namespace,
        which is quick for many files and leaves its request log alone)."""
        if self.emulator is not None:
            namespace = self.emulator.namespace
            namespace.write_file(namespace.workspaces[self.workspace], f"{self.root}/{path}", data)
        else:
            self.filesystem().get_file_client(f"{self.root}/{path}").upload_data(data, overwrite=True)

    def delete(self, path: str) -> None:
        """A file deleted behind the managers' backs, through the SDK."""
        self.filesystem().get_file_client(f"{self.root}/{path}").delete_file()

    def paths(self) -> list[str]:
        """Every path below the root, hidden ones too, relative to it."""
        return [p.name[len(self.root) + 1 :] for p in self.filesystem().get_paths(path=self.root, recursive=True)]

    def manager(self, root: str | None = None, cls=OneLakeContentsManager, **traits) -> OneLakeContentsManager:
        """A manager (or a subclass, e.g. jupytext's wrapper) on this OneLake folder."""
        return cls(
            workspace=self.workspace,
            root=root or self.root,
            endpoint=self.endpoint,
            broker_url=self.broker_url,
            broker_token=self.broker_token,
            broker_token_file=self.broker_token_file,
            ca_file=self.ca_file,
            **traits,
        )


@pytest.fixture
def emulator():
    if LIVE:
        pytest.skip("needs the emulator's instruments")
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


@pytest.fixture
def target(request):
    if not LIVE:
        emu = request.getfixturevalue("emulator")
        yield Target(emu.endpoint, WORKSPACE, ROOT, emu.broker_url, emu.broker_token, None, emu.ca_file, emu)
        return
    env = os.environ
    live = Target(
        env.get("ONELAKE_ENDPOINT", "https://onelake.dfs.fabric.microsoft.com"),
        env["ONELAKE_WORKSPACE"],
        f"{env['ONELAKE_ROOT'].strip('/')}/contract-{uuid.uuid4().hex[:10]}",
        env["ONELAKE_BROKER_URL"],
        env.get("ONELAKE_BROKER_TOKEN"),
        env.get("ONELAKE_BROKER_TOKEN_FILE"),
        env.get("ONELAKE_CA_FILE"),
    )
    yield live
    try:
        live.client().get_file_system_client(live.workspace).get_directory_client(live.root).delete_directory()
    except ResourceNotFoundError:
        pass


@pytest.fixture
async def make_manager(target):
    """Build managers on the test's OneLake (same folder unless `root=` says otherwise)."""
    made = []

    def make(root: str | None = None, **traits) -> OneLakeContentsManager:
        cm = target.manager(root, **traits)
        made.append(cm)
        return cm

    yield make
    for cm in made:
        await cm.close()


@pytest.fixture
async def cm(make_manager, target):
    """A manager whose root exists (its first request made), with the request log reset."""
    manager = make_manager()
    await manager.dir_exists("")
    if target.emulator is not None:
        target.emulator.reset_requests()
    return manager


@pytest.fixture(scope="module")
def lake():
    if LIVE:
        pytest.skip("REST tests run on the emulator")
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


@pytest.fixture(scope="module")
def server(lake, tmp_path_factory):
    jupyter = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path_factory.mktemp("jupyter")).start()
    yield jupyter
    jupyter.stop()


@pytest.fixture
def folder(server):
    """A fresh folder for one REST test (the server and its caches are shared by the module)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    assert server.api("PUT", name, json={"type": "directory"}).status_code == 201
    return name


@pytest.fixture
async def managers_on():
    """Managers on a given emulator, as its workspace admin or as one of its users (`user`), with
    any traits; all closed afterwards."""
    made = []

    def make(emulator: Emulator, user: str | None = None, **traits) -> OneLakeContentsManager:
        token = emulator.user_tokens[user] if user else emulator.broker_token
        cm = OneLakeContentsManager(
            endpoint=emulator.endpoint,
            broker_url=emulator.broker_url,
            broker_token=token,
            ca_file=emulator.ca_file,
            **traits,
        )
        made.append(cm)
        return cm

    yield make
    for cm in made:
        await cm.close()
