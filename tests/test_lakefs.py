"""The `onelake://` filesystem in a plain Python process, on the emulator: what pandas, pyarrow,
polars and DuckDB get with no options, what OneLake is asked, and what it holds afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import fsspec
import numpy
import pandas
import polars
import pyarrow.dataset
import pyarrow.parquet
import pytest
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents import OneLakeContentsManager, path_of
from onelake_contents.credential import BrokerCredential
from onelake_contents.emulator import Emulator
from onelake_contents.lakefs import BLOCK, OneLakeFileSystem
from tests.conftest import HOME, ITEM, WORKSPACE

ROOT = HOME


@pytest.fixture
def lake(configured):
    return configured


@pytest.fixture
def dfs(emulator):
    """A DFS client of the admin, to make files as Spark or a pipeline would (Create + Append + Flush)."""
    credential = BrokerCredential(emulator.broker_url, client_token=emulator.broker_token, ca_file=emulator.ca_file)
    client = DataLakeServiceClient(emulator.endpoint, credential=credential, connection_verify=emulator.ca_file)
    return client.get_file_system_client(WORKSPACE)


def held(dfs, path: str) -> bytes | None:
    try:
        return dfs.get_file_client(f"{ROOT}/{path}").download_file().readall()
    except Exception:
        return None


def operations(emulator) -> list[tuple[str, int]]:
    return [(r.operation, r.status) for r in emulator.requests()]


def test_the_protocol_comes_from_fsspecs_entry_point_and_needs_no_options(lake):
    assert fsspec.get_filesystem_class("onelake") is OneLakeFileSystem
    pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_csv("onelake:///in/data.csv", index=False)
    assert pandas.read_csv("onelake:///in/data.csv")["a"].sum() == 3
    with fsspec.open("onelake:///in/data.csv", "rt") as handle:
        assert handle.read().splitlines() == ["a,b", "1,x", "2,y"]


def test_the_portals_abfss_url_opens_on_the_same_filesystem(lake):
    fsspec.filesystem("onelake").pipe("onelake:///portal.txt", b"same file")
    host = lake.endpoint.split("://", 1)[1]  # the emulator's host stands for onelake.dfs.fabric.microsoft.com
    portal = f"abfss://{WORKSPACE}@{host}/{ROOT}/portal.txt"
    assert fsspec.filesystem("onelake").cat(portal) == b"same file"
    with fsspec.open(path_of(portal)) as handle:
        assert handle.read() == b"same file"


def test_pandas_pyarrow_polars_and_duckdb_read_what_pandas_wrote(lake):
    frame = pandas.DataFrame({"k": ["a", "b", "c"], "v": [1, 2, 39]})
    frame.to_parquet("onelake:///t/part-0.parquet")
    frame.to_parquet("onelake:///t/part-1.parquet")
    fs = fsspec.filesystem("onelake")
    assert pyarrow.parquet.read_table("onelake:///t/part-0.parquet", filesystem=fs).num_rows == 3
    # pyarrow's own dataset discovery takes the filesystem's path, as for any fsspec filesystem
    fs, folder = fsspec.core.url_to_fs("onelake:///t")
    dataset = pyarrow.dataset.dataset(folder, format="parquet", filesystem=fs)
    assert dataset.to_table().column("v").to_pylist() == [1, 2, 39, 1, 2, 39]
    with fs.open("onelake:///t/part-1.parquet") as handle:
        assert polars.read_parquet(handle)["v"].sum() == 42
    duckdb.register_filesystem(fs)
    try:
        # DuckDB globs through the filesystem and opens what it found by URL (`unstrip_protocol`)
        assert duckdb.sql("select sum(v) from 'onelake:///t/*.parquet'").fetchall() == [(84,)]
    finally:
        duckdb.unregister_filesystem("onelake")


def test_reading_one_column_of_twenty_fetches_that_columns_ranges_not_the_file(lake):
    rows = 60_000
    rng = numpy.random.default_rng(7)
    frame = pandas.DataFrame({f"c{i:02d}": rng.random(rows) for i in range(20)})
    frame.to_parquet("onelake:///wide.parquet", compression=None)
    fs = fsspec.filesystem("onelake")
    size = fs.info("onelake:///wide.parquet")["size"]
    meta = pyarrow.parquet.ParquetFile(fs.open("onelake:///wide.parquet")).metadata
    column = sum(meta.row_group(g).column(7).total_compressed_size for g in range(meta.num_row_groups))
    fs.invalidate_cache()
    lake.reset_requests()
    read = pandas.read_parquet("onelake:///wide.parquet", columns=["c07"])
    assert read["c07"].tolist() == frame["c07"].tolist()
    # pandas and pyarrow ask five times for the file's size and version: one HEAD answers them
    assert [r.operation for r in lake.requests()].count("GetBlobProperties") == 1
    gets = [r for r in lake.requests() if r.operation == "GetBlob"]
    fetched = sum(r.bytes_out for r in gets)
    assert gets and all(r.status == 206 for r in gets)  # every read is a range
    footer = 64 * 1024  # pyarrow reads the last 64 KiB for the footer
    assert fetched <= 1.5 * column + footer, (fetched, column, size)
    assert fetched < size / 5


def test_a_small_write_is_one_put_blob_and_replaces_a_file_made_through_dfs(lake, dfs):
    dfs.get_file_client(f"{ROOT}/made-by-spark.csv").upload_data(b"old", overwrite=True)
    fs = fsspec.filesystem("onelake")
    lake.reset_requests()
    with fs.open("onelake:///made-by-spark.csv", "w") as handle:
        handle.write("new\n")
    assert operations(lake) == [("PutBlob", 201)]
    assert held(dfs, "made-by-spark.csv") == b"new\n"


def test_a_large_write_is_staged_then_renamed_over_a_dfs_file_and_nobody_sees_half_of_it(lake, dfs):
    dfs.get_file_client(f"{ROOT}/big.bin").upload_data(b"old", overwrite=True)
    fs = fsspec.filesystem("onelake")
    lake.reset_requests()
    with fs.open("onelake:///big.bin", "wb") as handle:
        handle.write(b"a" * BLOCK)
        handle.write(b"b" * BLOCK)
        handle.flush()  # two blocks are staged by now: a reader still sees the old file
        assert held(dfs, "big.bin") == b"old"
        assert fs.ls("onelake:///", detail=False) == [f"{WORKSPACE}/{ROOT}/big.bin"]  # staged blocks are invisible
        handle.write(b"c" * 10)
    assert held(dfs, "big.bin") == b"a" * BLOCK + b"b" * BLOCK + b"c" * 10
    writes = [(op, status) for op, status in operations(lake) if op not in ("GetBlob", "ListBlobs")]
    assert writes == [("PutBlock", 201)] * 3 + [("PutBlockList", 201), ("RenamePath", 201)]
    staged = {r.path for r in lake.requests() if r.operation in ("PutBlock", "PutBlockList")}
    assert len(staged) == 1 and "/.ipynb_checkpoints/" in staged.pop()


def test_a_file_replaced_while_it_is_read_fails_the_read_instead_of_mixing_versions(lake, dfs):
    fs = fsspec.filesystem("onelake")
    fs.pipe("onelake:///moving.bin", b"1" * (2 * BLOCK))
    with fs.open("onelake:///moving.bin") as handle:
        assert handle.read(BLOCK) == b"1" * BLOCK
        # another writer (Spark, the file browser) replaces it meanwhile
        dfs.get_file_client(f"{ROOT}/moving.bin").upload_data(b"2" * (2 * BLOCK), overwrite=True)
        with pytest.raises(OSError, match="changed in OneLake while it was read"):
            handle.read(BLOCK)
    with fs.open("onelake:///moving.bin") as handle:  # opened again: the new version, whole
        assert handle.read() == b"2" * (2 * BLOCK)


async def test_the_contents_manager_lists_what_was_written_with_its_size(lake):
    pandas.DataFrame({"v": range(1000)}).to_parquet("onelake:///out/result.parquet")
    size = fsspec.filesystem("onelake").info("onelake:///out/result.parquet")["size"]
    cm = OneLakeContentsManager()
    try:
        listing = await cm.get("out")
        assert [(m["name"], m["size"]) for m in listing["content"]] == [("result.parquet", size)]
    finally:
        await cm.close()


def test_a_with_block_that_raises_publishes_nothing(lake, dfs):
    fs = fsspec.filesystem("onelake")
    with pytest.raises(KeyError), fs.open("onelake:///half.bin", "wb") as handle:
        handle.write(b"x" * (BLOCK + 1))
        raise KeyError("the cell failed")
    assert held(dfs, "half.bin") is None
    assert not fs.exists("onelake:///half.bin")


def test_denied_and_missing_are_permission_and_file_not_found_errors_with_onelakes_reason(lake, dfs):
    pandas.DataFrame({"a": [1]}).to_csv("onelake:///shared/x.csv")
    lake.deny(f"{WORKSPACE}/{ROOT}/shared")
    with pytest.raises(PermissionError) as refused:
        pandas.DataFrame({"a": [2]}).to_csv("onelake:///shared/x.csv")
    assert "AuthorizationPermissionMismatch" in str(refused.value) and "not authorized" in str(refused.value)
    with pytest.raises(PermissionError, match="AuthorizationPermissionMismatch"):
        pandas.read_csv("onelake:///shared/x.csv")
    lake.deny()
    assert held(dfs, "shared/x.csv").decode().splitlines()[-1] == "0,1"  # nothing was written
    with pytest.raises(FileNotFoundError):
        pandas.read_csv("onelake:///nothing-here.csv")
    with pytest.raises(FileExistsError, match="BlobAlreadyExists"):
        fsspec.filesystem("onelake").open("onelake:///shared/x.csv", "xb").close()


def test_folders_are_real_and_deleting_one_is_one_request(lake, dfs):
    fs = fsspec.filesystem("onelake")
    fs.makedirs("onelake:///empty", exist_ok=True)
    assert dfs.get_directory_client(f"{ROOT}/empty").get_directory_properties().metadata["hdi_isfolder"] == "true"
    fs.pipe("onelake:///tree/a/b.txt", b"b")
    lake.reset_requests()
    fs.rm("onelake:///tree", recursive=True)
    assert [op for op, _ in operations(lake) if op.startswith("Delete")] == ["DeletePath"]
    assert not fs.exists("onelake:///tree")


def test_reading_for_longer_than_a_token_lives_costs_one_broker_fetch_per_token(monkeypatch, tmp_path):
    with Emulator({WORKSPACE: [ITEM]}, token_lifetime=4) as short:
        for name, value in short.info.environment(WORKSPACE, ROOT).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "none.json"))
        fs = fsspec.filesystem("onelake")
        fs.pipe("onelake:///small.txt", b"kept")
        reads = 0
        # read until the third token is in use (each lives 4 s): no read may fail meanwhile
        while short.broker.state.tokens_issued < 3 and reads < 20_000:
            assert fs.cat("onelake:///small.txt") == b"kept"
            reads += 1
        assert fs.cat("onelake:///small.txt") == b"kept"
        used = {r.token_id for r in short.requests() if r.api != "emulator"}
        fetched = short.broker.state.tokens_issued
        assert fetched == len(used) >= 3  # every token fetched was used: none fetched twice, none per read
        assert short.broker.state.requests == fetched
        assert reads >= 2 * fetched  # a token serves the reads of its lifetime (a fetch per read would fail this)
        OneLakeFileSystem.clear_instance_cache()


def test_a_script_configured_by_the_settings_file_reads_and_writes_relative_to_the_root(lake, tmp_path):
    token = tmp_path / "broker-token"
    token.write_text(lake.broker_token)
    settings = tmp_path / "settings.json"
    env = lake.info.environment(WORKSPACE, ROOT)
    saved = {
        "endpoint": env["ONELAKE_ENDPOINT"],
        "workspace": WORKSPACE,
        "root": ROOT,
        "broker_url": env["ONELAKE_BROKER_URL"],
        "broker_token_file": str(token),
        "ca_file": env["ONELAKE_CA_FILE"],
    }
    settings.write_text(json.dumps(saved))
    pandas.DataFrame({"v": [1, 2, 3]}).to_csv("onelake:///cron/in.csv", index=False)
    script = (
        "import pandas\n"
        "frame = pandas.read_csv('onelake://cron/in.csv')\n"
        "frame.assign(w=frame.v * 2).to_parquet('onelake://cron/out.parquet')\n"
        "print(int(pandas.read_parquet('onelake:///cron/out.parquet').w.sum()))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONELAKE_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, "ONELAKE_CONFIG": str(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12"
