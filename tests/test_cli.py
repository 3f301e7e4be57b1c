"""The `onelake-contents` command against the emulator: every verb, --json, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from onelake_contents.cli import main
from tests.conftest import FILES, ITEM, WORKSPACE

ROOT = f"{FILES}/home/cli"


@pytest.fixture
def env(emulator, monkeypatch, tmp_path):
    values = {
        "ONELAKE_ENDPOINT": emulator.endpoint,
        "ONELAKE_WORKSPACE": WORKSPACE,
        "ONELAKE_ROOT": ROOT,
        "ONELAKE_BROKER_URL": emulator.broker_url,
        "ONELAKE_BROKER_TOKEN": emulator.broker_token,
        "ONELAKE_CA_FILE": emulator.ca_file,
        "ONELAKE_CONFIG": str(tmp_path / "config.json"),
    }
    (tmp_path / "config.json").write_text("{}\n")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def run_json(capsys, *argv):
    code, out = run(capsys, *argv, "--json")
    return code, json.loads(out)


def stored(emulator, path: str) -> bytes | None:
    node = emulator.namespace.workspaces[WORKSPACE].nodes.get(f"{ROOT}/{path}")
    return None if node is None else node.data


def test_put_get_ls_mv_rm(env, emulator, capsys, tmp_path):
    local = tmp_path / "data.csv"
    local.write_text("a,b\n1,2\n")
    code, out = run_json(capsys, "put", str(local), "reports/data.csv")
    assert code == 0 and out["size"] == 8
    assert stored(emulator, "reports/data.csv") == b"a,b\n1,2\n"

    code, out = run_json(capsys, "ls", "reports")
    assert code == 0 and [(e["name"], e["type"], e["size"]) for e in out] == [("data.csv", "file", 8)]
    code, text = run(capsys, "ls", "-l", "")
    assert code == 0 and "reports/" in text

    code, out = run_json(capsys, "get", "reports/data.csv", str(tmp_path / "back.csv"))
    assert code == 0 and (tmp_path / "back.csv").read_text() == "a,b\n1,2\n"

    code, out = run_json(capsys, "mv", "reports/data.csv", "reports/renamed.csv")
    assert code == 0 and stored(emulator, "reports/renamed.csv") == b"a,b\n1,2\n"

    code, out = run_json(capsys, "rm", "reports")
    assert code == 1 and "-r" in out["error"]
    code, out = run_json(capsys, "rm", "-r", "reports")
    assert code == 0 and stored(emulator, "reports/renamed.csv") is None


def test_put_large_file_is_atomic_in_blocks(env, emulator, capsys, tmp_path):
    data = os.urandom(9 * 1024 * 1024 + 5)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    emulator.reset_requests()
    code, out = run_json(capsys, "put", str(local), "big.bin")
    assert code == 0 and out["size"] == len(data)
    assert stored(emulator, "big.bin") == data
    ops = [
        r.operation for r in emulator.requests() if r.operation in ("PutBlock", "PutBlockList", "RenamePath", "PutBlob")
    ]
    assert ops == ["PutBlock"] * 3 + ["PutBlockList", "RenamePath"]
    code, _ = run(capsys, "get", "big.bin", str(tmp_path))
    assert code == 0 and (tmp_path / "big.bin").read_bytes() == data


def test_checkpoints_verbs(env, emulator, capsys, tmp_path):
    local = tmp_path / "n.txt"
    local.write_text("v1")
    run(capsys, "put", str(local), "n.txt")
    code, created = run_json(capsys, "checkpoints", "create", "n.txt")
    assert code == 0 and created["id"]
    local.write_text("v2")
    run(capsys, "put", str(local), "n.txt")
    code, second = run_json(capsys, "checkpoints", "create", "n.txt")
    code, listed = run_json(capsys, "checkpoints", "list", "n.txt")
    assert [c["id"] for c in listed] == [created["id"], second["id"]]  # oldest to newest
    code, _ = run_json(capsys, "checkpoints", "restore", "n.txt", created["id"])
    assert code == 0 and stored(emulator, "n.txt") == b"v1"
    code, out = run_json(capsys, "checkpoints", "restore", "n.txt", "no-such-id")
    assert code == 1 and out["status"] == 404
    assert run(capsys, "checkpoints", "restore", "n.txt")[0] == 2


def test_failures_have_exit_codes(env, emulator, capsys, tmp_path):
    code, out = run_json(capsys, "get", "missing.txt", str(tmp_path / "x"))
    assert code == 1 and out["status"] == 404
    assert not list(tmp_path.glob(".x.part*")) and not (tmp_path / "x").exists()
    code, out = run_json(capsys, "mv", "missing.txt", "other.txt")
    assert code == 1
    code, out = run_json(capsys, "ls", "../escape")
    assert code == 2 and out["status"] == 404  # a path outside the root is a usage error
    code, _ = run(capsys, "put", str(tmp_path / "nope.bin"), "x")
    assert code == 2


def test_bad_settings_exit_2(env, monkeypatch, capsys):
    monkeypatch.delenv("ONELAKE_WORKSPACE")
    code, out = run_json(capsys, "ls")
    assert code == 2 and "ONELAKE_WORKSPACE" in out["error"]


def test_check_reports_each_step(env, emulator, capsys):
    code, out = run_json(capsys, "check")
    assert code == 0 and out["ok"]
    assert [s["step"] for s in out["steps"]] == ["settings", "broker token", "list root", "write probe", "delete probe"]
    assert out["steps"][0]["detail"]["workspace"] == {"value": WORKSPACE, "source": "env ONELAKE_WORKSPACE"}
    assert out["steps"][0]["detail"]["broker_token"]["value"] == "(set)"
    assert emulator.broker_token not in json.dumps(out)
    assert not [p for p in emulator.namespace.workspaces[WORKSPACE].nodes if ".onelake-contents-check" in p]


def test_check_names_the_failing_step(env, emulator, capsys):
    emulator.broker.state.outage_status = 503
    code, out = run_json(capsys, "check")
    assert code == 1 and not out["ok"]
    failed = out["steps"][-1]
    assert failed["step"] == "broker token" and emulator.broker_url in failed["error"] and "503" in failed["error"]
    code, text = run(capsys, "check")
    assert code == 1 and "[FAIL] broker token" in text


def test_configure_writes_the_config_file(env, monkeypatch, capsys, tmp_path):
    target = tmp_path / "saved.json"
    code, out = run_json(
        capsys,
        "configure",
        "--file",
        str(target),
        "--workspace",
        "w2",
        "--root",
        f"{ITEM}/Files/x",
        "--broker-url",
        "https://b.example",
    )
    assert code == 0
    assert json.loads(target.read_text()) == {
        "workspace": "w2",
        "root": f"{ITEM}/Files/x",
        "broker_url": "https://b.example",
    }
    code, out = run_json(capsys, "configure", "--file", str(target), "--root", f"{ITEM}/Tables/bad")
    assert code == 2 and "root" in out["error"]


def run_module(*argv: str) -> subprocess.CompletedProcess:
    """`python -m onelake_contents ...` in a process of its own, without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "onelake_contents", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env=os.environ.copy(),
    )


