"""OneLake from inside a kernel: an fsspec filesystem (adlfs) on the broker's credential.

Kernels run in a local folder; the server's session manager (`jupyter.sessions`) hands them its
`ONELAKE_*` settings and their notebook's OneLake folder in the environment, so:

    import onelake_contents, pandas
    fs = onelake_contents.fs()
    df = pandas.read_csv(onelake_contents.url("data.csv"), storage_options=onelake_contents.storage_options())
    fs.ls(onelake_contents.notebook_dir())

With a private CA (ONELAKE_CA_FILE), open files through `fs()`, which trusts it:
`pandas.read_csv(fs.open(onelake_contents.notebook_dir() + "/data.csv"))`.
"""

from __future__ import annotations

import os
import posixpath

from . import config
from .credential import AsyncBrokerCredential


def _settings(**overrides) -> config.ResolvedSettings:
    settings = config.resolve(overrides)
    settings.require("workspace", "root", "broker_url")
    return settings


def _blob_host(settings: config.ResolvedSettings) -> str:
    host = str(settings.endpoint).split("://", 1)[-1].rstrip("/")
    return host.replace(".dfs.", ".blob.")


def storage_options(**overrides) -> dict:
    """fsspec `storage_options` for adlfs (pandas, pyarrow, dask take them as they are)."""
    settings = _settings(**overrides)
    credential = AsyncBrokerCredential.from_settings(settings)
    return {"account_name": "onelake", "account_host": _blob_host(settings), "credential": credential}


def fs(**overrides):
    """An adlfs `AzureBlobFileSystem` on OneLake; paths are `<workspace>/<item>/...`."""
    try:
        from adlfs import AzureBlobFileSystem
    except ImportError:
        raise ImportError(
            'onelake_contents.fs() needs the fsspec extra: pip install "onelake-contents[fsspec]"'
        ) from None
    from azure.storage.blob.aio import BlobServiceClient

    from .storage.store import InteractiveRetry

    options = storage_options(**overrides)
    ca_file = _settings(**overrides).ca_file
    filesystem = AzureBlobFileSystem(**options)
    # adlfs builds its client without TLS or retry options: a private CA (or the emulator's) needs
    # one, and the storage SDK's own retries wait ~85 s before reporting that the broker said no
    filesystem.service_client = BlobServiceClient(
        f"https://{options['account_host']}",
        credential=options["credential"],
        connection_verify=ca_file or True,
        retry_policy=InteractiveRetry(),
    )
    return filesystem


def notebook_dir(**overrides) -> str:
    """The OneLake folder of the running notebook, as an fsspec path (`workspace/item/...`).

    The server puts it in ONELAKE_NOTEBOOK_DIR when it starts the kernel (OneLakeSessionManager);
    elsewhere (a console, a script) it is the root folder.
    """
    from_server = os.environ.get("ONELAKE_NOTEBOOK_DIR")
    if from_server and not overrides:
        return from_server
    settings = _settings(**overrides)
    return posixpath.join(str(settings.workspace), str(settings.root).strip("/"))


def url(path: str = "", **overrides) -> str:
    """`abfs://` URL of a path relative to the notebook's folder (or absolute in the root with '/')."""
    settings = _settings(**overrides)
    if path.startswith("/"):
        full = posixpath.join(str(settings.workspace), str(settings.root).strip("/"), path.lstrip("/"))
    else:
        full = posixpath.join(notebook_dir(**overrides), path)
    return f"abfs://{full}"
