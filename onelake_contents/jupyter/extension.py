"""The server extension that wires OneLakeContentsManager into a Jupyter server.

Enabled for every server of the environment by `jupyter_server_config.d/onelake_contents.json`
(installed with the package); it does nothing unless the server's contents manager is ours. It
adds `Retry-After` to the 503s the manager raises when OneLake throttles, and installs
OneLakeSessionManager in place of jupyter_server's own session manager (a configured one is left
alone), so kernels learn where their notebook lives in OneLake.
"""

from __future__ import annotations

from jupyter_server.services.sessions.sessionmanager import SessionManager

from .handlers import RetryAfterTransform
from .manager import OneLakeContentsManager
from .sessions import OneLakeSessionManager


def _load_jupyter_server_extension(serverapp) -> None:
    contents = serverapp.contents_manager
    if not isinstance(contents, OneLakeContentsManager):
        serverapp.log.debug("onelake_contents: the contents manager is not OneLake's; nothing to do")
        return
    serverapp.web_app.add_transform(RetryAfterTransform)
    if type(serverapp.session_manager) is SessionManager:
        sessions = OneLakeSessionManager(
            parent=serverapp,
            log=serverapp.log,
            kernel_manager=serverapp.kernel_manager,
            contents_manager=contents,
        )
        serverapp.session_manager = sessions
        serverapp.web_app.settings["session_manager"] = sessions
    serverapp.log.info("onelake_contents: %s", contents.info_string())
