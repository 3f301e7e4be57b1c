"""Fixtures: a real emulator over HTTPS, its broker, and real Azure SDK clients built on BrokerCredential."""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from pathlib import Path

import aiohttp
import pytest
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob import BlobServiceClient
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient
from azure.storage.filedatalake import DataLakeServiceClient
from azure.storage.filedatalake.aio import DataLakeServiceClient as AsyncDataLakeServiceClient

from onelake_contents.credential import AsyncBrokerCredential, BrokerCredential
from onelake_contents.emulator import Emulator

WORKSPACE = "ws"
ITEM = "Item.Lakehouse"
FILES = f"{ITEM}/Files"
HOME = f"{FILES}/home/alice"  # a user's folder, for tests that need just one
# No SDK retries in conformance tests: each request the test causes is one request in the log.
NO_RETRY = {"retry_total": 0}

# Everything a test run writes lives below one temporary directory: the home directory, Jupyter's
# and JupyterLab's config/data/runtime/workspace folders and XDG folders point there for this
# process and every server, kernel and browser it starts, so the user's ~/.jupyter, ~/.config and
# the checkout stay untouched. `ONELAKE_TEST_ARTIFACTS=DIR` keeps screenshots and reports in DIR.
_SANDBOX = Path(tempfile.mkdtemp(prefix="onelake-tests-"))
_SANDBOX_ENV = {
    "HOME": _SANDBOX / "home",
    "XDG_CONFIG_HOME": _SANDBOX / "home" / ".config",
    "XDG_DATA_HOME": _SANDBOX / "home" / ".local" / "share",
    "XDG_CACHE_HOME": _SANDBOX / "home" / ".cache",
    "XDG_RUNTIME_DIR": _SANDBOX / "runtime",
    "JUPYTER_CONFIG_DIR": _SANDBOX / "jupyter-config",
    "JUPYTER_DATA_DIR": _SANDBOX / "jupyter-data",
    "JUPYTER_RUNTIME_DIR": _SANDBOX / "jupyter-runtime",
    "JUPYTERLAB_SETTINGS_DIR": _SANDBOX / "lab-settings",
    "JUPYTERLAB_WORKSPACES_DIR": _SANDBOX / "lab-workspaces",
    "IPYTHONDIR": _SANDBOX / "ipython",
    "MPLCONFIGDIR": _SANDBOX / "matplotlib",
    "ONELAKE_CONFIG": _SANDBOX / "empty-onelake-config.json",
}
ARTIFACTS = Path(os.environ.get("ONELAKE_TEST_ARTIFACTS") or _SANDBOX / "artifacts")


def pytest_configure(config):
    if os.environ.get("ONELAKE_LIVE") != "1":
        # a test run never takes OneLake settings from the developer's own shell
        for name in [k for k in os.environ if k.startswith("ONELAKE_") and not k.startswith("ONELAKE_TEST_")]:
            del os.environ[name]
    for name, path in _SANDBOX_ENV.items():
        if name == "ONELAKE_CONFIG":
            path.write_text("{}\n")  # a settings file with nothing in it (the command line needs it to exist)
        else:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ[name] = str(path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def pytest_unconfigure(config):
    shutil.rmtree(_SANDBOX, ignore_errors=True)


@pytest.fixture(autouse=True)
def _onelake_environment():
    """Managers export their settings to os.environ for kernels; keep tests from leaking them."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("ONELAKE_")}
    yield
    for key in [k for k in os.environ if k.startswith("ONELAKE_")]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture
def emulator():
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


@pytest.fixture
def credential(emulator):
    with BrokerCredential(emulator.broker_url, client_token=emulator.broker_token, ca_file=emulator.ca_file) as cred:
        yield cred


@pytest.fixture
async def async_credential(emulator):
    async with AsyncBrokerCredential(
        emulator.broker_url, client_token=emulator.broker_token, ca_file=emulator.ca_file
    ) as cred:
        yield cred


@pytest.fixture
def datalake(emulator, credential):
    client = DataLakeServiceClient(
        emulator.endpoint, credential=credential, connection_verify=emulator.ca_file, **NO_RETRY
    )
    with client:
        yield client


@pytest.fixture
def fs(datalake):
    return datalake.get_file_system_client(WORKSPACE)


@pytest.fixture
def container(emulator, credential):
    client = BlobServiceClient(emulator.endpoint, credential=credential, connection_verify=emulator.ca_file, **NO_RETRY)
    with client:
        yield client.get_container_client(WORKSPACE)


@pytest.fixture
async def async_transport(emulator):
    """One aiohttp session trusting the emulator's CA.

    azure-core's aiohttp transport turns a CA-file `connection_verify` into a new SSLContext per
    request, which defeats connection reuse (one TLS handshake per request); a session whose
    connector holds the context keeps connections alive.
    """
    context = ssl.create_default_context(cafile=emulator.ca_file)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=100))
    yield AioHttpTransport(session=session, session_owner=False)
    await session.close()


@pytest.fixture
async def async_fs(emulator, async_credential, async_transport):
    client = AsyncDataLakeServiceClient(
        emulator.endpoint, credential=async_credential, transport=async_transport, **NO_RETRY
    )
    async with client:
        yield client.get_file_system_client(WORKSPACE)


@pytest.fixture
async def async_container(emulator, async_credential, async_transport):
    client = AsyncBlobServiceClient(
        emulator.endpoint, credential=async_credential, transport=async_transport, **NO_RETRY
    )
    async with client:
        yield client.get_container_client(WORKSPACE)


@pytest.fixture
def configured(emulator, monkeypatch, tmp_path):
    """The emulator, with this process configured for it as a script or the command line is
    (`ONELAKE_*` for the folder `HOME`, no settings file); onelake:// filesystems forgotten after."""
    from onelake_contents.lakefs import OneLakeFileSystem

    for name, value in emulator.info.environment(WORKSPACE, HOME).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "none.json"))
    yield emulator
    OneLakeFileSystem.clear_instance_cache()
