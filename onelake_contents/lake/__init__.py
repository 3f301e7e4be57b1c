"""Jupyter-free OneLake file logic shared by the contents manager and the command line.

Nothing here imports tornado or jupyter_server: the `onelake-contents` command builds on it and
starts in a fraction of a second.
"""