def test_module_entry_point_runs_without_a_terminal(env):
    result = run_module("ls", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_metrics_file_counts_the_commands_requests_as_onelake_logged_them(env, emulator, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    source = tmp_path / "data.txt"
    source.write_bytes(b"x" * 1000)
    emulator.reset_requests()
    metrics_file = tmp_path / "onelake.prom"
    result = run_module("put", str(source), "data.txt", "--metrics-file", str(metrics_file))
    assert result.returncode == 0, result.stderr
    counted = {}
    for family in text_string_to_metric_families(metrics_file.read_text()):
        for sample in family.samples:
            if sample.name == "onelake_contents_requests_total":
                counted[(sample.labels["operation"], sample.labels["status"])] = sample.value
            if sample.name == "onelake_contents_broker_requests_total":
                assert sample.labels["outcome"] == "ok" and sample.value == 1
    logged = {}
    for record in emulator.requests():
        logged[(record.operation, str(record.status))] = logged.get((record.operation, str(record.status)), 0) + 1
    assert counted == logged and counted


def test_ls_is_one_listing_without_the_storage_sdk_or_an_event_loop(env, emulator, tmp_path):
    """`ls` sends one List Paths through azure-core alone: the storage SDK, aiohttp and asyncio
    (and the Jupyter stack) are never imported, a file lists as itself, a missing path is a 404."""
    ws = emulator.namespace.workspaces[WORKSPACE]
    emulator.namespace.write_file(ws, f"{ROOT}/quick/a.txt", b"abc")
    emulator.namespace.write_file(ws, f"{ROOT}/quick/sub/b.txt", b"b")
    emulator.reset_requests()
    code = (
        "import sys\n"
        "from onelake_contents.cli import main\n"
        "codes = [main(['ls', '--json', 'quick']), main(['ls', '--json', 'quick/a.txt']), main(['ls', 'quick/nope'])]\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'asyncio', 'jupyter_server', 'nbformat'}"
        " | {m for m in sys.modules if m.startswith('azure.storage')})\n"
        "print(codes, loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path
    )
    assert result.stderr.strip().splitlines()[-1] == "[0, 0, 1] []", result.stderr
    folder, file = (json.loads(line) for line in result.stdout.splitlines())
    assert [(e["name"], e["type"], e["size"]) for e in folder] == [("sub", "directory", None), ("a.txt", "file", 3)]
    assert [(e["path"], e["type"], e["size"]) for e in file] == [("quick/a.txt", "file", 3)]
    assert "not found" in result.stderr
    logged = [(r.operation, r.path.rpartition("/home/cli/")[2], r.status) for r in emulator.requests()]
    assert logged == [("ListPaths", "quick", 200), ("ListPaths", "quick/a.txt", 200), ("ListPaths", "quick/nope", 404)]


def test_ls_retries_a_throttled_or_failing_listing_and_counts_it(env, emulator, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    emulator.set_faults(script=["429", "503"], retry_after=1, operations={"ListPaths"})
    emulator.reset_requests()
    metrics_file = tmp_path / "ls.prom"
    try:
        result = run_module("ls", "--json", "--metrics-file", str(metrics_file))
    finally:
        emulator.clear_faults()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []  # the home does not exist yet
    assert [(r.operation, r.status) for r in emulator.requests()] == [
        ("ListPaths", 429),
        ("ListPaths", 503),
        ("ListPaths", 404),
    ]
    counted = {}
    for family in text_string_to_metric_families(metrics_file.read_text()):
        for sample in family.samples:
            if sample.name in ("onelake_contents_requests_total", "onelake_contents_retries_total"):
                counted[(sample.name, *sample.labels.values())] = sample.value
    assert counted == {
        ("onelake_contents_requests_total", "ListPaths", "429"): 1,
        ("onelake_contents_requests_total", "ListPaths", "503"): 1,
        ("onelake_contents_requests_total", "ListPaths", "404"): 1,
        ("onelake_contents_retries_total", "429"): 1,
        ("onelake_contents_retries_total", "5xx"): 1,
    }


def test_ls_reads_every_page_of_a_large_folder(env, emulator, capsys):
    ws = emulator.namespace.workspaces[WORKSPACE]
    for i in range(5001):
        emulator.namespace.write_file(ws, f"{ROOT}/many/f{i:04d}.txt", b"x")
    emulator.reset_requests()
    code, out = run_json(capsys, "ls", "many")
    assert code == 0 and len(out) == 5001 and out[-1]["name"] == "f5000.txt"
    assert [r.operation for r in emulator.requests()] == ["ListPaths", "ListPaths"]


def test_the_quick_listing_speaks_the_storage_sdks_service_version():
    from azure.storage.filedatalake import DataLakeServiceClient

    from onelake_contents.storage.listing import API_VERSION

    assert DataLakeServiceClient("https://onelake.dfs.fabric.microsoft.com").api_version == API_VERSION


def test_ls_of_a_folder_named_with_query_characters(env, emulator, capsys):
    """`&`, `%XX`, `+`, `#`, `?`, `=`, `{` and spaces reach OneLake quoted: each folder lists itself."""
    names = ["R&D", "{x}", "50%41", "a+b", "#1", "q?=1", "sp ace"]
    ws = emulator.namespace.workspaces[WORKSPACE]
    for name in names:
        emulator.namespace.write_file(ws, f"{ROOT}/q/{name}/in.txt", b"x")
    emulator.namespace.write_file(ws, f"{ROOT}/q/R/other.txt", b"x")  # what `R&D` unquoted would list
    for name in names:
        code, out = run_json(capsys, "ls", f"q/{name}")
        assert code == 0 and [e["path"] for e in out] == [f"q/{name}/in.txt"], name


def test_a_local_file_that_cannot_be_written_or_read_is_one_line(env, emulator, capsys, tmp_path):
    local = tmp_path / "x.csv"
    local.write_text("a\n")
    assert run(capsys, "put", str(local), "x.csv")[0] == 0
    code = main(["get", "x.csv", "/proc/x.csv"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot write /proc/x.csv" in err
    code, out = run_json(capsys, "get", "x.csv", str(tmp_path / "no-such-folder" / "x.csv"))
    assert code == 2 and "cannot write" in out["error"]
    assert not list(tmp_path.glob("**/.x.csv.part*"))


@pytest.mark.parametrize("before", [True, False])
def test_global_flags_go_before_or_after_the_verb(env, emulator, capsys, monkeypatch, before):
    monkeypatch.delenv("ONELAKE_WORKSPACE")
    monkeypatch.delenv("ONELAKE_ROOT")
    emulator.namespace.write_file(emulator.namespace.workspaces[WORKSPACE], f"{ROOT}/here.txt", b"x")
    flags = ["--workspace", WORKSPACE, "--root", ROOT, "--json"]
    code, out = run(capsys, *([*flags, "ls"] if before else ["ls", *flags]))
    assert code == 0 and [e["name"] for e in json.loads(out)] == ["here.txt"]


def test_an_unknown_workspace_is_named_not_listed_as_an_empty_home(env, emulator, capsys, monkeypatch):
    monkeypatch.setenv("ONELAKE_WORKSPACE", "no-such-workspace")
    code, out = run_json(capsys, "ls")
    assert code == 1 and out["status"] == 404
    assert out["error"] == "workspace no-such-workspace does not exist (or is not visible to you)"
    code, out = run_json(capsys, "put", __file__, "x.py")
    assert code == 1 and "workspace no-such-workspace does not exist" in out["error"]
    code, out = run_json(capsys, "check")
    assert code == 1
    assert [(s["step"], s["ok"]) for s in out["steps"]] == [
        ("settings", True),
        ("broker token", True),
        ("list root", False),
    ]
    assert "workspace no-such-workspace does not exist" in out["steps"][-1]["error"]


def test_a_settings_file_that_is_missing_or_has_an_unknown_key_exits_2(env, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "missing.json"))
    code, out = run_json(capsys, "ls")
    assert code == 2 and out["error"] == f"ONELAKE_CONFIG names {tmp_path / 'missing.json'}, which does not exist"
    settings = tmp_path / "typo.json"
    settings.write_text(json.dumps({"workspace": WORKSPACE, "wrokspace": "x"}))
    monkeypatch.setenv("ONELAKE_CONFIG", str(settings))
    for verb in ("ls", "check"):
        code, out = run_json(capsys, verb)
        assert code == 2 and "unknown setting wrokspace" in out["error"]


def test_checkpoints_of_a_missing_file_is_not_found(env, emulator, capsys, tmp_path):
    code, out = run_json(capsys, "checkpoints", "list", "nope.ipynb")
    assert code == 1 and out == {"error": "no such file: nope.ipynb", "status": 404}
    local = tmp_path / "there.ipynb"
    local.write_text("{}")
    assert run(capsys, "put", str(local), "there.ipynb")[0] == 0
    assert run_json(capsys, "checkpoints", "list", "there.ipynb") == (0, [])


def test_help_names_the_connection_flags_the_settings_file_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    text = capsys.readouterr().out
    assert exited.value.code == 0
    for flag in ("--endpoint", "--workspace", "--root", "--broker-url", "--broker-token-file", "--ca-file"):
        assert flag in text
    assert "ONELAKE_CONFIG" in text and "ONELAKE_BROKER_TOKEN" in text
    assert "exit codes: 0 done; 1 the operation failed" in " ".join(text.split())


def test_a_bogus_token_in_the_environment_is_presented_not_the_settings_files_token_file(
    env, emulator, capsys, monkeypatch, tmp_path
):
    """The environment is closer to the command than the settings file: its token is the one the
    broker sees, even when the file names a token file (as the demo's settings do)."""
    token_file = tmp_path / "broker-token"
    token_file.write_text(emulator.broker_token)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"broker_token_file": str(token_file)}))
    monkeypatch.setenv("ONELAKE_CONFIG", str(settings))
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", "bogus")
    code, out = run_json(capsys, "check")
    assert code == 1 and [(s["step"], s["ok"]) for s in out["steps"]] == [("settings", True), ("broker token", False)]
    assert "401" in out["steps"][-1]["error"]
    assert run_json(capsys, "ls")[0] == 1
    monkeypatch.delenv("ONELAKE_BROKER_TOKEN")
    assert run_json(capsys, "check")[0] == 0


def test_the_command_line_names_what_the_file_browser_names_in_a_tree_of_roots(monkeypatch, capsys, tmp_path):
    from onelake_contents.emulator import Emulator

    with Emulator({"analytics": ["Team.Lakehouse"], "sales": ["Sales.Lakehouse"]}) as lake:
        roots = {"home": "analytics/Team.Lakehouse/Files/home/cli", "sales": "sales/Sales.Lakehouse/Files"}
        (tmp_path / "config.json").write_text("{}\n")
        for key, value in {
            "ONELAKE_ENDPOINT": lake.endpoint,
            "ONELAKE_ROOTS": json.dumps(roots),
            "ONELAKE_BROKER_URL": lake.broker_url,
            "ONELAKE_BROKER_TOKEN": lake.broker_token,
            "ONELAKE_CA_FILE": lake.ca_file,
            "ONELAKE_CONFIG": str(tmp_path / "config.json"),
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("ONELAKE_WORKSPACE", raising=False)
        monkeypatch.delenv("ONELAKE_ROOT", raising=False)
        local = tmp_path / "q3.csv"
        local.write_text("q,3\n")
        assert run(capsys, "ls", "/")[1].split() == ["home/", "sales/"]
        assert run_json(capsys, "put", str(local), "/home/q3.csv")[0] == 0
        lake.reset_requests()
        code, out = run_json(capsys, "mv", "/home/q3.csv", "/sales/q3.csv")
        assert code == 0, out
        assert [r.operation for r in lake.requests() if r.method == "PUT"] == ["PutBlobFromURL"]
        assert lake.namespace.workspaces["sales"].nodes["Sales.Lakehouse/Files/q3.csv"].data == b"q,3\n"
        assert "Team.Lakehouse/Files/home/cli/q3.csv" not in lake.namespace.workspaces["analytics"].nodes
        assert [e["name"] for e in run_json(capsys, "ls", "/sales")[1]] == ["q3.csv"]
        assert run(capsys, "rm", "/sales")[0] == 2  # a root is not deleted
        assert run(capsys, "ls", "/marketing")[0] == 2  # in no root: bad usage
