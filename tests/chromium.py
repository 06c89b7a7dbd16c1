"""Debian's Chromium for the end-to-end tests that render pages in a real browser: the HTML report (a file,
and as the service serves it) and the chat widget (driven by Playwright).

Chromium is the one optional component of the suite (README, "Set-up"): it is a system package, which
``.ci/run`` installs when it can. Without it these tests skip, saying what to install; everything else
fails when what it needs is absent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MISSING = "Debian's chromium is not installed (optional; apt-get install chromium)"
#: Screenshots kept for people to look at (ignored by git).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING)


def run_chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with ``args`` and a fresh profile in ``tmp_path``; never raises on its exit code."""
    profile = tmp_path / "chromium-profile"
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
