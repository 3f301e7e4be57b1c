"""OneLakeSessionManager: Jupyter's session manager, telling each kernel where OneLake is.

Kernels run in a local folder, so jupyter_server's JPY_SESSION_NAME cannot say where their
notebook lives; this adds the server's OneLake settings (ONELAKE_*) and, for a notebook,
ONELAKE_NOTEBOOK_PATH (its path under the root), ONELAKE_NOTEBOOK_DIR (its folder as an fsspec
path for `onelake_contents.fs()`) and ONELAKE_NOTEBOOK_URL (the folder's abfss:// URL), taken
from the contents manager's `kernel_environment()`. The server extension installs it when the
server uses jupyter_server's own session manager.
"""

from __future__ import annotations

from jupyter_server.services.sessions.sessionmanager import SessionManager

from .errors import api_path


class OneLakeSessionManager(SessionManager):
    async def session_exists(self, path):
        # jupyter_server asks this before creating a session, outside the handler's catch-all:
        # a path that leaves the root is its 4xx here, not a 500 from inside create_session
        api_path(path)
        return await super().session_exists(path)

    def get_kernel_env(self, path, name=None):
        env = super().get_kernel_env(path, name)
        describe = getattr(self.contents_manager, "kernel_environment", None)
        if describe is not None:
            env.update(describe(path))
        return env
