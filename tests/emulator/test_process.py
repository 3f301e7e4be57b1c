"""The `onelake-emulator` command: its JSON line, signals, and `--data-dir` across restarts and crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.credential import BrokerCredential


def start(*args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "onelake_contents.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise AssertionError(f"emulator did not start: {proc.stderr.read()}")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=20)
    finally:
        proc.stdout.close()
        proc.stderr.close()


def clients(info: dict):
    credential = BrokerCredential(info["broker_url"], client_token=info["broker_token"], ca_file=info["ca_file"])
    datalake = DataLakeServiceClient(
        info["endpoint"], credential=credential, connection_verify=info["ca_file"], retry_total=0
    )
    blobs = BlobServiceClient(info["endpoint"], credential=credential, connection_verify=info["ca_file"], retry_total=0)
    return datalake, blobs


def test_prints_one_json_line_then_serves_until_sigterm(tmp_path):
    proc, info = start(
        "--workspace", "alpha", "--workspace", "beta", "--item", "A.Lakehouse", "--item", "beta/B.Lakehouse"
    )
    try:
        assert set(info) == {"endpoint", "broker_url", "broker_token", "ca_file", "workspaces", "users"}
        assert info["users"] == {}
        assert info["endpoint"].startswith("https://127.0.0.1:")
        assert info["broker_url"].startswith("https://127.0.0.1:")
        assert info["workspaces"] == {"alpha": ["A.Lakehouse"], "beta": ["A.Lakehouse", "B.Lakehouse"]}
        datalake, _ = clients(info)
        names = [p.name for p in datalake.get_file_system_client("beta").get_paths(recursive=False)]
        assert names == ["A.Lakehouse", "B.Lakehouse"]
    finally:
        assert stop(proc) == 0


def test_sigint_stops_it_too():
    proc, _ = start()
    assert stop(proc, signal.SIGINT) == 0


def test_data_dir_survives_a_restart(tmp_path):
    data = tmp_path / "lake"
    proc, info = start("--data-dir", str(data), "--workspace", "ws", "--item", "I.Lakehouse")
    try:
        datalake, blobs = clients(info)
        fs = datalake.get_file_system_client("ws")
        fs.get_directory_client("I.Lakehouse/Files/keep").create_directory(metadata={"m": "dir"})
        blob = blobs.get_blob_client("ws", "I.Lakehouse/Files/keep/nb.ipynb")
        blob.upload_blob(b'{"cells": []}', metadata={"hash": "abc"})
        fs.get_file_client("I.Lakehouse/Files/keep/dfs.txt").upload_data(b"dfs data", overwrite=True)
        before = {
            p.name: (p.etag, p.last_modified, p.creation_time, p.content_length) for p in fs.get_paths(recursive=True)
        }
        props = blob.get_blob_properties()
    finally:
        assert stop(proc) == 0

    proc, info2 = start("--data-dir", str(data), "--workspace", "ws", "--item", "I.Lakehouse")
    try:
        assert info2["broker_token"] == info["broker_token"]
        datalake, blobs = clients(info2)
        fs = datalake.get_file_system_client("ws")
        after = {
            p.name: (p.etag, p.last_modified, p.creation_time, p.content_length) for p in fs.get_paths(recursive=True)
        }
        assert after == before
        blob = blobs.get_blob_client("ws", "I.Lakehouse/Files/keep/nb.ipynb")
        assert blob.download_blob().readall() == b'{"cells": []}'
        again = blob.get_blob_properties()
        assert (again.etag, again.metadata, again.last_modified) == (props.etag, {"hash": "abc"}, props.last_modified)
        assert fs.get_directory_client("I.Lakehouse/Files/keep").get_directory_properties().metadata == {
            "m": "dir",
            "hdi_isfolder": "true",
        }
        assert fs.get_file_client("I.Lakehouse/Files/keep/dfs.txt").download_file().readall() == b"dfs data"
        # new writes get ETags after the old ones
        new = blobs.get_blob_client("ws", "I.Lakehouse/Files/keep/new.txt").upload_blob(b"n")["etag"]
        assert int(new.strip('"'), 16) > max(int(e.strip('"'), 16) for e, *_ in after.values())
    finally:
        assert stop(proc) == 0


def test_kill_9_during_writes_leaves_a_readable_store(tmp_path):
    data = tmp_path / "lake"
    proc, info = start("--data-dir", str(data), "--workspace", "ws", "--item", "I.Lakehouse")
    versions = [bytes([65 + v]) * 200_000 for v in range(20)]
    written: dict[str, int] = {}
    stop_writing = threading.Event()

    def writer(n: int):
        _, blobs = clients(info)
        blob = blobs.get_blob_client("ws", f"I.Lakehouse/Files/crash/f{n}.bin")
        for v, payload in enumerate(versions):
            if stop_writing.is_set():
                return
            try:
                blob.upload_blob(payload, overwrite=True)
            except Exception:
                return
            written[f"f{n}.bin"] = v

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    proc.kill()
    proc.wait()
    stop_writing.set()
    for t in threads:
        t.join()
    proc.stdout.close()
    proc.stderr.close()

    proc, info = start("--data-dir", str(data), "--workspace", "ws", "--item", "I.Lakehouse")
    try:
        _, blobs = clients(info)
        container = blobs.get_container_client("ws")
        found = {b.name.rsplit("/", 1)[1]: b for b in container.list_blobs(name_starts_with="I.Lakehouse/Files/crash/")}
        assert written, "no write finished before the kill"
        for name, last_ok in written.items():
            content = container.get_blob_client(f"I.Lakehouse/Files/crash/{name}").download_blob().readall()
            # acknowledged writes are durable; the one in flight may or may not have landed, but whole
            assert content in (versions[last_ok], versions[min(last_ok + 1, len(versions) - 1)])
            assert found[name].size == len(content)
    finally:
        assert stop(proc) == 0


@pytest.mark.parametrize("flag", ["--latency-ms", "--token-lifetime"])
def test_numeric_flags_are_accepted(flag):
    proc, info = start(flag, "5")
    try:
        datalake, _ = clients(info)
        assert datalake.get_file_system_client("dev").get_file_system_properties().name == "dev"
    finally:
        assert stop(proc) == 0


def test_users_are_in_the_ready_line_and_persist_in_the_data_dir(tmp_path):
    data = tmp_path / "lake"
    proc, info = start("--data-dir", str(data), "--workspace", "ws", "--item", "I.Lakehouse", "--user", "alice")
    try:
        assert info["users"]["alice"]["home"] == "I.Lakehouse/Files/home/alice"
        alice = info["users"]["alice"]["broker_token"]
        assert alice != info["broker_token"]
    finally:
        assert stop(proc) == 0
    proc, again = start("--data-dir", str(data), "--workspace", "ws", "--item", "I.Lakehouse", "--user", "alice")
    try:
        assert again["users"]["alice"]["broker_token"] == alice  # the same client token after a restart
    finally:
        assert stop(proc) == 0
