"""Run by IPython when a notebook's kernel starts (`PYTHONSTARTUP`, see `lakeimport`): installs
the OneLake import finder, then runs the user's own `PYTHONSTARTUP` file, if there was one.

It runs in the notebook's namespace, so it leaves no name behind.
"""


def _onelake_kernel_startup(namespace: dict) -> None:
    import os
    import sys
    import warnings

    try:
        # the broker client's imports warn about optional extras (requests asks urllib3 for SOCKS
        # support, once): not the notebook's business, and it would print into a cell's output
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from onelake_contents import credential  # noqa: F401
            from onelake_contents.lakeimport import PREVIOUS_STARTUP, install

        install()
    except Exception as error:  # a kernel must start whatever happens here
        sys.stderr.write(f"onelake_contents: imports from OneLake are off ({type(error).__name__}: {error})\n")
        return
    previous = os.environ.get(PREVIOUS_STARTUP)
    if previous and os.path.isfile(previous):
        with open(previous, encoding="utf-8") as handle:
            exec(compile(handle.read(), previous, "exec"), namespace)


_onelake_kernel_startup(globals())
del _onelake_kernel_startup
