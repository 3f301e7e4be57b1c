"""The settings of OneLakeContentsManager as traits, declared in `config` and resolved there.

Each trait's help comes from `config.SETTINGS` (one text for the trait, the command line flag and
the README), and its value from `config.resolve`: a trait set in a Jupyter config file or on the
command line wins over the environment variable, which wins over the saved config file. A trait
left unset reads as the value actually used (as IdentityProvider.token reads JUPYTER_TOKEN), so
`cm.workspace` is never None while the manager uses a workspace.
"""

from __future__ import annotations

from traitlets import Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .. import config
from ..paths import PathMapper
from .errors import api_path


def _setting_trait(name: str) -> Unicode:
    return Unicode(None, allow_none=True, config=True, help=config.trait_help(name))


def _resolved(name: str):
    @default(name)
    def value(self):
        return self.settings.values.get(name)

    return value


class OneLakeSettings(LoggingConfigurable):
    """Where OneLake is and how to get a token; `settings` holds the resolved values and sources.
    One trait per setting of `config.SETTINGS`, named as the setting, read as its resolved value."""

    for _name in config.SETTINGS:  # the class body's namespace: one trait and its default each
        vars()[_name] = _setting_trait(_name)
        vars()[f"_default_{_name}"] = _resolved(_name)
    del _name

    @validate("root")
    def _validate_root(self, proposal):
        value = proposal["value"]
        if value:
            PathMapper(value)
        return value

    @validate("home_dir")
    def _validate_home_dir(self, proposal):
        return api_path(proposal["value"])

    def resolve_settings(self) -> config.ResolvedSettings:
        """Resolve every setting once (traits given explicitly win); ValueError names a missing
        or invalid one and where it came from."""
        explicit = {
            name: getattr(self, name) for name in config.SETTINGS if self.has_trait(name) and self.trait_has_value(name)
        }
        try:
            self.settings = config.resolve(explicit)
            # named roots say where everything is; else the workspace and the root folder do
            places = () if self.settings.values.get("roots") else ("workspace", "root")
            self.settings.require(*places, "broker_url")
        except config.SettingsError as error:
            raise ValueError(f"{type(self).__name__}: {error}") from None
        return self.settings
