"""OneLake from inside a kernel or a script: the `onelake://` filesystem and where things are.

Kernels run in a local folder; the server's session manager (`jupyter.sessions`) hands them its
`ONELAKE_*` settings and their notebook's OneLake folder in the environment, so:

    import pandas
    df = pandas.read_csv("onelake://data.csv")          # beside the notebook, see `lakepath`
    fs = onelake_contents.fs()                          # the same filesystem, as an object
    fs.ls("onelake://")

`url()` and `storage_options()` keep the older `abfs://` way working (adlfs with options).
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


def storage_options(**overrides) -> dict:
    """fsspec `storage_options` for adlfs' `abfs://` (pandas, pyarrow, dask take them as they are);
    `onelake://` URLs need none."""
    from .lakefs import blob_host

    settings = _settings(**overrides)
    credential = AsyncBrokerCredential.from_settings(settings)
    return {"account_name": "onelake", "account_host": blob_host(settings), "credential": credential}


def fs(**overrides):
    """The `onelake://` filesystem (`lakefs.OneLakeFileSystem`, on adlfs); bare paths are
    `<workspace>/<item>/...`, URLs follow the file browser (see `lakepath`)."""
    try:
        from .lakefs import OneLakeFileSystem
    except ImportError as error:
        if error.name not in ("adlfs", "fsspec"):
            raise
        raise ImportError(
            'onelake_contents.fs() needs the fsspec extra: pip install "onelake-contents[fsspec]"'
        ) from None
    return OneLakeFileSystem(**overrides)


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
