"""`onelake-contents demo`: what a person running it gets, and what it keeps from other users."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from onelake_contents import demo
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
        assert [e["name"] for e in json.loads(listed.stdout)] == ["Welcome.ipynb", "sample.csv"]
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


def _tcp_states(port: int) -> set[str]:
    """The TCP states (hex, as /proc/net/tcp shows them) of the sockets bound to 127.0.0.1:port."""
    states = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}":
            states.add(fields[3])
    return states


def test_a_port_left_in_time_wait_is_free_and_a_listening_one_is_busy():
    """Right after a demo stops, its connections wait in TIME_WAIT on its port: tornado binds with
    SO_REUSEADDR and can listen there again, so the demo's check must not call the port busy."""
    time_wait = "06"
    with socket.socket() as listener:
        # as tornado listens: the connections it accepts share the option, and so their TIME_WAIT
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        with pytest.raises(demo.DemoError, match=f"port {port} on 127.0.0.1 is in use"):
            demo.check_port_free("127.0.0.1", port)
        accepted.close()  # the server closes first, so its end of the connection waits in TIME_WAIT
        assert client.recv(1) == b""
        client.close()
    for _ in range(100):
        if time_wait in _tcp_states(port):
            break
        time.sleep(0.05)
    assert _tcp_states(port) == {time_wait}
    demo.check_port_free("127.0.0.1", port)


def _pids() -> set[int]:
    return {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def test_one_ctrl_c_stops_the_demo_and_its_kernels_cleanly(tmp_path):
    """Ctrl-C is a SIGINT to the terminal's whole process group: the demo stops the lab, which shuts
    its kernels down (their connection files removed), instead of killing it after a long wait and
    leaving its kernels to notice their parent is gone. Kernels never see the Jupyter token, and
    the server's own files stay in the data folder."""
    port, runtime, data = free_port(), tmp_path / "runtime", tmp_path / "data"
    jupyter_data = tmp_path / "jupyter-data"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_DATA_DIR": str(jupyter_data)}
    with open(tmp_path / "demo.log", "wb") as log:
        process = subprocess.Popen(
            [*CLI, "demo", "--data-dir", str(data), "--port", str(port), "--user", "tester"],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        text = ""
        for line in process.stdout:
            text += line
            if "Press Ctrl-C" in line:
                break
        assert "JupyterLab on OneLake is running" in text, (tmp_path / "demo.log").read_text()
        token = text.split("token=", 1)[1].split()[0]
        headers = {"Authorization": f"token {token}"}
        started = requests.post(
            f"http://127.0.0.1:{port}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60
        )
        assert started.status_code == 201
        (lab,) = children(process.pid)
        (kernel,) = [pid for pid in children(lab) if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert list(runtime.glob("kernel-*.json"))
        environment = _environment(kernel)
        assert "JUPYTER_TOKEN" not in environment and token not in "".join(environment.values())
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=120) == 0
        for _ in range(600):
            if not {lab, kernel} & _pids():
                break
            time.sleep(0.1)
        assert not {lab, kernel} & _pids()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert not list(runtime.glob("kernel-*.json"))  # shut down by the lab, not left behind
    assert "Parent appears to have exited" not in (tmp_path / "demo.log").read_text()
    assert (data / "jupyter" / "file_id_manager.db").exists() and (data / "jupyter" / "nbsignatures.db").exists()
    assert not list(jupyter_data.glob("*.db"))


def test_opening_and_saving_the_welcome_notebook_does_not_rewrite_it(tmp_path):
    """Welcome.ipynb has cell ids and is signed with the server's notary: opened it is trusted and
    valid (no MissingIDFieldWarning), and saved unchanged, as JupyterLab does on opening it with
    real-time collaboration, it is not written again."""
    log = tmp_path / "lab.log"
    stack = demo.start(tmp_path / "data", port=free_port(), user="tester", log_file=log)
    try:
        base = stack.url.split("/lab?", 1)[0]
        headers = {"Authorization": f"token {stack.token}"}
        welcome = f"{stack.root}/Welcome.ipynb"
        nodes = stack.emulator.namespace.workspaces[demo.DEMO_WORKSPACE].nodes
        stored = nodes[welcome].data
        stack.emulator.reset_requests()
        opened = requests.get(f"{base}/api/contents/Welcome.ipynb", headers=headers, timeout=60).json()
        code = [cell for cell in opened["content"]["cells"] if cell["cell_type"] == "code"]
        assert code and all(cell["metadata"]["trusted"] for cell in code)
        saved = requests.put(
            f"{base}/api/contents/Welcome.ipynb",
            json={"type": "notebook", "format": "json", "content": opened["content"]},
            headers=headers,
            timeout=60,
        )
        assert saved.status_code == 200
        assert nodes[welcome].data == stored
        assert [r for r in stack.emulator.requests("PutBlob") if r.path == welcome] == []
    finally:
        stack.stop()
    assert "MissingIDFieldWarning" not in log.read_text()


def test_demo_help_lists_only_what_the_demo_uses():
    result = subprocess.run([*CLI, "demo", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--port" in result.stdout and "--data-dir" in result.stdout
    for unused in ("--endpoint", "--broker-url", "--workspace", "--root", "--ca-file", "--metrics-file"):
        assert unused not in result.stdout


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
        "assert main(['checkpoints', 'list', 'f.txt']) == main(['rm', 'f.txt']) == 0\n"
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
