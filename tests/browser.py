"""What the browser tests share: Debian's Chromium, its flags, where screenshots go, the
phone's position, and how long to wait for the page. The browser itself is the `browser`
fixture in tests/conftest.py (one start-up, closed after each test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LAT, LON = 30.8930, 121.1620
WAIT_MS = 15_000  # how long to wait for the page to show something (not a timing check)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)
