"""onelake-contents: Jupyter's contents in Microsoft OneLake."""

__version__ = "0.1.0"
