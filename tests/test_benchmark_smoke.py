"""The CI-sized benchmark: every request budget of the README's "Requests per action" holds through a real Jupyter Server,
and the server's CPU per action stays within the ratio goal of jupyter_server's file manager on
local disk, measured side by side in the same run (ratios only: no absolute time is checked)."""

from __future__ import annotations

import json

from benchmarks.run import CPU_GOALS, main


def test_request_budgets_and_cpu_ratios_hold_under_latency(capsys):
    backends = "onelake,onelake-nometrics,local"
    assert main(["--smoke", "--backends", backends, "--rtt-ms", "10", "--check-budgets"]) == 0
    out = capsys.readouterr().out
    verdict = json.loads(out.strip().splitlines()[-1])
    assert verdict["budgets"] == "ok"
    assert verdict["checked"] == {"budgets": 15, "cpu ratios": len(CPU_GOALS), "pool": 1}
    assert "| list dir of 1000 (cold) | onelake-contents | 1 |" in out
    assert "| save 100 KiB notebook | onelake-contents | 1 |" in out
    # metrics on and off side by side: the same requests for every action (main fails otherwise)
    assert "### What the metrics cost" in out
    assert "| save 100 KiB notebook | 1 | 1 |" in out
    # the client cost table and the opens at once, with the TLS handshakes counted
    assert "### Client cost" in out and "| open 2 KiB notebook |" in out
    assert "### 10 notebooks opened at once" in out and "TLS handshakes" in out


def test_one_parquet_column_through_onelake_fetches_about_that_column():
    from benchmarks.kernel_python import measure

    result = measure(mib=8, rtt_ms=0, samples=1)
    assert not result.over_goal, result.row()
    assert result.fetched_bytes < result.file_bytes / 5


def test_import_helpers_and_token_requests_rows():
    from benchmarks.kernel_python import measure_imports_and_tokens

    rows, token_requests = measure_imports_and_tokens(rtt_ms=0)
    assert [row.requests for row in rows] == [["ListBlobs 200", "GetBlob 206"], ["GetBlob 304"]]
    assert token_requests == 0  # the token fetched for the first write serves the 100 reads
