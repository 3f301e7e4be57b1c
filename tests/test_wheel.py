"""The wheel built from this checkout: it carries the JupyterLab extension prebuilt and the server
extension's config, and an environment without Node gets both from it.

The wheel is built once for the module from the checkout itself, as `pip wheel` does without build
isolation (the build hook runs `jlpm install` and `jlpm build:prod` in labextension/: quick when
its node_modules is there, as `make` leaves it). A build from a clean clone is what `make test`
does on CI before the suite (`pip install -e`), so it is not done again here. The wheel goes into
a new virtual environment whose PATH has no Node; it sees the test environment's packages (its
dependencies, JupyterLab) behind its own, so the package it imports is the wheel's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from onelake_contents import __version__

CHECKOUT = Path(__file__).resolve().parents[1]
LABEXTENSION = "share/jupyter/labextensions/onelake-contents"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/onelake_contents.json"
NODE_TOOLS = ("node", "npm", "yarn", "jlpm")
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Build:
    wheel: Path
    status_before: str
    status_after: str


@dataclass(frozen=True)
class Target:
    """A virtual environment with the wheel installed, the environment its commands run in, and
    the folder they run from (not the checkout: `python -m` puts its working folder on sys.path)."""

    venv: Path
    python: Path
    env: dict[str, str]
    workdir: Path


def sandbox(root: Path) -> dict[str, str]:
    """Home, caches and Jupyter's folders below `root`: a child writes nothing in the user's."""
    home = root / "home"
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "PIP_CACHE_DIR": root / "pip-cache",
        "npm_config_cache": root / "npm-cache",
        "YARN_GLOBAL_FOLDER": root / "yarn-global",
        "JUPYTER_CONFIG_DIR": root / "jupyter-config",
        "JUPYTER_DATA_DIR": root / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": root / "jupyter-runtime",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {name: str(folder) for name, folder in folders.items()}


def run(args: list, env: dict[str, str], cwd: Path) -> str:
    """What a command that must succeed printed (stdout and stderr in the order written)."""
    done = subprocess.run(
        [str(a) for a in args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-5000:]}"
    return COLOURS.sub("", done.stdout)


def git_status() -> str:
    return subprocess.run(
        ["git", "-C", str(CHECKOUT), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def sections(listing: str, header: re.Pattern[str]) -> dict[str, list[str]]:
    """A listing's lines below each header line (`header` takes the folder out of it), spaces
    squeezed."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in listing.splitlines():
        heading = header.fullmatch(line.strip())
        if heading:
            current = found.setdefault(heading.group(1), [])
        elif line.strip():
            current.append(" ".join(line.split()))
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Build:
    root = tmp_path_factory.mktemp("wheel-build")
    # not the tests' PYTHONPATH, nor a yarn or npm setting that would move their files out of the
    # sandbox or of labextension/ (whose .yarnrc.yml keeps yarn's cache there, ignored by git)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "YARN_", "npm_config_"))}
    env.update(sandbox(root))
    # the build hook runs jlpm, which comes with jupyter_builder in this environment's scripts
    env["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", os.defpath)])
    before = git_status()
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", root, CHECKOUT],
        env,
        root,
    )
    (wheel,) = root.glob("onelake_contents-*.whl")
    return Build(wheel, before, git_status())


@pytest.fixture(scope="module")
def target(built, tmp_path_factory) -> Target:
    root = tmp_path_factory.mktemp("no-node")
    venv = root / "venv"
    env = {"PATH": str(venv / "bin"), "LANG": "C.UTF-8", **sandbox(root)}
    assert [tool for tool in NODE_TOOLS if shutil.which(tool, path=env["PATH"])] == []
    run([sys.executable, "-m", "venv", "--without-pip", venv], env, root)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", built.wheel], env, root)
    # The test environment's packages behind the venv's own, added after the install so that pip
    # never saw (nor could uninstall) the test environment's onelake-contents. A plain path in a
    # .pth: the .pth files of that folder (an editable install's) are not read.
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], env, root).strip())
    shared = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "test-environment.pth").write_text("".join(f"{path}\n" for path in shared))
    return Target(venv, python, env, root)


def test_the_build_changes_nothing_git_keeps_in_the_checkout(built):
    assert built.status_after == built.status_before


def test_the_wheel_carries_the_built_extension_and_the_server_config(built):
    data = f"onelake_contents-{__version__}.data/data"
    with zipfile.ZipFile(built.wheel) as wheel:
        names = wheel.namelist()
        package = json.loads(wheel.read(f"{data}/{LABEXTENSION}/package.json"))
        install = json.loads(wheel.read(f"{data}/{LABEXTENSION}/install.json"))
        config = json.loads(wheel.read(f"{data}/{SERVER_CONFIG}"))
    static = [n.rsplit("/", 1)[1] for n in names if n.startswith(f"{data}/{LABEXTENSION}/static/")]
    (entry,) = [n for n in static if re.fullmatch(r"remoteEntry\.[0-9a-f]+\.js", n)]
    assert "style.js" in static
    # JupyterLab loads what the built package.json names
    assert (package["name"], package["version"]) == ("onelake-contents", __version__)
    assert package["jupyterlab"]["_build"]["load"] == f"static/{entry}"
    assert (install["packageManager"], install["packageName"]) == ("python", "onelake-contents")
    assert config == {"ServerApp": {"jpserver_extensions": {"onelake_contents": True}}}
    assert [n for n in names if "node_modules" in n or n.endswith((".ts", ".tsx"))] == []


def test_the_environment_imports_the_wheels_package(target):
    printed = run(
        [
            target.python,
            "-c",
            "import jupyterlab, onelake_contents; print(onelake_contents.__file__, jupyterlab.__file__)",
        ],
        target.env,
        target.workdir,
    )
    ours, jupyterlab = (Path(p) for p in printed.split())
    assert ours.is_relative_to(target.venv)
    assert not jupyterlab.is_relative_to(target.venv)


def test_jupyterlab_lists_the_prebuilt_extension_with_no_node(target):
    # what `jupyter labextension list` runs (the venv has no console scripts of JupyterLab's own)
    listing = run([target.python, "-m", "jupyterlab.labextensions", "list"], target.env, target.workdir)
    folders = sections(listing, re.compile(r"(/\S*labextensions)"))
    ours = folders[str(target.venv / "share/jupyter/labextensions")]
    assert f"onelake-contents v{__version__} enabled OK (python, onelake-contents)" in ours
    assert [folder for folder, lines in folders.items() if any("onelake-contents" in line for line in lines)] == [
        str(target.venv / "share/jupyter/labextensions")
    ]


def test_the_wheels_config_enables_the_server_extension(target):
    # what `jupyter server extension list` runs
    listing = run([target.python, "-m", "jupyter_server", "extension", "list"], target.env, target.workdir)
    configs = sections(listing, re.compile(r"Config dir: (\S+)"))
    ours = configs[str(target.venv / "etc/jupyter")]
    assert "onelake_contents enabled" in ours
    assert f"onelake_contents {__version__} OK" in ours
