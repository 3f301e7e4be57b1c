"""The CI-sized benchmark: every request budget of DESIGN §3 holds through a real Jupyter Server."""

from __future__ import annotations

from benchmarks.run import main


def test_request_budgets_hold_under_latency(capsys):
    assert main(["--smoke", "--backends", "onelake", "--rtt-ms", "10", "--check-budgets"]) == 0
    out = capsys.readouterr().out
    assert '"budgets": "ok"' in out
    assert "| list dir of 200 (cold) | onelake-contents | 1 |" in out
    assert "| save 100 KiB notebook | onelake-contents | 1 |" in out
