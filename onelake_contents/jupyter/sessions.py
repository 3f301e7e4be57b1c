"""OneLakeSessionManager: Jupyter's session manager, telling each kernel where OneLake is.

Kernels run in a local folder, so jupyter_server's JPY_SESSION_NAME cannot say where their
notebook lives; this adds the server's OneLake settings (ONELAKE_*, never the broker's secret or
address, nor JupyterHub's token: `config.WITHHELD_FROM_CHILDREN`) and,
for a notebook, ONELAKE_NOTEBOOK_PATH (its path under the root), ONELAKE_NOTEBOOK_DIR (its folder
as an fsspec path for `onelake_contents.fs()`) and ONELAKE_NOTEBOOK_URL (the folder's abfss://
URL), taken from the contents manager's `kernel_environment()`. With `kernel_tokens` set (the
server extension does), each kernel gets the broker contract pointed at this server and a token of
its own (see `relay`), and the startup variables with which a kernel imports modules kept beside
its notebook in OneLake (`lakeimport`). The server extension installs it when the server uses jupyter_server's own
session manager.
"""

from __future__ import annotations

from collections.abc import Callable

from jupyter_server.services.sessions.sessionmanager import SessionManager

from .. import config
from ..lakeimport import kernel_startup_env
from .errors import api_path
from .relay import KernelTokens, issued_token


class OneLakeSessionManager(SessionManager):
    kernel_tokens: KernelTokens | None = None
    token_url: Callable[[], str] | None = None  # this server as its kernels reach it (the relay's base)

    async def session_exists(self, path):
        # jupyter_server asks this before creating a session, outside the handler's catch-all:
        # a path that leaves the root is its 4xx here, not a 500 from inside create_session
        api_path(path)
        return await super().session_exists(path)

    def get_kernel_env(self, path, name=None):
        env = super().get_kernel_env(path, name)
        for variable in config.WITHHELD_FROM_CHILDREN:
            env.pop(variable, None)
        describe = getattr(self.contents_manager, "kernel_environment", None)
        if describe is not None:
            env.update(describe(path))
            if self.kernel_tokens is not None and self.token_url:
                env.update(ONELAKE_BROKER_URL=self.token_url(), ONELAKE_BROKER_TOKEN=self.kernel_tokens.issue())
            if path:  # a notebook's or console's kernel imports modules kept beside it (`lakeimport`)
                env.update(kernel_startup_env(env))
        return env

    async def start_kernel_for_session(self, session_id, path, name, type, kernel_name, *args, **kwargs):
        issued_token.set(None)
        kernel_id = await super().start_kernel_for_session(session_id, path, name, type, kernel_name, *args, **kwargs)
        token = issued_token.get()
        if token is not None and self.kernel_tokens is not None:
            self.kernel_tokens.bind(token, kernel_id)
        return kernel_id
