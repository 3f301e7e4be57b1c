"""`onelake-contents demo`: what a person running it gets, and what it keeps from other users."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ITEM, WORKSPACE
from tests.servers import free_port

CLI = [sys.executable, "-m", "onelake_contents"]


def demo_process(tmp_path: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "demo", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--user", "tester"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_demo_serves_keeps_secrets_private_meets_the_cli_and_stops_on_sigterm(tmp_path):
    port = free_port()
    demo = demo_process(tmp_path, port)
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(lines)
        assert "JupyterLab on OneLake is running" in text, demo.stderr.read() if demo.poll() is not None else text
        data = tmp_path / "data"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE((data / "broker-token").stat().st_mode) == 0o600
        token = text.split("token=", 1)[1].split()[0]
        (lab,) = children(demo.pid)
        assert token not in Path(f"/proc/{lab}/cmdline").read_bytes().decode()
        cli_line = next(line for line in lines if "CLI:" in line)
        config = cli_line.split("ONELAKE_CONFIG=", 1)[1].split()[0]
        listed = subprocess.run(
            [*CLI, "ls", "/", "--json"],
            env={**os.environ, "ONELAKE_CONFIG": config},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert [e["name"] for e in json.loads(listed.stdout)] == ["Welcome.ipynb"]
        scratch = Path(f"/proc/{lab}/cwd").resolve()  # the lab runs in its temporary folder
        assert scratch.is_dir()
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
        assert not Path(f"/proc/{lab}").exists()
        assert not scratch.exists()  # the Y store's temporary folder went with the server
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_demo_on_a_busy_port_says_so_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*CLI, "demo", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert 'ARGS="--port N"' in result.stderr and str(port) in result.stderr


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("jupyterlab", "from onelake_contents.cli import main; sys.exit(main(['demo']))", "demo"),
        ("trustme", "from onelake_contents.cli import main; sys.exit(main(['demo']))", "demo"),
        ("jwt", "from onelake_contents.emulator.__main__ import main; sys.exit(main([]))", "emulator"),
    ],
)
def test_a_command_whose_extra_is_missing_names_the_install_line(blocked, argv, extra):
    # sys.modules[name] = None is how Python marks a module as not importable
    code = f"import sys; sys.modules[{blocked!r}] = None; {argv}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 2
    assert result.stderr.strip() and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f'pip install "onelake-contents[{extra}]"' in result.stderr


def test_the_cli_does_not_load_the_jupyter_stack(emulator, tmp_path):
    """`onelake-contents` builds on the storage layer: no jupyter_server, nbformat, tornado or
    jsonschema is imported to list a folder, put, get and delete a file."""
    settings = emulator.info.environment(WORKSPACE, f"{ITEM}/Files/home/cli")
    code = (
        "import sys\n"
        "from onelake_contents.cli import main\n"
        "open('f.txt', 'w').write('x')\n"
        "assert main(['put', 'f.txt', 'f.txt']) == main(['ls']) == main(['get', 'f.txt', 'g.txt']) == 0\n"
        "assert main(['rm', 'f.txt']) == main(['checkpoints', 'list', 'f.txt']) == 0\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'jupyter_server', 'nbformat', 'tornado', 'jsonschema', 'jupyter_core'})\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **settings},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_json_is_accepted_before_the_verb(tmp_path):
    result = subprocess.run(
        [*CLI, "--json", "ls"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 2
    assert "workspace" in json.loads(result.stdout)["error"]
