"""The server extension that wires OneLakeContentsManager into a Jupyter server.

Enabled for every server of the environment by `jupyter_server_config.d/onelake_contents.json`
(installed with the package); it does nothing unless the server's contents manager is ours. It
adds `Retry-After` to the 503s the manager raises when OneLake throttles, installs
OneLakeSessionManager in place of jupyter_server's own session manager (a configured one is left
alone), so kernels learn where their notebook lives in OneLake, serves kernels their OneLake tokens
(`relay`, kernels only) and takes the broker's secret and address and JupyterHub's token out of the
server's environment, which kernels and terminals inherit; when the server stops, it closes the manager's connections to OneLake and the broker. An ExtensionApp, because jupyter_server
calls `stop_extension` of those (and of no plain module) on shutdown.

jupytext's server extension wraps whatever contents manager the server has. Its async wrapper
(jupytext 1.19) names a new notebook by calling `exists()` without awaiting it: with jupyter_server's
own managers `exists` is a plain function, with ours it is a coroutine, always true, so the naming
loop never ends and the server hangs at 100 % CPU. It cannot be made to work without answering
`exists` from a synchronous call on the event loop, so this extension switches jupytext's server
extension off (one warning) when the contents manager is ours; jupyter_server links extensions
before it loads any, so jupytext never wraps.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.services.sessions.sessionmanager import SessionManager
from jupyter_server.utils import url_path_join

from .. import config
from . import history
from .handlers import RetryAfterTransform
from .manager import OneLakeContentsManager
from .relay import TOKEN_PATH, KernelTokenHandler, KernelTokens
from .sessions import OneLakeSessionManager

JUPYTEXT = "jupyterlab_jupytext"


@runtime_checkable
class ServesOneLake(Protocol):
    """What the extension needs of the server's contents manager, recognised by what it provides
    (OneLakeContentsManager, a subclass, or a manager composed around one): its kernels'
    environment, the token its relay hands out, and a way to close its connections."""

    token_scope: str

    def kernel_environment(self, path: str | None) -> dict[str, str]: ...

    async def access_token(self): ...

    def info_string(self) -> str: ...

    async def close(self) -> None: ...


class OneLakeExtension(ExtensionApp):
    name = "onelake_contents"
    description = "Wires OneLakeContentsManager into the server: Retry-After, kernels' OneLake environment, shutdown."
    load_other_extensions = True

    def _link_jupyter_server_extension(self, serverapp) -> None:
        super()._link_jupyter_server_extension(serverapp)
        jupytext = serverapp.extension_manager.extensions.get(JUPYTEXT)
        ours = issubclass(serverapp.contents_manager_class, OneLakeContentsManager)
        if ours and jupytext is not None and jupytext.enabled:
            jupytext.enabled = False
            self.log.warning(
                "onelake_contents: switched off jupytext's server extension (%s): its async contents manager "
                "calls exists() without awaiting it and would hang the server when naming a new notebook",
                JUPYTEXT,
            )

    def _ours(self) -> ServesOneLake | None:
        contents = self.serverapp.contents_manager
        return contents if isinstance(contents, ServesOneLake) else None

    def initialize_settings(self) -> None:
        serverapp, contents = self.serverapp, self._ours()
        if contents is None:
            self.log.debug("onelake_contents: the contents manager is not OneLake's; nothing to do")
            return
        serverapp.web_app.add_transform(RetryAfterTransform)
        self._withhold_from_children()
        self.kernel_tokens = KernelTokens(lambda kernel_id: kernel_id in serverapp.kernel_manager)
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
        if isinstance(serverapp.session_manager, OneLakeSessionManager):
            serverapp.session_manager.kernel_tokens = self.kernel_tokens
            serverapp.session_manager.token_url = self._url_for_kernels
        self.log.info("onelake_contents: %s", contents.info_string())

    def _withhold_from_children(self) -> None:
        """Kernels, terminals and every other child start with a copy of this environment: take
        out what must not reach them (`config.WITHHELD_FROM_CHILDREN`). The manager has resolved its
        settings; the identity provider and JupyterHub's clients in this server read their tokens
        from the environment on first use, so they read them now."""
        serverapp = self.serverapp
        getattr(serverapp.identity_provider, "token", None)
        holders = [serverapp.identity_provider]
        for apps in serverapp.extension_manager.extension_apps.values():
            holders.extend(apps)
        for holder in holders:
            hub_auth = getattr(holder, "hub_auth", None)
            if hub_auth is not None:
                getattr(hub_auth, "api_token", None)
        for variable in config.WITHHELD_FROM_CHILDREN:
            os.environ.pop(variable, None)

    def initialize_handlers(self) -> None:
        contents = self._ours()
        if contents is not None:
            self.handlers.append(
                (f"/{TOKEN_PATH}", KernelTokenHandler, {"tokens": self.kernel_tokens, "contents_manager": contents})
            )
            self.handlers.extend(history.handlers())

    def _url_for_kernels(self) -> str:
        """This server on loopback (kernels run beside it), with its base URL: the relay's base."""
        app = self.serverapp
        host = app.ip if config.is_loopback(app.ip) else "127.0.0.1"
        if app.ip in ("::", "[::]") or ":" in host:
            host = "[::1]"
        scheme = "https" if app.certfile else "http"
        return url_path_join(f"{scheme}://{host}:{app.port}", app.base_url).rstrip("/")

    async def stop_extension(self) -> None:
        contents = self._ours()
        if contents is not None:
            await contents.close()
            self.log.info("onelake_contents: closed the connections to OneLake and the broker")
