"""Live mode (README, "Testing a deployment against real OneLake"): the manager contract run
against a OneLake known only from the ONELAKE_* settings. An emulator the tests do not own stands
in for the service, under names the tests do not use, so a test that reaches for the fixtures'
emulator or their workspace without asking is found here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from onelake_contents.emulator import Emulator

CHECKOUT = Path(__file__).parents[1]


def test_live_mode_runs_the_manager_contract_on_any_onelake(tmp_path):
    with Emulator({"deployment": ["Team.Lakehouse"]}) as service:
        environment = {
            **os.environ,
            **service.info.environment("deployment", "Team.Lakehouse/Files/home/ops"),
            "ONELAKE_LIVE": "1",
        }
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=-ra", "tests/manager"],
            cwd=CHECKOUT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "failed" not in summary and "error" not in summary, summary
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 70, summary  # the contract ran; only tests needing the emulator's instruments skip
    reasons = set(re.findall(r"SKIPPED \[\d+\] [^:]+:\d+: (.+)", run.stdout))
    assert reasons <= {"needs the emulator's instruments", "needs the emulator", "REST tests run on the emulator"}, (
        reasons
    )
