"""`onelake://` URLs: the file browser's paths, the notebook's folder, and any OneLake path.

What a URL names (the part after `onelake://`):

    onelake://data.csv                    beside the running notebook (ONELAKE_NOTEBOOK_DIR; the
                                          root folder outside a notebook's kernel)
    onelake:///reports/q3.csv             reports/q3.csv under the Jupyter root, as the file
                                          browser shows it (ONELAKE_WORKSPACE / ONELAKE_ROOT)
    onelake:////Sales/Data.Lakehouse/Files/x.csv
                                          any workspace: `//<workspace>/<item>/...`, as a UNC
                                          path names its server (four slashes in all)
    abfss://Sales@onelake.dfs.fabric.microsoft.com/Data.Lakehouse/Files/x.csv
                                          the URL the Fabric portal prints, same place

Inside the filesystem a path is `<workspace>/<item>/...` (adlfs' container/blob form, what `ls`
and `glob` return); a bare path without `onelake://` is taken in that form, or, with one leading
`/`, under the root. `..` is resolved, but never above the workspace.
"""

from __future__ import annotations

import functools
import getpass
import os
import posixpath
from urllib.parse import unquote, urlsplit

from . import config
from .paths import InvalidPath, RootTree

SCHEME = "onelake"
PREFIX = f"{SCHEME}://"
ABFS_SCHEMES = ("abfss://", "abfs://")
ONELAKE_HOSTS = (".fabric.microsoft.com",)


class NotOneLake(ValueError):
    """A URL that names no OneLake path (another scheme, another storage account)."""


@functools.lru_cache(maxsize=8)
def _places(key: tuple) -> tuple[RootTree, str, str]:
    """(the tree of roots, notebook folder as `workspace/item/...`, endpoint host), from the
    settings: the `roots` setting's named roots, else the one `workspace`/`root`."""
    settings = config.resolve()
    if settings.values.get("roots"):
        tree = RootTree.parse(str(settings.roots), os.environ.get("JUPYTERHUB_USER") or getpass.getuser())
    else:
        settings.require("workspace", "root")
        tree = RootTree.single(str(settings.workspace), str(settings.root))
    notebook = os.environ.get("ONELAKE_NOTEBOOK_DIR") or _in_tree(tree, "")
    return tree, notebook.strip("/"), urlsplit(str(settings.endpoint)).hostname or ""


def _in_tree(tree: RootTree, path: str) -> str:
    """`workspace/item/...` of a path of the file browser's tree ("" for the top of named roots)."""
    if tree.named and not path.strip("/"):
        return ""
    try:
        _, workspace, ol = tree.locate(path)
    except InvalidPath as error:
        raise NotOneLake(f"onelake:///{path.strip('/')} is in no root of this tree: {error.message}") from None
    return f"{workspace}/{ol}"


def settings_key() -> tuple:
    """What the settings depend on: the `ONELAKE_*` environment and the settings file's path."""
    return (str(config.config_file_path()), *sorted((k, v) for k, v in os.environ.items() if k.startswith("ONELAKE_")))


def places() -> tuple[str, str, str]:
    return _places(settings_key())


def root_dir() -> str:
    """The Jupyter root as `workspace/item/Files/...` ("" when the tree is named roots)."""
    return _in_tree(places()[0], "")


def notebook_dir() -> str:
    """The running notebook's folder as `workspace/item/...` (the root outside a notebook)."""
    return places()[1]


def _normal(path: str, url: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if len(parts) <= 1:
                raise NotOneLake(f"{url} climbs above its workspace")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def _from_abfs(url: str) -> str:
    parts = urlsplit(url)
    workspace, at, host = parts.netloc.rpartition("@")
    if not at or not workspace:
        raise NotOneLake(f"{url} is not a OneLake URL: abfss://<workspace>@<onelake host>/<item>/...")
    host = host.split(":", 1)[0].lower()
    if not host.endswith(ONELAKE_HOSTS) and host != places()[2]:
        raise NotOneLake(f"{url} is not a OneLake URL (host {host}; OneLake is onelake.dfs.fabric.microsoft.com)")
    return _normal(f"{unquote(workspace)}/{unquote(parts.path)}", url)


def lake_path(path: str) -> str:
    """The `workspace/item/...` path a URL or bare path names (see the module's docstring)."""
    if path.startswith(ABFS_SCHEMES):
        return _from_abfs(path)
    if path.startswith(PREFIX):
        rest = path[len(PREFIX) :]
        if rest.startswith("//"):
            return _normal(rest, path)
        if rest.startswith("/"):
            return _normal(_in_tree(places()[0], rest), path)
        return _normal(f"{notebook_dir()}/{rest}", path)
    if path.startswith("/") and not path.startswith("//"):
        return _normal(_in_tree(places()[0], path), path)
    return _normal(path, path)


def url_of(path: str) -> str:
    """The `onelake://` URL of a `workspace/item/...` path: `onelake:///...` under the root, else
    the full form `onelake:////workspace/...`. `lake_path(url_of(p)) == p`."""
    path = path.strip("/")
    for name, (workspace, mapper) in places()[0].roots.items():
        root = f"{workspace}/{mapper.root}"
        if path == root or path.startswith(root + "/"):
            return f"{PREFIX}/{posixpath.join(name, path[len(root) + 1 :]).strip('/')}"
    return f"{PREFIX}//{path}"


def path_of(url: str) -> str:
    """The `onelake://` URL for a URL the Fabric portal prints (`abfss://ws@onelake.../item/...`),
    or for any `onelake://` URL: what pandas, pyarrow, polars and DuckDB open with no options."""
    return url_of(lake_path(url))
