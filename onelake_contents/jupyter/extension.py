"""The server extension that wires OneLakeContentsManager into a Jupyter server.

Enabled for every server of the environment by `jupyter_server_config.d/onelake_contents.json`
(installed with the package); it does nothing unless the server's contents manager is ours. It
adds `Retry-After` to the 503s the manager raises when OneLake throttles, installs
OneLakeSessionManager in place of jupyter_server's own session manager (a configured one is left
alone), so kernels learn where their notebook lives in OneLake, and, when the server stops, closes
the manager's connections to OneLake and the broker. An ExtensionApp, because jupyter_server
calls `stop_extension` of those (and of no plain module) on shutdown.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.services.sessions.sessionmanager import SessionManager

from .handlers import RetryAfterTransform
from .manager import OneLakeContentsManager
from .sessions import OneLakeSessionManager


class OneLakeExtension(ExtensionApp):
    name = "onelake_contents"
    description = "Wires OneLakeContentsManager into the server: Retry-After, kernels' OneLake environment, shutdown."
    load_other_extensions = True

    def _ours(self) -> OneLakeContentsManager | None:
        contents = self.serverapp.contents_manager
        return contents if isinstance(contents, OneLakeContentsManager) else None

    def initialize_settings(self) -> None:
        serverapp, contents = self.serverapp, self._ours()
        if contents is None:
            self.log.debug("onelake_contents: the contents manager is not OneLake's; nothing to do")
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
            # an ExtensionApp's settings are merged into the web app's after this method
            self.settings["session_manager"] = sessions
        self.log.info("onelake_contents: %s", contents.info_string())

    async def stop_extension(self) -> None:
        contents = self._ours()
        if contents is not None:
            await contents.close()
            self.log.info("onelake_contents: closed the connections to OneLake and the broker")
