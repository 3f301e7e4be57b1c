"""Debian's Chromium for the browser tests (Playwright cannot download its own browser here)."""

from __future__ import annotations

import os

from tests.conftest import ARTIFACTS as RUN_ARTIFACTS

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = RUN_ARTIFACTS / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
