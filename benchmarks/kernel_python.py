"""Python in a kernel on OneLake, at an injected round trip (requests counted in the emulator's log):

- reading one column of 20 from a Parquet file through `onelake://`: bytes fetched against the
  column and the file, and time beside the same read on local disk (a mount without range reads
  would fetch the whole file; the goal is at most 1.5x the column's bytes plus the footer read);
- `import helpers` from the notebook's folder: the first import and a re-import of the unchanged
  module (goal: one conditional request);
- token requests to the broker for 100 reads (goal: 1 while the token is valid).

    python -m benchmarks.kernel_python                  # 200 MiB file, 25 ms RTT
    python -m benchmarks.kernel_python --mib 40 --rtt 25
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import fsspec
import numpy
import pandas
import pyarrow
import pyarrow.parquet

from onelake_contents.emulator import Emulator
from onelake_contents.lakefs import OneLakeFileSystem

WORKSPACE, ROOT = "bench", "Bench.Lakehouse/Files/home/bench"
COLUMNS, READ = 20, "c07"
FOOTER_READ = 64 * 1024  # pyarrow's first read at the end of a Parquet file


@dataclass
class ColumnRead:
    file_bytes: int
    column_bytes: int
    fetched_bytes: int
    gets: int
    requests: int
    onelake_ms: float
    local_ms: float
    rtt_ms: float

    @property
    def over_goal(self) -> bool:
        return self.fetched_bytes > 1.5 * self.column_bytes + FOOTER_READ

    def row(self) -> str:
        mib = 1024 * 1024
        return (
            f"| read 1 column of {COLUMNS} from a {self.file_bytes / mib:.0f} MiB Parquet file (onelake://) "
            f"| {self.requests} ({self.gets} GETs) | {self.fetched_bytes / mib:.2f} MiB fetched "
            f"= {self.fetched_bytes / self.column_bytes:.2f}x the column ({self.column_bytes / mib:.2f} MiB), "
            f"{self.fetched_bytes / self.file_bytes:.1%} of the file | {self.onelake_ms:.0f} ms "
            f"| local disk {self.local_ms:.0f} ms |"
        )


def write_file(path: Path, mib: float) -> None:
    rows = int(mib * 1024 * 1024 / (COLUMNS * 8))
    rng = numpy.random.default_rng(27)
    table = pyarrow.table({f"c{i:02d}": rng.random(rows) for i in range(COLUMNS)})
    pyarrow.parquet.write_table(table, path)


def timed(read, samples: int) -> float:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        read()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(mib: float = 200, rtt_ms: float = 25, samples: int = 3) -> ColumnRead:
    """Write the file locally and to an emulated OneLake, then read one column from each."""
    with (
        tempfile.TemporaryDirectory(prefix="onelake-bench-") as scratch,
        Emulator({WORKSPACE: [ROOT.split("/")[0]]}) as emu,
    ):
        local = Path(scratch) / "wide.parquet"
        write_file(local, mib)
        os.environ.update(emu.info.environment(WORKSPACE, ROOT), ONELAKE_CONFIG=str(Path(scratch) / "none.json"))
        fs = fsspec.filesystem("onelake")
        fs.put_file(str(local), "onelake:///wide.parquet")
        meta = pyarrow.parquet.ParquetFile(local).metadata
        index = meta.schema.names.index(READ)
        column = sum(meta.row_group(g).column(index).total_compressed_size for g in range(meta.num_row_groups))
        emu.set_latency(rtt_ms)
        fs.invalidate_cache()
        emu.reset_requests()
        pandas.read_parquet("onelake:///wide.parquet", columns=[READ])
        log = emu.requests()
        gets = [r for r in log if r.operation == "GetBlob"]

        def cold_read() -> None:
            fs.invalidate_cache()  # each sample asks for the file's size and version, as a new reader does
            pandas.read_parquet("onelake:///wide.parquet", columns=[READ])

        onelake_ms = timed(cold_read, samples)
        local_ms = timed(lambda: pandas.read_parquet(local, columns=[READ]), samples)
        OneLakeFileSystem.clear_instance_cache()
        return ColumnRead(
            file_bytes=local.stat().st_size,
            column_bytes=column,
            fetched_bytes=sum(r.bytes_out for r in gets),
            gets=len(gets),
            requests=len(log),
            onelake_ms=onelake_ms,
            local_ms=local_ms,
            rtt_ms=rtt_ms,
        )


@dataclass
class Counted:
    action: str
    requests: list[str]  # operation and status of each OneLake request
    ms: float

    def row(self) -> str:
        return f"| {self.action} | {len(self.requests)} ({', '.join(self.requests)}) | | {self.ms:.0f} ms | |"


def measure_imports_and_tokens(rtt_ms: float = 25) -> tuple[list[Counted], int]:
    """`import helpers` (first, then reloaded unchanged), and the token requests the broker got
    during 100 reads by one filesystem (1 at most while a token is valid)."""
    import importlib
    import sys

    from onelake_contents import lakeimport

    with (
        tempfile.TemporaryDirectory(prefix="onelake-bench-") as scratch,
        Emulator({WORKSPACE: [ROOT.split("/")[0]]}) as emu,
    ):
        os.environ.update(
            emu.info.environment(WORKSPACE, ROOT),
            ONELAKE_CONFIG=str(Path(scratch) / "none.json"),
            ONELAKE_NOTEBOOK_DIR=f"{WORKSPACE}/{ROOT}",
        )
        fs = fsspec.filesystem("onelake")
        fs.pipe("onelake:///bench_helpers.py", b"def double(x):\n    return 2 * x\n" * 50)
        finder = lakeimport.install()
        emu.set_latency(rtt_ms)
        rows = []

        def counted(action: str, run) -> None:
            emu.reset_requests()
            start = time.perf_counter()
            run()
            ms = (time.perf_counter() - start) * 1000
            rows.append(Counted(action, [f"{r.operation} {r.status}" for r in emu.requests()], ms))

        try:
            counted("import helpers (first)", lambda: importlib.import_module("bench_helpers"))
            counted("import helpers again (reload, unchanged)", lambda: importlib.reload(sys.modules["bench_helpers"]))
        finally:
            sys.meta_path.remove(finder)
            sys.modules.pop("bench_helpers", None)
        emu.set_latency(0)
        before = emu.broker.state.requests
        for _ in range(100):
            fs.cat("onelake:///bench_helpers.py")
        OneLakeFileSystem.clear_instance_cache()
        return rows, emu.broker.state.requests - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=200, help="size of the Parquet file")
    parser.add_argument("--rtt", type=float, default=25, help="injected round trip, ms")
    args = parser.parse_args(argv)
    result = measure(args.mib, args.rtt)
    print(f"| action (RTT {args.rtt:.0f} ms) | store requests | bytes | median | beside |")
    print("|---|---|---|---:|---|")
    print(result.row())
    rows, token_requests = measure_imports_and_tokens(args.rtt)
    for counted in rows:
        print(counted.row())
    print(
        f"\n100 reads by one filesystem: {token_requests} token requests to the broker (1 at most while a token is valid)"
    )
    return 1 if result.over_goal else 0


if __name__ == "__main__":
    raise SystemExit(main())
