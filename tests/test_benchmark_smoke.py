"""The CI-sized benchmark: every request budget of DESIGN §3 holds through a real Jupyter Server."""

from __future__ import annotations

from benchmarks.run import main


def test_request_budgets_hold_under_latency(capsys):
    assert main(["--smoke", "--backends", "onelake,onelake-nometrics", "--rtt-ms", "10", "--check-budgets"]) == 0
    out = capsys.readouterr().out
    assert '"budgets": "ok"' in out
    assert "| list dir of 200 (cold) | onelake-contents | 1 |" in out
    assert "| save 100 KiB notebook | onelake-contents | 1 |" in out
    # metrics on and off side by side: the same requests for every action (main fails otherwise)
    assert "### What the metrics cost" in out
    assert "| save 100 KiB notebook | 1 | 1 |" in out
